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

	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.UnitOfWork = (*Units)(nil)

const (
	unitsCollection    = "units"
	unitUndoCollection = "unit_undo"
	unitWaitCollection = "unit_waiters"
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
// offers no multi-document transaction, so the adapter makes its own from
// the one thing it does offer, the atomic single-document write:
//
//   - Units run one at a time across every instance on the database. A
//     unit holds a lease, a document in "units" numbered 1, 2, 3, …: a unit
//     takes number n+1 when unit n has ended or its lease has run out, and
//     the unique _id lets exactly one of several racing instances have it
//     (the adapter's one "exactly one winner" primitive, see
//     insertNumbered). Its owner renews the lease every unitHeartbeat while
//     the unit runs, and writes nothing once the lease it renewed last has
//     run out. An instance that has just run a unit yields to one that is
//     waiting ("unit_waiters"), so two busy instances take turns.
//   - Before each write, the unit records in its undo journal ("unit_undo")
//     every document the write may change, as it was before the unit first
//     touched it, or that it was absent (see collection). Events published
//     in the unit wait in memory.
//   - The unit commits in one single-document write: its lease document
//     becomes "committed" and holds its events. That write is the moment
//     the change and its events are stored together. Then the events are
//     published to the outbox as one batch marked with the unit's number,
//     the journal is dropped, and the unit is "done".
//   - A unit whose fn fails is undone from its journal: documents it
//     deleted or changed are put back, and those it inserted are deleted.
//   - A crash leaves the last unit unsettled. Whoever takes the next number
//     after its lease ran out settles it first: a committed unit's events
//     are published (unless a batch of the unit is stored already), and an
//     unfinished unit is undone. An instance also looks every
//     unitHeartbeat for a unit left so while nothing else runs.
//
// So every committed change has its events in the outbox, and a change
// whose unit did not commit is undone, with no event. Should a unit's
// events be published twice (a settling that ran twice), the dispatcher
// keeps one delivery of each event per subscription, since delivery ids
// derive from the event and the subscription.
//
// What this gives up next to PostgreSQL: a unit's writes are seen by reads
// outside units (a token request, a GET) before the unit ends, and until a
// crashed unit is undone, which is at most unitLease plus unitMargin after
// the crash. Units, which run one at a time, only ever see committed data.
// And the lease holds only as long as the instances' clocks agree to within
// unitMargin and a paused process does not wake past its lease with a
// write in flight.
type Units struct {
	mu      sync.Mutex
	db      *mongo.Database
	leases  *mongo.Collection
	undo    *mongo.Collection
	waiters *mongo.Collection
	outbox  *mongo.Collection
	owner   string
	clean   int64 // the unit number at which old leases were last deleted
	log     *slog.Logger
}

// The lease's timing. A crashed unit holds up every other for at most
// unitLease plus unitMargin.
const (
	unitLease     = 5 * time.Second
	unitHeartbeat = time.Second
	// unitMargin is how long past a lease's end another instance waits
	// before it takes over, for writes already on their way.
	unitMargin = time.Second
	// unitPoll is how often a waiting instance looks at the lease.
	unitPoll = 5 * time.Millisecond
	// unitYield is how long an instance that ran the last unit waits
	// before its next one while another instance is waiting.
	unitYield = 20 * time.Millisecond
	// unitSettleTimeout bounds a commit or an undo, which run past the
	// caller's context.
	unitSettleTimeout = 30 * time.Second
	// unitCleanEvery is how many units pass between deletions of old
	// lease and waiter documents.
	unitCleanEvery = 256
)

// Unit states, in a lease document.
const (
	unitOpen      = "open"
	unitCommitted = "committed"
	unitDone      = "done"
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
		db: db, leases: db.Collection(unitsCollection), undo: db.Collection(unitUndoCollection),
		waiters: db.Collection(unitWaitCollection), outbox: db.Collection(eventsCollection),
		owner: hex.EncodeToString(b[:]), log: log,
	}
}

// leaseDoc is a unit's lease, and at its commit its events.
type leaseDoc struct {
	Gen    int64      `bson:"_id"`
	Owner  string     `bson:"owner"`
	Until  time.Time  `bson:"until"`
	State  string     `bson:"state"`
	Events []eventDoc `bson:"events,omitempty"`
}

// settled reports whether the unit has ended, or may be taken over at now.
func (d *leaseDoc) free(now time.Time) bool {
	return d.State == unitDone || now.After(d.Until.Add(unitMargin))
}

