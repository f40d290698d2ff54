package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.UnitOfWork = (*Units)(nil)

const (
	unitsCollection        = "units"
	unitOutcomesCollection = "unit_outcomes"
	unitUndoCollection     = "unit_undo"
	unitWaitCollection     = "unit_waiters"
)

func init() {
	registerIndexes(unitsCollection,
		// recover finds the units a crash left unsettled.
		mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "_id", Value: -1}}},
	)
	registerIndexes(unitUndoCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "unit", Value: 1}, {Key: "seq", Value: 1}}},
	)
	registerIndexes(eventsCollection,
		// A recovered unit's events are published unless they already were.
		mongo.IndexModel{Keys: bson.D{{Key: "unit", Value: 1}}},
	)
}

// Units is the MongoDB ports.UnitOfWork. The server (FerretDB 1.24 here)
// offers no multi-document transaction, and its conditional updates are a
// read and a write that racing writers can interleave; what it does offer
// is the atomic single-document write and the unique index. The adapter
// makes its units from those:
//
//   - Units run one at a time across every instance on the database. A
//     unit holds a lease, a document in "units" numbered 1, 2, 3, …: a unit
//     takes number n+1 when unit n is done or its lease has run out, and
//     the unique _id lets exactly one of several racing instances have it.
//     Its owner renews the lease every unitHeartbeat until the unit is
//     done, and writes nothing once the lease it renewed last has run out.
//     An instance that has just run a unit yields to one that is waiting
//     ("unit_waiters"), so two busy instances take turns.
//   - Before each write, the unit journals ("unit_undo") every document the
//     write may change, as it was before the unit first touched it, or that
//     it was absent; an upsert gets its _id before it is sent, so that the
//     document it may insert is journalled as absent (see collection).
//     Events published in the unit wait in memory.
//   - A unit is decided by one insert into "unit_outcomes" under its
//     number, which the unique _id lets happen once: its owner inserts
//     "committed", with the events, and that insert is the moment the
//     change and its events are stored together; whoever settles a crashed
//     unit inserts "given up" first. Whichever comes second abides by the
//     first. Then a committed unit's events are published to the outbox as
//     one batch marked with the unit's number, the journal is dropped, and
//     the lease is marked done.
//   - A unit whose fn fails is undone from its journal: every journalled
//     document is deleted, then those that existed before are put back as
//     they were (see undoUnit).
//   - A crash leaves the last unit unsettled. Whoever takes the next number
//     after its lease ran out settles it first, under its own lease: a
//     committed unit's events are published (unless a batch of the unit is
//     stored already), and any other is given up and undone. An instance
//     also looks every unitHeartbeat for a unit left so while nothing else
//     runs (Recover).
//
// So every committed change has its events in the outbox, and a change
// whose unit did not commit is undone, with no event. Should a unit's
// events be published twice (a settling cut short after it published), the
// dispatcher keeps one delivery of each event per subscription, since
// delivery ids derive from the event and the subscription.
//
// What this gives up next to PostgreSQL: a unit's writes are seen by reads
// outside units (a token request, a GET) before the unit ends, and until a
// crashed unit is undone, which is at most unitLease plus unitMargin after
// the crash; so a use case decides what to change inside its unit, which
// only ever sees settled data. An undo puts back documents as the unit
// found them, over any write made to them outside units meanwhile. And the
// lease is a promise the database cannot check: it holds as long as the
// instances' clocks agree to within unitMargin, and a write reaches the
// database within unitMargin of the lease's end. A network path that holds
// a unit's write for longer than its lease (about 6 s) lets the write land
// after another instance has undone the unit: the write stays, with no
// event, and its request fails with a 503. Each write would need a fence
// the server checks (a transaction, on a MongoDB that has them).
type Units struct {
	mu       sync.Mutex
	db       *mongo.Database
	leases   *mongo.Collection
	outcomes *mongo.Collection
	undo     *mongo.Collection
	waiters  *mongo.Collection
	outbox   *mongo.Collection
	owner    string
	clean    int64 // the unit number at which old documents were last deleted
	// lookedForWaiters is when begin last looked for waiting instances.
	lookedForWaiters time.Time
	log              *slog.Logger
}

// The lease's timing. A crashed unit holds up every other for at most
// unitLease plus unitMargin.
const (
	unitLease     = 5 * time.Second
	unitHeartbeat = time.Second
	// unitMargin is how long past a lease's end another instance waits
	// before it takes over, for writes already on their way.
	unitMargin = time.Second
	// unitPollMin and unitPollMax bound how often a waiting instance looks
	// at the lease; it says it waits every unitWaitEvery, and counts as
	// waiting for unitWaitFresh after.
	unitPollMin   = 2 * time.Millisecond
	unitPollMax   = 25 * time.Millisecond
	unitWaitEvery = 100 * time.Millisecond
	unitWaitFresh = 3 * unitWaitEvery
	// unitYield is how long an instance that ran the last unit waits
	// before its next one while another instance is waiting.
	unitYield = 2 * unitPollMax
	// unitSettleTimeout bounds a commit, an undo or a recovery, which run
	// past the caller's context.
	unitSettleTimeout = 30 * time.Second
	// unitCleanEvery is how many units pass between deletions of old
	// lease, outcome and waiter documents; unitKeep is how long those are
	// kept at least.
	unitCleanEvery = 256
	unitKeep       = 10 * time.Minute
)

