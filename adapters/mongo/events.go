package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.EventPublisher = (*EventOutbox)(nil)
	_ ports.EventLog       = (*EventOutbox)(nil)
)

const eventsCollection = "event_batches"

func init() {
	registerIndexes(eventsCollection,
		// DispatchEvents reads the undispatched batches in publication order.
		mongo.IndexModel{Keys: bson.D{{Key: "dispatched", Value: 1}, {Key: "_id", Value: 1}}},
		// ListEvents finds an organization's batches, newest first, by each
		// of the three ways an event is in its log.
		mongo.IndexModel{Keys: bson.D{{Key: "events.audience_organization_ids", Value: 1}, {Key: "_id", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "events.organization_id", Value: 1}, {Key: "_id", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "events.actor_organization_id", Value: 1}, {Key: "_id", Value: -1}}},
		// and one user's (the member page, the activity's user filter).
		mongo.IndexModel{Keys: bson.D{{Key: "events.user_id", Value: 1}, {Key: "_id", Value: -1}}},
	)
}

// EventOutbox is the MongoDB ports.EventPublisher: a durable outbox that
// DeliveryStore.DispatchEvents reads.
//
// Each Publish call is one document (a batch), since only a single-document
// write is atomic without transactions: the batch is stored whole or not at
// all. Batches are numbered 1, 2, 3, … in _id by insertNumbered: a batch
// takes the number after the highest stored one, and the unique _id lets
// exactly one of several racing publishers have it (the others take the
// next). So numbers have no gaps, and a batch is visible before the next
// number can be taken: publication order is exact within a batch and, across
// batches and instances, the order in which the batches were stored.
//
// An event's Data is stored as an array of {k, v} pairs, so its order
// survives; values are stored as BSON encodes them and come back as the
// driver decodes them into an any, with embedded documents as
// map[string]any and arrays as []any (as encoding/json would read them). A
// value BSON cannot encode (a channel) fails the Publish.
type EventOutbox struct{ coll *collection }

// NewEventOutbox returns an EventOutbox on db.
func NewEventOutbox(db *mongo.Database) *EventOutbox {
	return &EventOutbox{coll: collectionOf(db, eventsCollection)}
}

// eventBatchDoc is one Publish call. Next counts the events of the batch
// already dispatched (a dispatch with a small limit may take a prefix);
// Dispatched is set once Next reaches the end. LeaseGen and LeaseUntil are
// the dispatch lease (see DeliveryStore.DispatchEvents).
type eventBatchDoc struct {
	Seq        int64      `bson:"_id"`
	Events     []eventDoc `bson:"events"`
	Next       int        `bson:"next"`
	Dispatched bool       `bson:"dispatched"`
	LeaseGen   int64      `bson:"lease_gen"`
	LeaseUntil time.Time  `bson:"lease_until"`
	// Unit is the number of the unit of work that published the batch
	// (see Units), 0 for a batch published outside one.
	Unit int64 `bson:"unit,omitempty"`
}

type eventDoc struct {
	ID              string     `bson:"id"`
	Type            string     `bson:"type"`
	OccurredAt      time.Time  `bson:"occurred_at"`
	UserID          string     `bson:"user_id,omitempty"`
	OrganizationID  string     `bson:"organization_id,omitempty"`
	Data            []fieldDoc `bson:"data,omitempty"`
	AudienceOrgs    []string   `bson:"audience_organization_ids,omitempty"`
	AudienceClients []string   `bson:"audience_client_ids,omitempty"`
	// The actor (domain.Actor), absent when none, as in batches stored
	// before actors were.
	ActorKind string `bson:"actor_kind,omitempty"`
	ActorID   string `bson:"actor_id,omitempty"`
	ActorName string `bson:"actor_name,omitempty"`
	ActorOrg  string `bson:"actor_organization_id,omitempty"`
}

type fieldDoc struct {
	K string `bson:"k"`
	V any    `bson:"v"`
}

