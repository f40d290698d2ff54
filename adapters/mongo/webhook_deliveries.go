package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// dispatchLease is how long a dispatcher holds the event batches it took.
// DispatchEvents has no clock parameter, so this lease runs on the wall
// clock: it only decides when a dispatcher that died is taken over.
const dispatchLease = time.Minute

// deliveryDoc is a delivery. LeaseGen is the generation of its newest
// lease (see takeLease); Attempts is the highest attempt number stored.
type deliveryDoc struct {
	ID             string    `bson:"_id"`
	SubscriptionID string    `bson:"subscription_id"` // "" for a back-channel logout
	Kind           string    `bson:"kind,omitempty"`
	URL            string    `bson:"url,omitempty"`
	ClientID       string    `bson:"client_id,omitempty"`
	EventID        string    `bson:"event_id"`
	EventType      string    `bson:"event_type"`
	Payload        []byte    `bson:"payload"`
	State          string    `bson:"state"`
	Attempts       int       `bson:"attempts"`
	NextAttemptAt  time.Time `bson:"next_attempt_at"`
	LeaseUntil     time.Time `bson:"lease_until"`
	LeaseGen       int64     `bson:"lease_gen"`
	CreatedAt      time.Time `bson:"created_at"`
	CompletedAt    time.Time `bson:"completed_at,omitempty"`
}

func newDeliveryDoc(d domain.Delivery) deliveryDoc {
	return deliveryDoc{
		ID: d.ID, SubscriptionID: d.SubscriptionID, Kind: string(d.Kind), URL: d.URL, ClientID: d.ClientID,
		EventID: d.EventID, EventType: d.EventType, Payload: d.Payload,
		State: string(d.State), Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LeaseUntil: d.LeaseUntil,
		CreatedAt: d.CreatedAt, CompletedAt: d.CompletedAt,
	}
}

func (d deliveryDoc) delivery() domain.Delivery {
	return domain.Delivery{
		ID: d.ID, SubscriptionID: d.SubscriptionID, Kind: domain.DeliveryKind(d.Kind), URL: d.URL, ClientID: d.ClientID,
		EventID: d.EventID, EventType: d.EventType, Payload: d.Payload,
		State: domain.DeliveryState(d.State), Attempts: d.Attempts, NextAttemptAt: utcOrZero(d.NextAttemptAt),
		LeaseUntil: utcOrZero(d.LeaseUntil), CreatedAt: utcOrZero(d.CreatedAt), CompletedAt: utcOrZero(d.CompletedAt),
	}
}

type attemptDoc struct {
	ID             string    `bson:"_id"`
	DeliveryID     string    `bson:"delivery_id"`
	SubscriptionID string    `bson:"subscription_id"`
	Number         int64     `bson:"number"`
	At             time.Time `bson:"at"`
	StatusCode     int       `bson:"status_code"`
	Latency        int64     `bson:"latency_ns"`
	Error          string    `bson:"error,omitempty"`
	Response       []byte    `bson:"response,omitempty"`
}

func (a attemptDoc) attempt() domain.Attempt {
	return domain.Attempt{
		DeliveryID: a.DeliveryID, Number: int(a.Number), At: utcOrZero(a.At), StatusCode: a.StatusCode,
		Latency: time.Duration(a.Latency), Error: a.Error, Response: a.Response,
	}
}

// DispatchEvents takes up to limit undispatched events in publication
// order, passes them to plan, stores its deliveries and marks the events
// dispatched.
//
// A batch is taken with a lease: the dispatcher that reads it unleased at
// generation g and inserts lease g+1 holds it (takeLease), so concurrent
// dispatchers take disjoint batches; a batch leased by another is skipped,
// as SKIP LOCKED would. A batch larger than what is left of limit gives a
// prefix, and the rest waits for the next call. The writes come in this
// order:
//
//  1. the lease, on each batch taken (an insert, then the batch's
//     lease_until);
//  2. plan; if it fails, the leases are released and nothing else changes;
//  3. the deliveries, inserted unordered with duplicate ids ignored, then
//     removed again for any subscription deleted meanwhile;
//  4. each batch's progress (next, dispatched) with its lease released, in
//     one single-document update.
//
// A dispatcher that dies after 3 and before 4 leaves its batches leased;
// once the lease ends another dispatcher plans the same events again, and
// since delivery ids derive from the event and the subscription, the
// inserts find the deliveries stored and keep one of each. So the effect of
// a dispatch is exactly once, even though plan may run twice for an event
// after a crash (or after a dispatcher stalled past its lease).
func (st *WebhookStore) DispatchEvents(ctx context.Context, limit int, plan func([]domain.Event) ([]domain.Delivery, error)) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	now := st.now()
	held, events, err := st.takeBatches(ctx, limit, now)
	if err != nil {
		st.releaseBatches(ctx, held, false)
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	ds, err := plan(events)
	if err != nil {
		st.releaseBatches(ctx, held, false)
		return 0, err
	}
	if err := st.insertDeliveries(ctx, ds); err != nil {
		st.releaseBatches(ctx, held, false)
		return 0, err
	}
	if err := st.releaseBatches(ctx, held, true); err != nil {
		return 0, err
	}
	return len(events), nil
}

