package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// subscriptionDoc is a subscription; Rev counts its writes, so that
// UpdateSubscription can compare and swap.
type subscriptionDoc struct {
	ID                  string    `bson:"_id"`
	ClientID            string    `bson:"client_id"`
	URL                 string    `bson:"url"`
	Events              []string  `bson:"events"`
	Secret              []byte    `bson:"secret"`
	Description         string    `bson:"description"`
	Disabled            bool      `bson:"disabled"`
	DisabledReason      string    `bson:"disabled_reason"`
	DisabledAt          time.Time `bson:"disabled_at,omitempty"` // absent while enabled and in older documents: zero
	ConsecutiveFailures int       `bson:"consecutive_failures"`
	CreatedAt           time.Time `bson:"created_at"`
	UpdatedAt           time.Time `bson:"updated_at"`
	Rev                 int64     `bson:"rev"`
}

func (st *WebhookStore) newSubscriptionDoc(s domain.Subscription, rev int64) (subscriptionDoc, error) {
	sealed, err := st.box.seal(purposeWebhookSecret, s.ID, []byte(s.Secret))
	if err != nil {
		return subscriptionDoc{}, err
	}
	return subscriptionDoc{
		ID: s.ID, ClientID: s.ClientID, URL: s.URL, Events: s.Events, Secret: sealed, Description: s.Description,
		Disabled: s.Disabled, DisabledReason: s.DisabledReason, DisabledAt: s.DisabledAt,
		ConsecutiveFailures: s.ConsecutiveFailures, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Rev: rev,
	}, nil
}

// subscription returns the domain value, with the secret opened when
// withSecret (fan-out needs none, so a secret that no longer opens stops
// only its own posts).
func (st *WebhookStore) subscription(d subscriptionDoc, withSecret bool) (domain.Subscription, error) {
	s := domain.Subscription{
		ID: d.ID, ClientID: d.ClientID, URL: d.URL, Events: d.Events, Description: d.Description,
		Disabled: d.Disabled, DisabledReason: d.DisabledReason, DisabledAt: utcOrZero(d.DisabledAt),
		ConsecutiveFailures: d.ConsecutiveFailures, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if withSecret {
		secret, err := st.box.open(purposeWebhookSecret, d.ID, d.Secret, ErrSecretDecryption)
		if err != nil {
			return domain.Subscription{}, err
		}
		s.Secret = string(secret)
	}
	return s, nil
}

// CreateSubscription stores a subscription. ErrAlreadyExists if the id is
// taken.
func (st *WebhookStore) CreateSubscription(ctx context.Context, s domain.Subscription) error {
	d, err := st.newSubscriptionDoc(s, 1)
	if err != nil {
		return err
	}
	_, err = st.subs.InsertOne(ctx, d)
	return translate("create subscription", err)
}

func (st *WebhookStore) readSubscription(ctx context.Context, id string) (subscriptionDoc, error) {
	var d subscriptionDoc
	err := st.subs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	return d, err
}

// GetSubscription returns a subscription. ErrNotFound if there is none.
func (st *WebhookStore) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	d, err := st.readSubscription(ctx, id)
	if err != nil {
		return domain.Subscription{}, translate("get subscription", err)
	}
	return st.subscription(d, true)
}

// updateRetries bounds UpdateSubscription's compare-and-swap loop.
const updateRetries = 8

// UpdateSubscription reads the subscription, applies fn and writes it back
// if its rev is unchanged, else starts again (a compare-and-swap on rev;
// exact on MongoDB, best effort on FerretDB, whose conditional updates are
// not atomic). The id stays; the secret is sealed anew. When the result is
// disabled, its pending deliveries fail next (failPending): a crash between
// the two leaves them pending but never claimed, since claims skip disabled
// subscriptions.
func (st *WebhookStore) UpdateSubscription(ctx context.Context, id string, fn func(*domain.Subscription) error) (domain.Subscription, error) {
	for range updateRetries {
		cur, err := st.readSubscription(ctx, id)
		if err != nil {
			return domain.Subscription{}, translate("update subscription", err)
		}
		s, err := st.subscription(cur, true)
		if err != nil {
			return domain.Subscription{}, err
		}
		if err := fn(&s); err != nil {
			return domain.Subscription{}, err
		}
		s.ID = id
		next, err := st.newSubscriptionDoc(s, cur.Rev+1)
		if err != nil {
			return domain.Subscription{}, err
		}
		res, err := st.subs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: cur.Rev}}, next)
		if err != nil {
			return domain.Subscription{}, translate("update subscription", err)
		}
		if res.MatchedCount == 0 {
			continue
		}
		if s.Disabled {
			if err := st.failPending(ctx, id, s.UpdatedAt); err != nil {
				return domain.Subscription{}, err
			}
		}
		return s, nil
	}
	return domain.Subscription{}, fmt.Errorf("mongo: update subscription %s: %w", id, domain.ErrConflict)
}

