package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// webhookStores are the three webhook stores on one pool, sealing under key.
type webhookStores struct {
	outbox *postgres.EventOutbox
	subs   *postgres.SubscriptionStore
	dels   *postgres.DeliveryStore
}

func newWebhookStores(t *testing.T, pool *pgxpool.Pool, key []byte) webhookStores {
	t.Helper()
	subs, err := postgres.NewSubscriptionStore(pool, key)
	require.NoError(t, err)
	dels, err := postgres.NewDeliveryStore(pool, key)
	require.NoError(t, err)
	return webhookStores{outbox: postgres.NewEventOutbox(pool), subs: subs, dels: dels}
}

// suiteStores gives each subtest a fresh schema: the suites want stores
// holding no events.
func suiteStores(t *testing.T) testsuite.WebhookStores {
	s := newWebhookStores(t, newPool(t), randomKey())
	return testsuite.WebhookStores{Events: s.outbox, Subscriptions: s.subs, Deliveries: s.dels}
}

func TestSubscriptionStore(t *testing.T) {
	t.Parallel()
	testsuite.RunSubscriptionStore(t, suiteStores)
}

func TestDeliveryStore(t *testing.T) {
	t.Parallel()
	testsuite.RunDeliveryStore(t, suiteStores)
}

func TestDeliveryStoreConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunDeliveryStoreConcurrency(t, suiteStores)
}

var webhookNow = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

func createTestSubscription(t *testing.T, s webhookStores, secret string) domain.Subscription {
	t.Helper()
	sub := domain.Subscription{
		ID: "whs_" + randomID(), ClientID: "cli_" + randomID(), URL: "https://hooks.example.com/x",
		Events: []string{domain.EventUserCreated}, Secret: secret, CreatedAt: webhookNow, UpdatedAt: webhookNow,
	}
	require.NoError(t, s.subs.CreateSubscription(context.Background(), sub))
	return sub
}