// heldBatch is a batch a dispatcher leased, and how far the events it took
// reach.
type heldBatch struct {
	seq  int64
	upTo int
	all  int
}

// takeBatches leases undispatched batches in publication order until it
// holds limit events or none is left.
func (st *WebhookStore) takeBatches(ctx context.Context, limit int, now time.Time) ([]heldBatch, []domain.Event, error) {
	cur, err := st.events.Find(ctx,
		bson.D{{Key: "dispatched", Value: false}, {Key: "lease_until", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(int32(min(limit, 100))))
	if err != nil {
		return nil, nil, translate("dispatch events", err)
	}
	defer cur.Close(ctx)
	var held []heldBatch
	var events []domain.Event
	for len(events) < limit && cur.Next(ctx) {
		var b eventBatchDoc
		if err := cur.Decode(&b); err != nil {
			return held, nil, translate("dispatch events", err)
		}
		gen, ok, err := st.takeLease(ctx, "events", fmt.Sprint(b.Seq), "", b.LeaseGen+1, now, now.Add(dispatchLease))
		if err != nil {
			return held, nil, translate("dispatch events", err)
		}
		if !ok {
			continue
		}
		if _, err := st.events.UpdateOne(ctx, bson.D{{Key: "_id", Value: b.Seq}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "lease_gen", Value: gen}, {Key: "lease_until", Value: now.Add(dispatchLease)},
		}}}); err != nil {
			return held, nil, translate("dispatch events", err)
		}
		upTo := min(len(b.Events), b.Next+limit-len(events))
		for _, e := range b.Events[b.Next:upTo] {
			events = append(events, e.event())
		}
		held = append(held, heldBatch{seq: b.Seq, upTo: upTo, all: len(b.Events)})
	}
	if err := cur.Err(); err != nil {
		return held, nil, translate("dispatch events", err)
	}
	return held, events, nil
}

// releaseBatches ends the leases on held; with done, it records the events
// taken as dispatched in the same update. Without done (a failure being
// reported already) its own error is only returned, for the caller to
// ignore.
func (st *WebhookStore) releaseBatches(ctx context.Context, held []heldBatch, done bool) error {
	for _, h := range held {
		set := bson.D{{Key: "lease_until", Value: time.Time{}}}
		if done {
			set = append(set, bson.E{Key: "next", Value: h.upTo}, bson.E{Key: "dispatched", Value: h.upTo == h.all})
		}
		if _, err := st.events.UpdateOne(ctx, bson.D{{Key: "_id", Value: h.seq}}, bson.D{{Key: "$set", Value: set}}); err != nil {
			return translate("dispatch events", err)
		}
	}
	return nil
}