// undoDoc is one entry of a unit's undo journal: a document as it was
// before the unit changed it (Before), or absent (Before nil) and so to be
// deleted, by its _id; or, for an upsert that matched nothing, the filter
// whose documents are to be deleted.
type undoDoc struct {
	Unit   int64    `bson:"unit"`
	Seq    int64    `bson:"seq"`
	DB     string   `bson:"db"`
	Coll   string   `bson:"coll"`
	Key    any      `bson:"key,omitempty"`
	Before bson.Raw `bson:"before,omitempty"`
	Filter bson.Raw `bson:"filter,omitempty"`
}

// Errors of a unit that may no longer write.
var (
	errUnitEnded    = errors.New("mongo: the unit of work has ended")
	errUnitLeaseRan = errors.New("mongo: the unit of work's lease ran out")
)

type unitKey struct{}

// unit is one running unit of work.
type unit struct {
	units *Units
	gen   int64

	mu       sync.Mutex
	until    time.Time                // the lease's end as last stored
	ended    bool                     // no more writes
	seq      int64                    // the last journal entry's number
	captured map[string]chan struct{} // documents journalled: closed once stored
	journal  bool                     // some entry was stored
	events   []eventDoc
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
	err = fn(context.WithValue(ctx, unitKey{}, u))
	u.end()
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), unitSettleTimeout)
	defer cancel()
	if err == nil {
		err = u.commit(settle)
	} else {
		u.rollback(settle)
	}
	stop()
	<-beating
	return err
}

// begin takes the next unit number once the last unit is done or its lease
// has run out, and settles any unit a crash left behind.
func (us *Units) begin(ctx context.Context) (*unit, error) {
	waiting, yielded := false, false
	defer func() {
		if waiting {
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
			// Another instance's unit runs: say so, and look again soon.
			waiting = true
			if _, err := us.waiters.UpdateOne(ctx, bson.D{{Key: "_id", Value: us.owner}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: now}}}}, options.Update().SetUpsert(true)); err != nil {
				return nil, err
			}
			sleep(ctx, unitPoll)
			continue
		}
		if last != nil && last.Owner == us.owner && !waiting && !yielded {
			// This instance ran the last unit: let a waiting one go first.
			n, err := us.waiters.CountDocuments(ctx, bson.D{
				{Key: "_id", Value: bson.D{{Key: "$ne", Value: us.owner}}},
				{Key: "at", Value: bson.D{{Key: "$gt", Value: now.Add(-10 * unitPoll)}}},
			}, options.Count().SetLimit(1))
			if err != nil {
				return nil, err
			}
			if n > 0 {
				sleep(ctx, unitYield)
				yielded = true // once per unit
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
		u := &unit{units: us, gen: gen, until: until, captured: map[string]chan struct{}{}}
		if last != nil && last.State != unitDone {
			// A crash left units unsettled. Should settling fail, this
			// unit stays open too, for the next one to settle.
			if err := us.recover(ctx, gen); err != nil {
				return nil, err
			}
		}
		if gen-us.clean >= unitCleanEvery {
			us.clean = gen
			_, _ = us.leases.DeleteMany(ctx, bson.D{
				{Key: "_id", Value: bson.D{{Key: "$lt", Value: gen - 1}}}, {Key: "state", Value: unitDone},
			})
			// And the waits of instances killed while they waited.
			_, _ = us.waiters.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-time.Minute)}}}})
		}
		return u, nil
	}
}

// last returns the highest-numbered lease, nil when there is none.
func (us *Units) last(ctx context.Context) (*leaseDoc, error) {
	var d leaseDoc
	err := us.leases.FindOne(ctx, bson.D{}, options.FindOne().
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "events", Value: 0}})).Decode(&d)
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

// Recover settles a unit that a crash left unsettled, once its lease has
// run out, when no unit has started since to do it. Nothing happens when
// the last unit is settled or still running.
func (us *Units) Recover(ctx context.Context) error {
	last, err := us.last(ctx)
	if err != nil || last == nil || last.State == unitDone || !last.free(time.Now()) {
		return translate("recover units of work", err)
	}
	return us.Atomically(ctx, func(context.Context) error { return nil })
}