// Lease states.
const (
	unitOpen = "open"
	unitDone = "done"
)

// NewUnits returns the MongoDB unit of work on db. Units a crash left
// unsettled are logged to log as they are settled, when it is not nil.
func NewUnits(db *mongo.Database, log *slog.Logger) *Units {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Units{
		db: db, leases: db.Collection(unitsCollection), outcomes: db.Collection(unitOutcomesCollection),
		undo: db.Collection(unitUndoCollection), waiters: db.Collection(unitWaitCollection),
		outbox: db.Collection(eventsCollection), owner: hex.EncodeToString(b[:]), log: log,
	}
}

// leaseDoc is a unit's lease.
type leaseDoc struct {
	Gen   int64     `bson:"_id"`
	Owner string    `bson:"owner"`
	Until time.Time `bson:"until"`
	State string    `bson:"state"`
}

// free reports whether the unit is done, or may be taken over at now.
func (d *leaseDoc) free(now time.Time) bool {
	return d.State == unitDone || now.After(d.Until.Add(unitMargin))
}

// outcomeDoc decides a unit: committed with its events, or given up.
type outcomeDoc struct {
	Gen       int64      `bson:"_id"`
	Committed bool       `bson:"committed"`
	Events    []eventDoc `bson:"events,omitempty"`
	At        time.Time  `bson:"at"`
}

// Errors of a unit that may no longer write. A lease that ran out means
// the database was too slow to answer, or this process too slow to ask:
// the caller answers 503, as for any outage, and may try again.
var (
	errUnitEnded    = errors.New("mongo: the unit of work has ended")
	errUnitLeaseRan = fmt.Errorf("mongo: the unit of work's lease ran out: %w", domain.ErrUnavailable)
	errUnitGivenUp  = fmt.Errorf("mongo: the unit of work was given up after its lease ran out: %w", domain.ErrUnavailable)
)

type unitKey struct{}

// unit is one running unit of work.
type unit struct {
	units      *Units
	gen        int64
	recovering bool // units before it are unsettled

	mu       sync.Mutex
	until    time.Time                // the lease's end as last stored
	ended    bool                     // fn returned: no more writes
	settled  bool                     // the lease is done: no more renewals
	seq      int64                    // the last journal entry's number
	captured map[string]chan struct{} // documents journalled: closed once stored
	journal  bool                     // some entry was stored
	events   []eventDoc

	// leaseMu keeps the renewals and the final write of the lease apart:
	// FerretDB writes an update back whole, so two at once can lose one.
	leaseMu sync.Mutex
}

// unitOf returns the unit ctx runs in, nil outside one.
func unitOf(ctx context.Context) *unit {
	u, _ := ctx.Value(unitKey{}).(*unit)
	return u
}

// Atomically runs fn as one unit (see Units); inside a unit of u's it runs
// fn in that unit.
func (us *Units) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if u := unitOf(ctx); u != nil && u.units == us {
		return fn(ctx)
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	u, err := us.begin(ctx)
	if err != nil {
		return translate("begin a unit of work", err)
	}
	beat, stop := context.WithCancel(context.WithoutCancel(ctx))
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		u.heartbeat(beat)
	}()
	defer func() {
		stop()
		<-beating
	}()
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), unitSettleTimeout)
	defer cancel()
	if u.recovering {
		// Should settling fail, this unit's lease runs out, and the next
		// unit settles both.
		if err := us.recover(settle, u); err != nil {
			return translate("settle units of work a crash left", err)
		}
	}
	err = fn(context.WithValue(ctx, unitKey{}, u))
	u.end()
	if err == nil {
		return u.commit(settle)
	}
	u.rollback(settle)
	return err
}