// insertDeliveries stores planned deliveries whose subscription exists,
// skipping ids stored already. A subscription deleted while they were
// inserted is checked for again after, and its deliveries are removed (see
// DeleteSubscription).
func (st *WebhookStore) insertDeliveries(ctx context.Context, ds []domain.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	subIDs := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.SubscriptionID != "" { // a back-channel logout has none
			subIDs = append(subIDs, d.SubscriptionID)
		}
	}
	slices.Sort(subIDs)
	subIDs = slices.Compact(subIDs)
	exists, err := st.existingSubscriptions(ctx, subIDs)
	if err != nil {
		return err
	}
	docs := make([]any, 0, len(ds))
	for _, d := range ds {
		if d.SubscriptionID == "" || exists[d.SubscriptionID] {
			docs = append(docs, newDeliveryDoc(d))
		}
	}
	if len(docs) == 0 {
		return nil
	}
	_, err = st.dels.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil && !onlyDuplicates(err) {
		return translate("store deliveries", err)
	}
	after, err := st.existingSubscriptions(ctx, subIDs)
	if err != nil {
		return err
	}
	for id := range exists {
		if !after[id] {
			if err := st.deleteDeliveriesOf(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// onlyDuplicates reports whether every write error of a bulk insert is a
// duplicate key.
func onlyDuplicates(err error) bool {
	var bulk mongo.BulkWriteException
	if !errors.As(err, &bulk) || bulk.WriteConcernError != nil || len(bulk.WriteErrors) == 0 {
		return false
	}
	for _, we := range bulk.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// CreateDelivery stores one delivery. ErrAlreadyExists if the id is taken;
// ErrNotFound if the subscription does not exist, checked before the insert
// and again after it (see DeleteSubscription).
func (st *WebhookStore) CreateDelivery(ctx context.Context, d domain.Delivery) error {
	if _, err := st.readSubscription(ctx, d.SubscriptionID); err != nil {
		return translate("create delivery", err)
	}
	if _, err := st.dels.InsertOne(ctx, newDeliveryDoc(d)); err != nil {
		return translate("create delivery", err)
	}
	if _, err := st.readSubscription(ctx, d.SubscriptionID); errors.Is(err, mongo.ErrNoDocuments) {
		if err := st.deleteDeliveriesOf(ctx, d.SubscriptionID); err != nil {
			return err
		}
		return translate("create delivery", err)
	} else if err != nil {
		return translate("create delivery", err)
	}
	return nil
}

// ClaimDeliveries leases, one by one, pending deliveries due at now and not
// leased at now, of enabled subscriptions, earliest due first (ties by
// creation, then id), until it holds limit. Each is taken with a lease
// generation (takeLease): of concurrent claims, the one whose insert lands
// has it, the others pass on to the next candidate. The lease's end is
// written to the delivery after, by its holder alone.
func (st *WebhookStore) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.Claim, error) {
	if limit <= 0 {
		return nil, nil
	}
	cur, err := st.dels.Find(ctx, bson.D{
		{Key: "state", Value: string(domain.DeliveryPending)},
		{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}},
		{Key: "lease_until", Value: bson.D{{Key: "$lte", Value: now}}},
	}, options.Find().SetSort(bson.D{{Key: "next_attempt_at", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).
		SetBatchSize(int32(min(4*limit, 200))))
	if err != nil {
		return nil, translate("claim deliveries", err)
	}
	defer cur.Close(ctx)
	subs := map[string]*domain.Subscription{} // nil: missing or disabled
	var out []domain.Claim
	for len(out) < limit && cur.Next(ctx) {
		var d deliveryDoc
		if err := cur.Decode(&d); err != nil {
			return out, translate("claim deliveries", err)
		}
		sub, err := st.claimableSubscription(ctx, subs, d.SubscriptionID)
		if err != nil {
			return out, err
		}
		if sub == nil {
			continue
		}
		gen, ok, err := st.takeLease(ctx, "delivery", d.ID, d.SubscriptionID, d.LeaseGen+1, now, leaseUntil)
		if err != nil {
			return out, translate("claim deliveries", err)
		}
		if !ok {
			continue
		}
		if _, err := st.dels.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, bson.D{{Key: "$set", Value: bson.D{
			{Key: "lease_gen", Value: gen}, {Key: "lease_until", Value: leaseUntil},
		}}}); err != nil {
			return out, translate("claim deliveries", err)
		}
		d.LeaseGen, d.LeaseUntil = gen, leaseUntil
		out = append(out, domain.Claim{Delivery: d.delivery(), Subscription: *sub})
	}
	if err := cur.Err(); err != nil {
		return out, translate("claim deliveries", err)
	}
	return out, nil
}

// claimableSubscription returns the subscription id, secret opened, if it
// is stored and enabled; nil otherwise. It reads each subscription once per
// claim, through cache.
func (st *WebhookStore) claimableSubscription(ctx context.Context, cache map[string]*domain.Subscription, id string) (*domain.Subscription, error) {
	if id == "" {
		return &domain.Subscription{}, nil // a back-channel logout: none to be disabled
	}
	if s, ok := cache[id]; ok {
		return s, nil
	}
	d, err := st.readSubscription(ctx, id)
	if errors.Is(err, mongo.ErrNoDocuments) || err == nil && d.Disabled {
		cache[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, translate("claim deliveries", err)
	}
	s, err := st.subscription(d, true)
	if err != nil {
		return nil, err
	}
	cache[id] = &s
	return &s, nil
}

// RecordAttempt stores an attempt and applies its outcome, in this order:
//
//  1. the attempt, numbered one past the highest stored (insertNumbered), so
//     overlapping posts are both recorded;
//  2. the delivery: its state, next attempt, attempts (the highest number,
//     by $max), completion, and no lease;
//  3. the subscription's failure streak, then, when it is due, disabled
//     with the reason and the attempt's time (conditional on not being
//     disabled yet, so the first reason and time stay);
//  4. when the subscription ends up disabled, its pending deliveries fail.
//
// A crash after 1 leaves the delivery leased and pending: it is posted
// again when the lease ends, and that attempt is numbered after the
// recorded one. A crash after 2 misses one step of the streak; after 3, a
// disabled subscription's deliveries stay pending but are never claimed.
// Nothing is ever left claimable that should not be.
func (st *WebhookStore) RecordAttempt(ctx context.Context, a domain.Attempt, o domain.AttemptOutcome) (domain.Subscription, error) {
	var d deliveryDoc
	if err := st.dels.FindOne(ctx, bson.D{{Key: "_id", Value: a.DeliveryID}}).Decode(&d); err != nil {
		return domain.Subscription{}, translate("record attempt", err)
	}
	number, _, err := insertNumbered(ctx, st.attempts, bson.D{{Key: "delivery_id", Value: a.DeliveryID}}, "number", 0,
		func(n int64) (any, error) {
			return attemptDoc{
				ID: fmt.Sprintf("%s/%d", a.DeliveryID, n), DeliveryID: a.DeliveryID, SubscriptionID: d.SubscriptionID,
				Number: n, At: a.At, StatusCode: a.StatusCode, Latency: int64(a.Latency), Error: a.Error, Response: a.Response,
			}, nil
		})
	if err != nil {
		return domain.Subscription{}, translate("record attempt", err)
	}
	if err := st.applyToDelivery(ctx, a, o, number); err != nil {
		return domain.Subscription{}, err
	}
	if d.SubscriptionID == "" {
		return domain.Subscription{}, nil // a back-channel logout: no streak to keep
	}
	sub, err := st.applyToSubscription(ctx, d.SubscriptionID, o, a.At)
	if err != nil {
		return domain.Subscription{}, err
	}
	if sub.Disabled {
		if err := st.failPending(ctx, sub.ID, a.At); err != nil {
			return domain.Subscription{}, err
		}
	}
	return st.subscription(sub, true)
}

func (st *WebhookStore) applyToDelivery(ctx context.Context, a domain.Attempt, o domain.AttemptOutcome, number int64) error {
	set := bson.D{{Key: "state", Value: string(o.State)}, {Key: "lease_until", Value: time.Time{}}}
	update := bson.D{{Key: "$max", Value: bson.D{{Key: "attempts", Value: number}}}}
	if o.State == domain.DeliveryPending {
		set = append(set, bson.E{Key: "next_attempt_at", Value: o.NextAttemptAt})
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "completed_at", Value: ""}}})
	} else {
		set = append(set, bson.E{Key: "next_attempt_at", Value: time.Time{}}, bson.E{Key: "completed_at", Value: a.At})
	}
	update = append(update, bson.E{Key: "$set", Value: set})
	res, err := st.dels.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.DeliveryID}}, update)
	if err != nil {
		return translate("record attempt", err)
	}
	if res.MatchedCount == 0 {
		// Its subscription was deleted meanwhile: drop the attempt too.
		_, _ = st.attempts.DeleteMany(ctx, bson.D{{Key: "delivery_id", Value: a.DeliveryID}})
		return translate("record attempt", mongo.ErrNoDocuments)
	}
	return nil
}

