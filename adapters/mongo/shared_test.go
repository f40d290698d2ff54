package mongo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func randomKEK(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, mongoadapter.KeyEncryptionKeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func TestKeyStore(t *testing.T) {
	t.Parallel()
	testsuite.RunKeyStore(t, func(t *testing.T) ports.KeyStore {
		s, err := mongoadapter.NewKeyStore(testDB(t), randomKEK(t))
		require.NoError(t, err)
		return s
	})
}

func TestKeyStoreRefusesAnotherKEK(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	s, err := mongoadapter.NewKeyStore(db, randomKEK(t))
	require.NoError(t, err)
	require.NoError(t, s.ReplaceKeys(context.Background(), nil, []domain.KeyRecord{
		{KID: "kid-a", Algorithm: domain.AlgES256, State: domain.KeyNext, Private: []byte("der")},
	}))
	other, err := mongoadapter.NewKeyStore(db, randomKEK(t))
	require.NoError(t, err)
	_, err = other.ListKeys(context.Background())
	require.ErrorIs(t, err, mongoadapter.ErrKeyDecryption)
}

func TestKeyStoreRefusesAShortKEK(t *testing.T) {
	_, err := mongoadapter.NewKeyStore(nil, make([]byte, 16))
	require.Error(t, err)
	_, err = mongoadapter.NewWebhookStore(nil, make([]byte, 16))
	require.Error(t, err)
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	testsuite.RunRateLimiter(t, func(t *testing.T) ports.RateLimiter {
		return mongoadapter.NewRateLimiter(testDB(t))
	})
}

func TestRateLimiterConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunRateLimiterConcurrency(t, func(t *testing.T) ports.RateLimiter {
		return mongoadapter.NewRateLimiter(testDB(t))
	})
}

func TestRateLimiterSweepDeletesOnlyEndedWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	l := mongoadapter.NewRateLimiter(db)
	rule := domain.RateRule{Name: "token", Limit: 2, Window: time.Minute}
	start := time.Date(2031, time.March, 14, 15, 9, 0, 0, time.UTC)
	for range 2 {
		_, err := l.Allow(ctx, "client-a", rule, start)
		require.NoError(t, err)
	}
	_, err := l.Allow(ctx, "client-a", rule, start.Add(rule.Window))
	require.NoError(t, err)

	n, err := l.Sweep(ctx, start.Add(rule.Window))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the two slots of the ended window")
	left, err := db.Collection("rate_limit_slots").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), left, "the running window keeps its slot")
	d, err := l.Allow(ctx, "client-a", rule, start.Add(rule.Window))
	require.NoError(t, err)
	assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 2, Remaining: 0}, d, "the running window's count survives")
}

func TestReplayCache(t *testing.T) {
	t.Parallel()
	c := mongoadapter.NewReplayCache(testDB(t))
	testsuite.RunReplayCache(t, func(*testing.T) ports.ReplayCache { return c })
}

func TestReplayCacheConcurrency(t *testing.T) {
	t.Parallel()
	c := mongoadapter.NewReplayCache(testDB(t))
	testsuite.RunReplayCacheConcurrency(t, func(*testing.T) ports.ReplayCache { return c })
}

func TestEventPublisher(t *testing.T) {
	t.Parallel()
	testsuite.RunEventPublisher(t, func(t *testing.T) (ports.EventPublisher, func() []domain.Event) {
		o := mongoadapter.NewEventOutbox(testDB(t))
		return o, func() []domain.Event {
			events, err := o.Events(context.Background())
			require.NoError(t, err)
			return events
		}
	})
}

// webhookStores are the outbox and the webhook store on one fresh database.
func webhookStores(t *testing.T) testsuite.WebhookStores {
	db := testDB(t)
	s, err := mongoadapter.NewWebhookStore(db, randomKEK(t))
	require.NoError(t, err)
	return testsuite.WebhookStores{Events: mongoadapter.NewEventOutbox(db), Subscriptions: s, Deliveries: s}
}

func TestSubscriptionSecretIsSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	kek := randomKEK(t)
	s, err := mongoadapter.NewWebhookStore(db, kek)
	require.NoError(t, err)
	sub := domain.Subscription{ID: "whs_sealed", ClientID: "cli_a", URL: "https://hooks.example.com", Secret: "whsec_c2VjcmV0c2VjcmV0"}
	require.NoError(t, s.CreateSubscription(ctx, sub))

	raw, err := db.Collection("webhook_subscriptions").FindOne(ctx, bson.D{{Key: "_id", Value: sub.ID}}).Raw()
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(sub.Secret)), "the secret is not stored in clear")

	other, err := mongoadapter.NewWebhookStore(db, randomKEK(t))
	require.NoError(t, err)
	_, err = other.GetSubscription(ctx, sub.ID)
	require.ErrorIs(t, err, mongoadapter.ErrSecretDecryption)
	got, err := s.GetSubscription(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, sub.Secret, got.Secret)
}

func TestSubscriptionStore(t *testing.T) {
	t.Parallel()
	testsuite.RunSubscriptionStore(t, webhookStores)
}

func TestDeliveryStore(t *testing.T) {
	t.Parallel()
	testsuite.RunDeliveryStore(t, webhookStores)
}

func TestDeliveryStoreConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunDeliveryStoreConcurrency(t, webhookStores)
}

func TestUnitOfWork(t *testing.T) {
	t.Parallel()
	testsuite.RunUnitOfWork(t, func(t *testing.T) testsuite.UnitStores {
		db := testDB(t)
		o := mongoadapter.NewEventOutbox(db)
		return testsuite.UnitStores{
			Units: mongoadapter.NewUnits(db, nil), Users: mongoadapter.NewUserStore(db), Orgs: mongoadapter.NewOrganizationStore(db),
			Grants: mongoadapter.NewClientGrantStore(db), Events: o, Undoes: true,
			Stored: func() []domain.Event {
				events, err := o.Events(context.Background())
				require.NoError(t, err)
				return events
			},
		}
	})
}