// recover settles every unsettled unit numbered below gen, the newest
// first: each one's lease ran out before gen was taken.
func (us *Units) recover(ctx context.Context, gen int64) error {
	cur, err := us.leases.Find(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: gen}}},
		{Key: "state", Value: bson.D{{Key: "$ne", Value: unitDone}}},
	}, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}))
	if err != nil {
		return err
	}
	var stale []leaseDoc
	if err := cur.All(ctx, &stale); err != nil {
		return err
	}
	for _, d := range stale {
		outcome := "undone"
		if d.State == unitCommitted {
			outcome = "committed: events published"
			err = us.finish(ctx, d.Gen, d.Events, true)
		} else {
			err = us.undoUnit(ctx, d.Gen)
		}
		if err != nil {
			return fmt.Errorf("settle unit %d: %w", d.Gen, err)
		}
		us.log.Info("mongo: settled a unit of work a crash left", slog.Int64("unit", d.Gen), slog.String("outcome", outcome))
	}
	return nil
}

// finish completes a committed unit: it publishes the unit's events as one
// batch (unless, when recovering, a batch of the unit is stored already),
// drops its journal and marks it done.
func (us *Units) finish(ctx context.Context, gen int64, events []eventDoc, recovering bool) error {
	publish := len(events) > 0
	if publish && recovering {
		n, err := us.outbox.CountDocuments(ctx, bson.D{{Key: "unit", Value: gen}}, options.Count().SetLimit(1))
		if err != nil {
			return err
		}
		publish = n == 0
	}
	if publish {
		if _, _, err := insertNumbered(ctx, &collection{us.outbox}, bson.D{}, "_id", 0, func(seq int64) (any, error) {
			return bson.Marshal(eventBatchDoc{Seq: seq, Events: events, Unit: gen})
		}); err != nil {
			return err
		}
	}
	return us.markDone(ctx, gen)
}

// markDone drops a unit's journal and marks it done.
func (us *Units) markDone(ctx context.Context, gen int64) error {
	if _, err := us.undo.DeleteMany(ctx, bson.D{{Key: "unit", Value: gen}}); err != nil {
		return err
	}
	_, err := us.leases.UpdateOne(ctx, bson.D{{Key: "_id", Value: gen}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "state", Value: unitDone}}},
		{Key: "$unset", Value: bson.D{{Key: "events", Value: ""}}},
	})
	return err
}

// undoUnit puts back what the unit's journal recorded: first it deletes
// what the unit inserted, then it restores what the unit changed or
// deleted, each document as it was before the unit first touched it. An
// entry that cannot be restored since its unique keys were taken meanwhile,
// by a write made outside any unit, is skipped. Then the unit is done.
func (us *Units) undoUnit(ctx context.Context, gen int64) error {
	cur, err := us.undo.Find(ctx, bson.D{{Key: "unit", Value: gen}}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return err
	}
	var entries []undoDoc
	if err := cur.All(ctx, &entries); err != nil {
		return err
	}
	coll := func(e undoDoc) *mongo.Collection { return us.db.Client().Database(e.DB).Collection(e.Coll) }
	for _, e := range entries {
		var err error
		switch {
		case e.Filter != nil:
			_, err = coll(e).DeleteMany(ctx, e.Filter)
		case e.Before == nil:
			_, err = coll(e).DeleteOne(ctx, bson.D{{Key: "_id", Value: e.Key}})
		}
		if err != nil {
			return err
		}
	}
	for _, e := range entries {
		if e.Before == nil {
			continue
		}
		_, err := coll(e).ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.Key}}, e.Before, options.Replace().SetUpsert(true))
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return us.markDone(ctx, gen)
}

// heartbeat renews the unit's lease every unitHeartbeat until ctx ends. A
// renewal that fails leaves the lease to run out, and the unit to fail.
func (u *unit) heartbeat(ctx context.Context) {
	t := time.NewTicker(unitHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		until := time.Now().Add(unitLease)
		res, err := u.units.leases.UpdateOne(ctx, bson.D{{Key: "_id", Value: u.gen}, {Key: "owner", Value: u.units.owner}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: until}}}})
		if err != nil || res.MatchedCount == 0 {
			continue
		}
		// Taken over meanwhile (the process stalled past its lease)? Then
		// the renewal counts for nothing.
		last, err := u.units.last(ctx)
		if err != nil || last == nil || last.Gen != u.gen {
			continue
		}
		u.mu.Lock()
		u.until = until
		u.mu.Unlock()
	}
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