func newEventDoc(e domain.Event) eventDoc {
	d := eventDoc{
		ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt, UserID: e.UserID, OrganizationID: e.OrganizationID,
		AudienceOrgs: e.Audience.OrganizationIDs, AudienceClients: e.Audience.LicenseClientIDs,
		ActorKind: string(e.Actor.Kind), ActorID: e.Actor.ID, ActorName: e.Actor.Name, ActorOrg: e.Actor.OrganizationID,
	}
	for _, f := range e.Data {
		d.Data = append(d.Data, fieldDoc{K: f.Key, V: f.Value})
	}
	return d
}

func (d eventDoc) event() domain.Event {
	e := domain.Event{
		ID: d.ID, Type: d.Type, OccurredAt: d.OccurredAt.UTC(), UserID: d.UserID, OrganizationID: d.OrganizationID,
		Audience: domain.Audience{OrganizationIDs: d.AudienceOrgs, LicenseClientIDs: d.AudienceClients},
		Actor:    domain.Actor{Kind: domain.ActorKind(d.ActorKind), ID: d.ActorID, Name: d.ActorName, OrganizationID: d.ActorOrg},
	}
	for _, f := range d.Data {
		e.Data = append(e.Data, domain.Field{Key: f.K, Value: plainValue(f.V)})
	}
	return e
}

// plainValue turns the driver's decoded containers into the plain Go values
// encoding/json would give, so a webhook body encodes the same whatever the
// backend.
func plainValue(v any) any {
	switch x := v.(type) {
	case primitive.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = plainValue(e.Value)
		}
		return m
	case primitive.M:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = plainValue(e)
		}
		return m
	case primitive.A:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = plainValue(e)
		}
		return a
	case primitive.DateTime:
		return x.Time().UTC()
	default:
		return v
	}
}

// Publish stores the events as one batch document, in order: all or none.
// The document is encoded before it is numbered, so later changes to the
// caller's events change nothing stored. Inside a unit of work the events
// are kept for its commit, which stores them with the unit and then
// publishes them as one batch (see Units).
func (o *EventOutbox) Publish(ctx context.Context, events ...domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	docs := make([]eventDoc, len(events))
	for i, e := range events {
		docs[i] = newEventDoc(e)
	}
	if u := unitOf(ctx); u != nil {
		// Encoded now, so that a value BSON cannot encode fails here.
		raw, err := bson.Marshal(eventBatchDoc{Events: docs})
		if err != nil {
			return translate("publish events", fmt.Errorf("encode events: %w", err))
		}
		var kept eventBatchDoc
		if err := bson.Unmarshal(raw, &kept); err != nil {
			return translate("publish events", fmt.Errorf("encode events: %w", err))
		}
		return translate("publish events", u.publish(kept.Events))
	}
	_, _, err := insertNumbered(ctx, o.coll, bson.D{}, "_id", 0, func(seq int64) (any, error) {
		raw, err := bson.Marshal(eventBatchDoc{Seq: seq, Events: docs})
		if err != nil {
			return nil, fmt.Errorf("encode events: %w", err)
		}
		return raw, nil
	})
	return translate("publish events", err)
}

// Events returns every stored event, in publication order. It reads the
// whole outbox into memory: it is for tests and small outboxes.
func (o *EventOutbox) Events(ctx context.Context) ([]domain.Event, error) {
	cur, err := o.coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate("list events", err)
	}
	var batches []eventBatchDoc
	if err := cur.All(ctx, &batches); err != nil {
		return nil, translate("list events", err)
	}
	var out []domain.Event
	for _, b := range batches {
		for _, e := range b.Events {
			out = append(out, e.event())
		}
	}
	return out, nil
}

