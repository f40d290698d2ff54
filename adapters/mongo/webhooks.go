package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.SubscriptionStore = (*WebhookStore)(nil)
	_ ports.DeliveryStore     = (*WebhookStore)(nil)
)

const (
	subscriptionsCollection = "webhook_subscriptions"
	deliveriesCollection    = "webhook_deliveries"
	attemptsCollection      = "webhook_attempts"
	// leasesCollection holds one document per lease ever taken, of an
	// event batch or a delivery: see takeLease.
	leasesCollection = "webhook_leases"
)

func init() {
	registerIndexes(subscriptionsCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "client_id", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "disabled", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
	)
	registerIndexes(deliveriesCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "subscription_id", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "next_attempt_at", Value: 1}}},
	)
	registerIndexes(attemptsCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "delivery_id", Value: 1}, {Key: "number", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "subscription_id", Value: 1}}},
	)
	registerIndexes(leasesCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "subscription_id", Value: 1}}},
	)
}

// WebhookStore is the MongoDB ports.SubscriptionStore and
// ports.DeliveryStore, and dispatches what EventOutbox stored on the same
// database. Secrets are sealed at rest under the key-encryption key (see
// sealer), bound to the subscription id.
//
// Without multi-document transactions, and on FerretDB 1.24 without even
// atomic conditional updates (findAndModify and update filters are a read
// and a separate write there, so racing compare-and-swaps can all "win"),
// every "exactly one" promise rests on a unique _id:
//
//   - a lease (on an event batch or a delivery) is the insert of
//     "<kind>/<id>/<generation>" into webhook_leases (takeLease): each
//     generation goes to one caller, and only that caller then writes the
//     leased document, so its plain updates need no condition;
//   - an attempt is stored under "<delivery>/<number>", numbered by
//     insertNumbered, so overlapping posts are both recorded, 1 then 2.
//
// Where a change spans documents, each method says in which order it
// writes, and what a crash between the writes leaves.
type WebhookStore struct {
	subs     *collection
	dels     *collection
	attempts *collection
	leases   *collection
	events   *collection
	box      sealer
	now      func() time.Time // the wall clock, for the dispatch lease only
}

// NewWebhookStore returns a WebhookStore on db that seals secrets under
// keyEncryptionKey (KeyEncryptionKeySize bytes, the key that seals signing
// keys).
func NewWebhookStore(db *mongo.Database, keyEncryptionKey []byte) (*WebhookStore, error) {
	box, err := newSealer(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &WebhookStore{
		subs: collectionOf(db, subscriptionsCollection), dels: collectionOf(db, deliveriesCollection),
		attempts: collectionOf(db, attemptsCollection), leases: collectionOf(db, leasesCollection),
		events: collectionOf(db, eventsCollection), box: box, now: time.Now,
	}, nil
}

// takeLease takes generation gen of the lease on the document kind/id by
// inserting it, until until, and returns the generation it took; false
// when another caller holds it. A caller that read the document at
// generation gen-1 asks for gen, so of callers that saw one state exactly
// one goes on. Lease documents are deleted with their subscription's
// deliveries, never on their own: a deleted generation could be taken a
// second time by a slow reader.
//
// The holder writes its generation to the document after the insert. One
// that died in between left a generation the document never shows, which
// every later reader would ask for again and never get. So a generation
// found taken and ended (its until passed, at now) is an orphan: the
// caller asks for the next one, and of callers that found the same orphan
// one gets it.
func (st *WebhookStore) takeLease(ctx context.Context, kind, id, subscriptionID string, gen int64, now, until time.Time) (int64, bool, error) {
	for range maxOrphanedLeases + 1 {
		leaseID := fmt.Sprintf("%s/%s/%d", kind, id, gen)
		_, err := st.leases.InsertOne(ctx, bson.D{
			{Key: "_id", Value: leaseID}, {Key: "subscription_id", Value: subscriptionID}, {Key: "until", Value: until},
		})
		if err == nil {
			return gen, true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return 0, false, err
		}
		var taken struct {
			Until time.Time `bson:"until"` // zero on leases stored before it was kept: ended
		}
		err = st.leases.FindOne(ctx, bson.D{{Key: "_id", Value: leaseID}}).Decode(&taken)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments): // its subscription went meanwhile
			return 0, false, nil
		case err != nil:
			return 0, false, err
		case taken.Until.After(now):
			return 0, false, nil // held
		}
		gen++
	}
	return 0, false, nil
}

// maxOrphanedLeases bounds how many orphaned generations in a row one
// takeLease steps over; each orphan is a holder that died at one moment,
// so more than one in a row is already rare.
const maxOrphanedLeases = 3