// capture journals the documents of c that filter matches, unless the unit
// journalled them already, and absent, those of absentIDs it does not
// match; with upsert, a filter that matches nothing is journalled too. It
// returns once the journal holds every document the write may change,
// including those another goroutine of the unit is journalling.
func (u *unit) capture(ctx context.Context, c *collection, filter any, absentIDs []any, upsert bool) error {
	if err := u.writable(); err != nil {
		return err
	}
	cur, err := c.Collection.Find(ctx, filter)
	if err != nil {
		return err
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return err
	}
	dbName, collName := c.Database().Name(), c.Name()
	var (
		entries []any
		mine    []string
		waits   []chan struct{}
	)
	u.mu.Lock()
	add := func(id bson.RawValue, before bson.Raw) {
		k := dbName + "\x00" + collName + "\x00" + string(rune(id.Type)) + string(id.Value)
		if ch, ok := u.captured[k]; ok {
			waits = append(waits, ch)
			return
		}
		u.captured[k] = make(chan struct{})
		mine = append(mine, k)
		u.seq++
		entries = append(entries, undoDoc{Unit: u.gen, Seq: u.seq, DB: dbName, Coll: collName, Key: id, Before: before})
	}
	found := map[string]bool{}
	for _, d := range docs {
		id := d.Lookup("_id")
		found[string(rune(id.Type))+string(id.Value)] = true
		add(id, d)
	}
	for _, id := range absentIDs {
		t, v, err := bson.MarshalValue(id)
		if err != nil {
			u.mu.Unlock()
			return err
		}
		if !found[string(rune(t))+string(v)] {
			add(bson.RawValue{Type: t, Value: v}, nil)
		}
	}
	if upsert && len(docs) == 0 {
		raw, err := bson.Marshal(filter)
		if err != nil {
			u.mu.Unlock()
			return err
		}
		u.seq++
		entries = append(entries, undoDoc{Unit: u.gen, Seq: u.seq, DB: dbName, Coll: collName, Filter: raw})
	}
	u.mu.Unlock()

	if len(entries) > 0 {
		_, err = u.units.undo.InsertMany(ctx, entries)
		u.mu.Lock()
		for _, k := range mine {
			close(u.captured[k])
			if err != nil {
				delete(u.captured, k) // not journalled: the next write tries again
			}
		}
		if err == nil {
			u.journal = true
		}
		u.mu.Unlock()
		if err != nil {
			return err
		}
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A document another goroutine failed to journal is journalled here.
	u.mu.Lock()
	retry := false
	for _, d := range docs {
		id := d.Lookup("_id")
		if _, ok := u.captured[dbName+"\x00"+collName+"\x00"+string(rune(id.Type))+string(id.Value)]; !ok {
			retry = true
		}
	}
	u.mu.Unlock()
	if retry {
		return u.capture(ctx, c, filter, absentIDs, upsert)
	}
	return nil
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

// commit stores the unit's events with its lease, which makes the unit
// committed, then publishes them and marks the unit done. Once the commit
// is stored, a failure of what follows is left to recovery, and the unit
// still commits.
func (u *unit) commit(ctx context.Context) error {
	us := u.units
	u.mu.Lock()
	live, journal := time.Now().Before(u.until), u.journal
	u.mu.Unlock()
	if !journal && len(u.events) == 0 {
		_ = us.markDone(ctx, u.gen) // else the lease runs out, and the next unit settles it
		return nil
	}
	if !live {
		// Another instance may be undoing the unit already.
		return translate("commit a unit of work", errUnitLeaseRan)
	}
	res, err := us.leases.UpdateOne(ctx, bson.D{{Key: "_id", Value: u.gen}, {Key: "owner", Value: us.owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: unitCommitted}, {Key: "events", Value: u.events}}}})
	switch {
	case err != nil:
		// Perhaps committed, perhaps not: whoever settles the unit decides.
		return translate("commit a unit of work", err)
	case res.MatchedCount == 0:
		return translate("commit a unit of work", errUnitLeaseRan)
	}
	_ = us.finish(ctx, u.gen, u.events, false)
	return nil
}

// rollback undoes a unit whose fn failed. Should the undo fail, the unit
// stays open, and the next unit undoes it once its lease has run out.
func (u *unit) rollback(ctx context.Context) {
	u.mu.Lock()
	live, journal := time.Now().Before(u.until), u.journal
	u.mu.Unlock()
	if !journal {
		_ = u.units.markDone(ctx, u.gen)
		return
	}
	if live {
		_ = u.units.undoUnit(ctx, u.gen)
	}
}