// ListEvents returns a page of an organization's events, newest first
// (ports.EventLog). A cursor is a batch's number and the event's place in
// it. The query finds the batches holding one of the organization's events
// (by any of three indexed paths), newest first, and the page is cut from
// their events, read back to front and filtered exactly (domain.EventQuery
// Matches), until it holds one more than the limit.
func (o *EventOutbox) ListEvents(ctx context.Context, q domain.EventQuery) (domain.EventPage, error) {
	limit := q.Limit
	if limit <= 0 || limit > domain.MaxEventPage {
		limit = domain.MaxEventPage
	}
	org := q.OrganizationID
	if org == "" {
		return domain.EventPage{}, nil
	}
	filter := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "events.audience_organization_ids", Value: org}},
		bson.D{{Key: "events.organization_id", Value: org}},
		bson.D{{Key: "events.actor_organization_id", Value: org}},
	}}}
	if q.ActorOrganizationID != "" { // few batches: the organization's own actors'
		filter = bson.D{{Key: "events.actor_organization_id", Value: q.ActorOrganizationID}}
	}
	if !q.Before.IsZero() {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lte", Value: q.Before.Seq}}})
	}
	for _, f := range [...][2]string{{"events.user_id", q.UserID}, {"events.type", q.Type}, {"events.actor_kind", string(q.ActorKind)}} {
		if f[1] != "" {
			filter = append(filter, bson.E{Key: f[0], Value: f[1]})
		}
	}
	cur, err := o.coll.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetBatchSize(int32(limit+1)))
	if err != nil {
		return domain.EventPage{}, translate("list events", err)
	}
	defer cur.Close(ctx)
	var page domain.EventPage
	var last domain.EventCursor
	for cur.Next(ctx) {
		var b eventBatchDoc
		if err := cur.Decode(&b); err != nil {
			return domain.EventPage{}, translate("list events", err)
		}
		for i := len(b.Events) - 1; i >= 0; i-- {
			if b.Seq == q.Before.Seq && i >= q.Before.Pos {
				continue
			}
			e := b.Events[i].event()
			if !q.Matches(e) {
				continue
			}
			if len(page.Events) == limit {
				page.Next = last
				return page, nil
			}
			page.Events = append(page.Events, e)
			last = domain.EventCursor{Seq: b.Seq, Pos: i}
		}
	}
	if err := cur.Err(); err != nil {
		return domain.EventPage{}, translate("list events", err)
	}
	return page, nil
}

// numberedRetries bounds how often insertNumbered re-reads the highest
// number; between reads it climbs one number per duplicate key.
const numberedRetries = 1000

// insertNumbered stores doc(n) under the lowest free number n above the
// highest that the documents matching filter hold in field, and returns n.
// The number must be part of a unique key (the _id), so of racing callers
// exactly one stores each number; a loser climbs to the next. With max > 0
// it stops, storing nothing, once n would pass max, and reports ok false.
//
// This is the adapter's one primitive for "exactly one winner": FerretDB
// 1.24 applies findAndModify and conditional updates as a read followed by
// an unconditional write, so two racing compare-and-swaps can both succeed
// (and two $inc can lose one), while a unique index is always enforced.
func insertNumbered(ctx context.Context, c *collection, filter bson.D, field string, max int64,
	doc func(n int64) (any, error)) (n int64, ok bool, err error) {
	for range numberedRetries {
		if n, err = highestNumber(ctx, c, filter, field); err != nil {
			return 0, false, err
		}
		for climb := 0; climb < 16; climb++ {
			n++
			if max > 0 && n > max {
				return n, false, nil
			}
			d, err := doc(n)
			if err != nil {
				return 0, false, err
			}
			_, err = c.InsertOne(ctx, d)
			if err == nil {
				return n, true, nil
			}
			if !mongo.IsDuplicateKeyError(err) {
				return 0, false, err
			}
		}
	}
	return 0, false, errors.New("numbered insert: too many concurrent writers")
}

// highestNumber returns the highest value of field among the documents
// matching filter, 0 when there are none.
func highestNumber(ctx context.Context, c *collection, filter bson.D, field string) (int64, error) {
	var top bson.Raw
	err := c.FindOne(ctx, filter, options.FindOne().
		SetSort(bson.D{{Key: field, Value: -1}}).
		SetProjection(bson.D{{Key: field, Value: 1}})).Decode(&top)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, ok := top.Lookup(field).AsInt64OK()
	if !ok {
		return 0, fmt.Errorf("%s of %s is not a number", field, c.Name())
	}
	return v, nil
}