// Four dispatchers racing over 200 events pass each to exactly one plan,
// and store exactly one delivery per event.
func TestDispatchEventsConcurrentlyDispatchesEachEventOnce(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := newWebhookStores(t, pool, randomKey())
	sub := createTestSubscription(t, s, "whsec_x")
	const events, dispatchers = 200, 4
	batch := make([]domain.Event, events)
	for i := range batch {
		batch[i] = domain.Event{ID: fmt.Sprintf("evt_%03d", i), Type: domain.EventUserCreated, OccurredAt: webhookNow}
	}
	require.NoError(t, s.outbox.Publish(context.Background(), batch...))

	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		total int
		wg    sync.WaitGroup
	)
	start := make(chan struct{})
	for range dispatchers {
		wg.Go(func() {
			<-start
			for {
				n, err := s.dels.DispatchEvents(context.Background(), 9, func(es []domain.Event) ([]domain.Delivery, error) {
					out := make([]domain.Delivery, len(es))
					mu.Lock()
					defer mu.Unlock()
					for i, e := range es {
						seen[e.ID]++
						out[i] = domain.Delivery{ID: "dlv_" + e.ID, SubscriptionID: sub.ID, EventID: e.ID,
							EventType: e.Type, State: domain.DeliveryPending, NextAttemptAt: webhookNow, CreatedAt: webhookNow}
					}
					return out, nil
				})
				if !assert.NoError(t, err) || n == 0 {
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()

	assert.Equal(t, events, total)
	assert.Len(t, seen, events)
	for id, n := range seen {
		assert.Equal(t, 1, n, "event %s passed to one plan", id)
	}
	var deliveries, undispatched int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries`).Scan(&deliveries))
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE NOT dispatched`).Scan(&undispatched))
	assert.Equal(t, events, deliveries)
	assert.Zero(t, undispatched)
}

// Claimers racing round after round never share a delivery, and together
// take every one.
func TestClaimDeliveriesGivesEachDeliveryToOneClaimer(t *testing.T) {
	t.Parallel()
	s := newWebhookStores(t, newPool(t), randomKey())
	sub := createTestSubscription(t, s, "whsec_x")
	const deliveries, claimers = 120, 8
	for i := range deliveries {
		require.NoError(t, s.dels.CreateDelivery(context.Background(), domain.Delivery{
			ID: fmt.Sprintf("dlv_%03d", i), SubscriptionID: sub.ID, EventID: "e", EventType: domain.EventUserCreated,
			State: domain.DeliveryPending, NextAttemptAt: webhookNow.Add(-time.Duration(i) * time.Second), CreatedAt: webhookNow,
		}))
	}
	var (
		mu     sync.Mutex
		claims = map[string]int{}
		wg     sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range claimers {
		wg.Go(func() {
			<-start
			for {
				got, err := s.dels.ClaimDeliveries(context.Background(), webhookNow, webhookNow.Add(time.Minute), 1+i%4)
				if !assert.NoError(t, err) || len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					claims[c.Delivery.ID]++
					assert.Equal(t, "whsec_x", c.Subscription.Secret)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Len(t, claims, deliveries, "every delivery claimed")
	for id, n := range claims {
		assert.Equal(t, 1, n, "delivery %s claimed once", id)
	}
}

// The secret is sealed: the column never holds it, a sealed secret does
// not open on another row or under another key, and it is sealed anew on
// each write.
func TestWebhookSecretIsSealedAtRest(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	key := randomKey()
	s := newWebhookStores(t, pool, key)
	const secret = "whsec_dGhpcyBpcyB0aGUgcGxhaW50ZXh0IHNlY3JldA=="
	sub := createTestSubscription(t, s, secret)
	other := createTestSubscription(t, s, "whsec_other")

	stored := func(id string) []byte {
		var b []byte
		require.NoError(t, pool.QueryRow(ctx, `SELECT secret FROM webhook_subscriptions WHERE id = $1`, id).Scan(&b))
		return b
	}
	sealed := stored(sub.ID)
	assert.False(t, bytes.Contains(sealed, []byte(secret)), "the plaintext is not stored")
	assert.False(t, bytes.Contains(sealed, []byte("dGhpcyBpcyB0aGUgcGxhaW50ZXh0IHNlY3JldA")), "nor its key part")
	got, err := s.subs.GetSubscription(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, secret, got.Secret)

	_, err = s.subs.UpdateSubscription(ctx, sub.ID, func(*domain.Subscription) error { return nil })
	require.NoError(t, err)
	assert.NotEqual(t, sealed, stored(sub.ID), "a fresh nonce on each write")

	wrongKey := newWebhookStores(t, pool, randomKey())
	_, err = wrongKey.subs.GetSubscription(ctx, sub.ID)
	require.ErrorIs(t, err, postgres.ErrSecretDecryption)

	_, err = pool.Exec(ctx, `UPDATE webhook_subscriptions SET secret = $1 WHERE id = $2`, stored(sub.ID), other.ID)
	require.NoError(t, err)
	_, err = s.subs.GetSubscription(ctx, other.ID)
	require.ErrorIs(t, err, postgres.ErrSecretDecryption, "a sealed secret is bound to its row")

	_, err = postgres.NewSubscriptionStore(pool, []byte("short"))
	require.Error(t, err)
	_, err = postgres.NewDeliveryStore(pool, nil)
	require.Error(t, err)
}

// An event's audience comes back as published: lists in order, nil as nil
// and empty as empty.
func TestEventOutboxAudienceRoundTrips(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	want := []domain.Event{
		{ID: "evt_1", Type: domain.EventUserCreated, Audience: domain.Audience{
			OrganizationIDs: []string{"org_b", "org_a", `org "q" ,{}`}, LicenseClientIDs: []string{"cli_z", "cli_a"}}},
		{ID: "evt_2", Type: domain.EventUserDeleted},
		{ID: "evt_3", Type: domain.EventUserDeleted, Audience: domain.Audience{
			OrganizationIDs: []string{}, LicenseClientIDs: []string{"cli_only"}}},
	}
	require.NoError(t, o.Publish(context.Background(), want...))
	assert.Equal(t, want, events(t, o))
}

// Recording attempts never deadlocks with deleting the subscription: each
// record either lands or finds the delivery gone.
func TestRecordAttemptRacesDeleteSubscription(t *testing.T) {
	t.Parallel()
	s := newWebhookStores(t, newPool(t), randomKey())
	ctx := context.Background()
	for range 10 {
		sub := createTestSubscription(t, s, "whsec_x")
		var ids []string
		for i := range 8 {
			d := domain.Delivery{ID: fmt.Sprintf("dlv_%s_%d", sub.ID, i), SubscriptionID: sub.ID, EventID: "e",
				EventType: domain.EventUserCreated, State: domain.DeliveryPending, NextAttemptAt: webhookNow, CreatedAt: webhookNow}
			require.NoError(t, s.dels.CreateDelivery(ctx, d))
			ids = append(ids, d.ID)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, id := range ids {
			wg.Go(func() {
				<-start
				_, err := s.dels.RecordAttempt(ctx, domain.Attempt{DeliveryID: id, Number: 1, At: webhookNow, StatusCode: 500},
					domain.AttemptOutcome{State: domain.DeliveryFailed, DisableAfter: 3})
				if err != nil {
					assert.ErrorIs(t, err, domain.ErrNotFound)
				}
			})
		}
		wg.Go(func() {
			<-start
			assert.NoError(t, s.subs.DeleteSubscription(ctx, sub.ID))
		})
		close(start)
		wg.Wait()
	}
}

// Events stored before 00003 predate every subscription and carry no
// audience: the migration marks them dispatched, and later events are not.
func TestMigrationMarksOlderEventsDispatched(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx := context.Background()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 2))
	o := postgres.NewEventOutbox(pool)
	_, err := pool.Exec(ctx, `INSERT INTO events (id, type, user_id, organization_id, data)
		VALUES ('evt_old', 'user.created', '', '', '[]')`)
	require.NoError(t, err)

	require.NoError(t, postgres.Migrate(ctx, pool))
	require.NoError(t, o.Publish(ctx, domain.Event{ID: "evt_new", Type: domain.EventUserCreated}))
	s := newWebhookStores(t, pool, randomKey())
	var seen []string
	n, err := s.dels.DispatchEvents(ctx, 10, func(es []domain.Event) ([]domain.Delivery, error) {
		for _, e := range es {
			seen = append(seen, e.ID)
		}
		return nil, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{"evt_new"}, seen)
}

// The module provides both webhook ports, sealing with its key-encryption
// key: what one store writes, a store made with the same key reads.
func TestModuleProvidesTheWebhookStores(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	var schema string
	require.NoError(t, pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema))
	u, err := url.Parse(os.Getenv("CALIMATIC_TEST_POSTGRES_DSN"))
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	key := randomKey()
	var subs ports.SubscriptionStore
	var dels ports.DeliveryStore
	app := fx.New(
		fx.NopLogger,
		postgres.Module(postgres.Options{DSN: u.String(), KeyEncryptionKey: key}),
		fx.Supply(fx.Annotate(fixedClock{webhookNow}, fx.As(new(ports.Clock)))),
		fx.Populate(&subs, &dels),
	)
	require.NoError(t, app.Err())
	require.NoError(t, app.Start(ctx))
	t.Cleanup(func() { _ = app.Stop(context.Background()) })

	sub := domain.Subscription{ID: "whs_m", ClientID: "cli_m", Secret: "whsec_m", CreatedAt: webhookNow}
	require.NoError(t, subs.CreateSubscription(ctx, sub))
	require.NoError(t, dels.CreateDelivery(ctx, domain.Delivery{ID: "dlv_m", SubscriptionID: sub.ID,
		State: domain.DeliveryPending, NextAttemptAt: webhookNow, CreatedAt: webhookNow}))
	got, err := newWebhookStores(t, pool, key).subs.GetSubscription(ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, "whsec_m", got.Secret)
}