// applyToSubscription resets or grows the failure streak and disables the
// subscription when the outcome says so, at the attempt's time, returning
// it as stored.
func (st *WebhookStore) applyToSubscription(ctx context.Context, id string, o domain.AttemptOutcome, at time.Time) (subscriptionDoc, error) {
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	update := bson.D{{Key: "$inc", Value: bson.D{{Key: "consecutive_failures", Value: 1}, {Key: "rev", Value: 1}}}}
	if o.Succeeded {
		update = bson.D{
			{Key: "$set", Value: bson.D{{Key: "consecutive_failures", Value: 0}}},
			{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}},
		}
	}
	var s subscriptionDoc
	// A disabled subscription keeps its streak: it tells a disabling by
	// failures from its owner's.
	err := st.subs.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "disabled", Value: false}}, update, after).Decode(&s)
	if errors.Is(err, mongo.ErrNoDocuments) {
		s, err = st.readSubscription(ctx, id) // disabled, or gone
	}
	if err != nil {
		return subscriptionDoc{}, translate("record attempt", err)
	}
	disable := !o.Succeeded && (o.Disable || o.DisableAfter > 0 && s.ConsecutiveFailures >= o.DisableAfter)
	if s.Disabled || !disable {
		return s, nil
	}
	err = st.subs.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "disabled", Value: false}}, bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "disabled", Value: true}, {Key: "disabled_reason", Value: o.DisabledReason}, {Key: "disabled_at", Value: at},
		}},
		{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}},
	}, after).Decode(&s)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Disabled (or deleted) by someone else meanwhile.
		s, err = st.readSubscription(ctx, id)
	}
	if err != nil {
		return subscriptionDoc{}, translate("record attempt", err)
	}
	return s, nil
}