// begin takes the next unit number once the last unit is done or its lease
// has run out.
func (us *Units) begin(ctx context.Context) (*unit, error) {
	waitedAt, yielded := time.Time{}, false
	poll := unitPollMin
	defer func() {
		if !waitedAt.IsZero() {
			_, _ = us.waiters.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: us.owner}})
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		last, err := us.last(ctx)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if last != nil && !last.free(now) {
			// Another unit runs: say so now and then, and look again soon.
			if now.Sub(waitedAt) >= unitWaitEvery {
				waitedAt = now
				if _, err := us.waiters.UpdateOne(ctx, bson.D{{Key: "_id", Value: us.owner}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: now}}}}, options.Update().SetUpsert(true)); err != nil {
					return nil, err
				}
			}
			sleep(ctx, poll)
			poll = min(2*poll, unitPollMax)
			continue
		}
		if last != nil && last.Owner == us.owner && waitedAt.IsZero() && !yielded && now.Sub(us.lookedForWaiters) >= unitPollMax {
			// This instance ran the last unit: let a waiting one go first.
			// (Looked for at most every unitPollMax, which a waiting
			// instance outlasts: it says it waits for unitWaitFresh.)
			us.lookedForWaiters = now
			n, err := us.waiters.CountDocuments(ctx, bson.D{
				{Key: "_id", Value: bson.D{{Key: "$ne", Value: us.owner}}},
				{Key: "at", Value: bson.D{{Key: "$gt", Value: now.Add(-unitWaitFresh)}}},
			}, options.Count().SetLimit(1))
			if err != nil {
				return nil, err
			}
			if n > 0 {
				yielded = true // once per unit
				sleep(ctx, unitYield)
				continue
			}
		}
		gen := int64(1)
		if last != nil {
			gen = last.Gen + 1
		}
		until := now.Add(unitLease)
		_, err = us.leases.InsertOne(ctx, leaseDoc{Gen: gen, Owner: us.owner, Until: until, State: unitOpen})
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if gen-us.clean >= unitCleanEvery {
			us.clean = gen
			us.cleanUp(ctx, gen, now)
		}
		return &unit{units: us, gen: gen, until: until, captured: map[string]chan struct{}{},
			recovering: last != nil && last.State != unitDone}, nil
	}
}

// last returns the highest-numbered lease, nil when there is none.
func (us *Units) last(ctx context.Context) (*leaseDoc, error) {
	var d leaseDoc
	err := us.leases.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// heartbeat renews the unit's lease every unitHeartbeat until ctx ends or
// the lease is done. A renewal that fails leaves the lease to run out, and
// the unit to fail; one that lands after the lease ran out counts for
// nothing, as another instance may have taken over.
func (u *unit) heartbeat(ctx context.Context) {
	t := time.NewTicker(unitHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !u.renew(ctx) {
			return
		}
	}
}

// renew extends the lease once; it reports whether renewals go on: not
// once the lease is done, ran out, or is no longer this owner's.
func (u *unit) renew(ctx context.Context) bool {
	u.leaseMu.Lock()
	defer u.leaseMu.Unlock()
	u.mu.Lock()
	settled, old := u.settled, u.until
	u.mu.Unlock()
	if settled || !time.Now().Before(old) {
		return false
	}
	until := time.Now().Add(unitLease)
	res, err := u.units.leases.UpdateOne(ctx, bson.D{{Key: "_id", Value: u.gen}, {Key: "owner", Value: u.units.owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: until}}}})
	switch {
	case err != nil:
		return true // try again at the next beat, while the lease lasts
	case res.MatchedCount == 0 || !time.Now().Before(old):
		return false
	}
	u.mu.Lock()
	u.until = until
	u.mu.Unlock()
	return true
}

// writable fails once the unit may no longer write.
func (u *unit) writable() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.ended:
		return errUnitEnded
	case !time.Now().Before(u.until):
		return errUnitLeaseRan
	}
	return nil
}

// end stops the unit's writes.
func (u *unit) end() {
	u.mu.Lock()
	u.ended = true
	u.mu.Unlock()
}

// publish keeps events for the unit's commit.
func (u *unit) publish(events []eventDoc) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ended {
		return errUnitEnded
	}
	u.events = append(u.events, events...)
	return nil
}

// commit decides the unit committed, with its events, then publishes them
// and marks the unit done. Once the outcome is stored, a failure of what
// follows is left to recovery, and the unit still commits.
func (u *unit) commit(ctx context.Context) error {
	us := u.units
	u.mu.Lock()
	live, journal := time.Now().Before(u.until), u.journal
	u.mu.Unlock()
	if !journal && len(u.events) == 0 {
		_ = us.markDone(ctx, u.gen, u) // else the lease runs out, and the next unit settles it
		return nil
	}
	if !live {
		// Another instance may be undoing the unit already.
		return translate("commit a unit of work", errUnitLeaseRan)
	}
	o, err := us.decide(ctx, outcomeDoc{Gen: u.gen, Committed: true, Events: u.events, At: time.Now()})
	switch {
	case err != nil:
		// Perhaps committed, perhaps not: whoever settles the unit decides.
		return translate("commit a unit of work", err)
	case !o.Committed:
		return translate("commit a unit of work", errUnitGivenUp)
	}
	_ = us.finish(ctx, u.gen, u.events, false, u)
	return nil
}

// rollback undoes a unit whose fn failed. Should the undo fail, the unit
// stays open, and the next unit undoes it once its lease has run out.
func (u *unit) rollback(ctx context.Context) {
	u.mu.Lock()
	live, journal := time.Now().Before(u.until), u.journal
	u.mu.Unlock()
	if !journal {
		_ = u.units.markDone(ctx, u.gen, u)
		return
	}
	if live {
		_ = u.units.undoUnit(ctx, u.gen, u)
	}
}