// failPending ends the pending deliveries of a disabled subscription, so
// they neither wait forever nor flood the endpoint if it is re-enabled.
func (st *WebhookStore) failPending(ctx context.Context, subscriptionID string, at time.Time) error {
	_, err := st.dels.UpdateMany(ctx,
		bson.D{{Key: "subscription_id", Value: subscriptionID}, {Key: "state", Value: string(domain.DeliveryPending)}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: string(domain.DeliveryFailed)},
			{Key: "completed_at", Value: at},
			{Key: "lease_until", Value: time.Time{}},
		}}})
	return translate("fail pending deliveries", err)
}

// DeleteSubscription removes a subscription, then its deliveries, their
// attempts and leases. The subscription goes first, so that no new
// delivery can be added behind the cleanup: CreateDelivery and
// DispatchEvents check the subscription again after they insert, and remove
// what they inserted if it is gone, so either they see it gone or this
// cleanup, which runs after, sees their deliveries. A crash before the
// cleanup leaves deliveries no claim takes (their subscription is missing)
// and RecordAttempt refuses.
func (st *WebhookStore) DeleteSubscription(ctx context.Context, id string) error {
	res, err := st.subs.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return translate("delete subscription", err)
	}
	if res.DeletedCount == 0 {
		return translate("delete subscription", mongo.ErrNoDocuments)
	}
	return st.deleteDeliveriesOf(ctx, id)
}

func (st *WebhookStore) deleteDeliveriesOf(ctx context.Context, subscriptionID string) error {
	filter := bson.D{{Key: "subscription_id", Value: subscriptionID}}
	for _, c := range []*collection{st.dels, st.attempts, st.leases} {
		if _, err := c.DeleteMany(ctx, filter); err != nil {
			return translate("delete deliveries", err)
		}
	}
	return nil
}

// ListSubscriptions returns a client's subscriptions, oldest first (ties by
// id).
func (st *WebhookStore) ListSubscriptions(ctx context.Context, clientID string) ([]domain.Subscription, error) {
	return st.listSubscriptions(ctx, "list subscriptions", bson.D{{Key: "client_id", Value: clientID}}, true)
}

// ListActiveSubscriptions returns the enabled subscriptions to eventType,
// oldest first (ties by id), secrets left empty.
func (st *WebhookStore) ListActiveSubscriptions(ctx context.Context, eventType string) ([]domain.Subscription, error) {
	return st.listSubscriptions(ctx, "list active subscriptions",
		bson.D{{Key: "disabled", Value: false}, {Key: "events", Value: eventType}}, false)
}

func (st *WebhookStore) listSubscriptions(ctx context.Context, op string, filter bson.D, withSecret bool) ([]domain.Subscription, error) {
	cur, err := st.subs.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []subscriptionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	out := make([]domain.Subscription, 0, len(docs))
	for _, d := range docs {
		s, err := st.subscription(d, withSecret)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// existingSubscriptions returns which of ids are stored, enabled or not.
func (st *WebhookStore) existingSubscriptions(ctx context.Context, ids []string) (map[string]bool, error) {
	docs, err := st.subscriptionsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(docs))
	for id := range docs {
		out[id] = true
	}
	return out, nil
}

func (st *WebhookStore) subscriptionsByID(ctx context.Context, ids []string) (map[string]subscriptionDoc, error) {
	cur, err := st.subs.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, translate("read subscriptions", err)
	}
	var docs []subscriptionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("read subscriptions", err)
	}
	out := make(map[string]subscriptionDoc, len(docs))
	for _, d := range docs {
		out[d.ID] = d
	}
	return out, nil
}