// GetDelivery returns a delivery with its attempts. ErrNotFound if there
// is none.
func (st *WebhookStore) GetDelivery(ctx context.Context, id string) (domain.DeliveryRecord, error) {
	recs, err := st.records(ctx, "get delivery", bson.D{{Key: "_id", Value: id}}, options.Find())
	if err != nil {
		return domain.DeliveryRecord{}, err
	}
	if len(recs) == 0 {
		return domain.DeliveryRecord{}, translate("get delivery", mongo.ErrNoDocuments)
	}
	return recs[0], nil
}

// ListDeliveries pages a subscription's deliveries newest first, by keyset
// on (created_at, _id); a cursor with no ID starts at the newest.
func (st *WebhookStore) ListDeliveries(ctx context.Context, subscriptionID string, before domain.DeliveryCursor, limit int) ([]domain.DeliveryRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	filter := bson.D{{Key: "subscription_id", Value: subscriptionID}}
	if before.ID != "" {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before.CreatedAt}}}},
			bson.D{{Key: "created_at", Value: before.CreatedAt}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: before.ID}}}},
		}})
	}
	return st.records(ctx, "list deliveries", filter, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
}

// records reads deliveries, then their attempts with a second query. The two
// reads are not one snapshot: an attempt recorded in between may show on a
// delivery whose count does not have it yet.
func (st *WebhookStore) records(ctx context.Context, op string, filter bson.D, opts *options.FindOptions) ([]domain.DeliveryRecord, error) {
	cur, err := st.dels.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []deliveryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	out := make([]domain.DeliveryRecord, len(docs))
	index := make(map[string]int, len(docs))
	ids := make([]string, len(docs))
	for i, d := range docs {
		out[i].Delivery = d.delivery()
		index[d.ID], ids[i] = i, d.ID
	}
	cur, err = st.attempts.Find(ctx, bson.D{{Key: "delivery_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetSort(bson.D{{Key: "delivery_id", Value: 1}, {Key: "number", Value: 1}}))
	if err != nil {
		return nil, translate(op, err)
	}
	var attempts []attemptDoc
	if err := cur.All(ctx, &attempts); err != nil {
		return nil, translate(op, err)
	}
	for _, a := range attempts {
		r := &out[index[a.DeliveryID]]
		r.Attempts = append(r.Attempts, a.attempt())
	}
	return out, nil
}

// Redeliver makes a delivery pending again, due at now, with no lease and
// no completion; its attempts and id stay. It takes the next lease
// generation first, so a claim racing it loses (and it loses to a claim
// that got there first): ErrConflict if the delivery is leased at now or
// that race is lost.
func (st *WebhookStore) Redeliver(ctx context.Context, id string, now time.Time) (domain.Delivery, error) {
	var d deliveryDoc
	if err := st.dels.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return domain.Delivery{}, translate("redeliver", err)
	}
	if d.LeaseUntil.After(now) {
		return domain.Delivery{}, domain.ErrConflict
	}
	// The redelivery's own lease lasts as a dispatch's does: it is over
	// once the delivery shows it, and ends by itself should this die first.
	gen, ok, err := st.takeLease(ctx, "delivery", d.ID, d.SubscriptionID, d.LeaseGen+1, now, now.Add(dispatchLease))
	if err != nil {
		return domain.Delivery{}, translate("redeliver", err)
	}
	if !ok {
		return domain.Delivery{}, domain.ErrConflict
	}
	res, err := st.dels.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "state", Value: string(domain.DeliveryPending)}, {Key: "next_attempt_at", Value: now},
			{Key: "lease_until", Value: time.Time{}}, {Key: "lease_gen", Value: gen},
		}},
		{Key: "$unset", Value: bson.D{{Key: "completed_at", Value: ""}}},
	})
	if err != nil {
		return domain.Delivery{}, translate("redeliver", err)
	}
	if res.MatchedCount == 0 {
		return domain.Delivery{}, translate("redeliver", mongo.ErrNoDocuments)
	}
	d.State, d.NextAttemptAt, d.LeaseUntil, d.LeaseGen, d.CompletedAt = string(domain.DeliveryPending), now, time.Time{}, gen, time.Time{}
	return d.delivery(), nil
}
