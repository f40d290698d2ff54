package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

var janitorNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Expiry times around janitorNow: long gone, gone but within the janitor's
// margin (kept), and live.
var (
	longExpired   = janitorNow.Add(-2 * time.Hour)
	withinMargin  = janitorNow.Add(-postgres.JanitorMargin / 2)
	stillLive     = janitorNow.Add(time.Hour)
	expiryClasses = []time.Time{longExpired, withinMargin, stillLive}
)

func randomBytes() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func randomID() string { return fmt.Sprintf("%x", randomBytes()[:12]) }

// fillJanitorTables writes, through the stores, perClass rows of each kind
// for each expiry class.
func fillJanitorTables(t *testing.T, pool *pgxpool.Pool, perClass int) {
	t.Helper()
	ctx := context.Background()
	grants := postgres.NewGrantStore(pool)
	sessions := postgres.NewSessionStore(pool)
	requests := postgres.NewAuthRequestStore(pool)
	limiter := postgres.NewRateLimiter(pool)
	actions := postgres.NewActionTokenStore(pool)
	replays := postgres.NewReplayCache(pool)
	devices := postgres.NewDeviceGrantStore(pool)
	created := janitorNow.Add(-3 * time.Hour)
	for _, exp := range expiryClasses {
		for range perClass {
			require.NoError(t, grants.CreateAuthCode(ctx, domain.AuthCode{
				Hash: randomBytes(), ClientID: "c", UserID: "u", RedirectURI: "https://rp/cb",
				GrantID: randomID(), CreatedAt: created, ExpiresAt: exp,
			}))
			require.NoError(t, sessions.CreateSession(ctx, domain.Session{
				Hash: randomBytes(), SID: randomID(), UserID: "u", AuthTime: created,
				CreatedAt: created, LastSeen: created, ExpiresAt: exp,
			}))
			require.NoError(t, requests.CreateAuthRequest(ctx, domain.AuthRequest{
				ID: randomID(), ClientID: "c", RedirectURI: "https://rp/cb", MaxAge: -1,
				CreatedAt: created, ExpiresAt: exp,
			}))
			require.NoError(t, devices.CreateDeviceGrant(ctx, domain.DeviceGrant{
				DeviceCodeHash: randomBytes(), UserCodeHash: randomBytes(), ClientID: "c",
				Status: domain.DevicePending, Interval: 5 * time.Second, CreatedAt: created, ExpiresAt: exp,
			}))
			require.NoError(t, grants.RevokeAccessToken(ctx, randomID(), exp))
			require.NoError(t, grants.RevokeGrant(ctx, randomID(), exp))

			// A family with two tokens: the first rotated, the second live.
			fam := domain.RefreshFamily{ID: randomID(), ClientID: "c", UserID: "u", CreatedAt: created, ExpiresAt: exp}
			first := domain.RefreshToken{Hash: randomBytes(), CreatedAt: created}
			require.NoError(t, grants.CreateRefreshFamily(ctx, fam, first))
			_, outcome, err := grants.RotateRefreshToken(ctx, first.Hash,
				domain.RefreshToken{Hash: randomBytes(), CreatedAt: created.Add(time.Minute)},
				created.Add(time.Minute), 0)
			require.NoError(t, err)
			require.Equal(t, domain.Rotated, outcome)

			// A one-second window that ends at exp (a whole second).
			rule := domain.RateRule{Name: "janitor", Limit: 10, Window: time.Second}
			_, err = limiter.Allow(ctx, randomID(), rule, exp.Add(-time.Second))
			require.NoError(t, err)

			require.NoError(t, actions.CreateActionToken(ctx, domain.ActionToken{
				Hash: randomBytes(), Purpose: domain.PurposeReset, UserID: "u", CreatedAt: created, ExpiresAt: exp,
			}))

			fresh, err := replays.Remember(ctx, "jti:"+randomID(), created, exp)
			require.NoError(t, err)
			require.True(t, fresh)
		}
	}
}

// countRows returns, per table, how many rows expire (by the janitor's
// column) before at, and how many there are in all.
func countRows(t *testing.T, pool *pgxpool.Pool, at time.Time) map[string][2]int {
	t.Helper()
	tables := map[string]string{
		"auth_codes": "expires_at", "sessions": "expires_at", "auth_requests": "expires_at",
		"device_grants":         "expires_at",
		"revoked_access_tokens": "expires_at", "revoked_grants": "expires_at",
		"refresh_families": "expires_at", "rate_limits": "window_end", "action_tokens": "expires_at",
		"replay_cache": "expires_at",
	}
	out := map[string][2]int{}
	for table, col := range tables {
		var before, all int
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT count(*) FILTER (WHERE `+col+` < $1), count(*) FROM `+table, at).Scan(&before, &all))
		out[table] = [2]int{before, all}
	}
	var tokens int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM refresh_tokens`).Scan(&tokens))
	out["refresh_tokens"] = [2]int{0, tokens}
	return out
}

func TestJanitorDeletesExactlyTheExpired(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	const perClass = 3
	fillJanitorTables(t, pool, perClass)

	before := countRows(t, pool, janitorNow.Add(-postgres.JanitorMargin))
	for table, c := range before {
		if table == "refresh_tokens" {
			assert.Equal(t, 2*perClass*len(expiryClasses), c[1], table)
			continue
		}
		assert.Equal(t, [2]int{perClass, perClass * len(expiryClasses)}, c, "%s before the sweep", table)
	}

	deleted, err := postgres.NewJanitor(pool).Sweep(context.Background(), janitorNow)
	require.NoError(t, err)
	// Ten tables; the family's two tokens go by cascade and are not counted.
	assert.Equal(t, 10*perClass, deleted)

	after := countRows(t, pool, janitorNow.Add(-postgres.JanitorMargin))
	for table, c := range after {
		if table == "refresh_tokens" {
			assert.Equal(t, 2*perClass*2, c[1], "a deleted family's tokens go with it; the others stay")
			continue
		}
		assert.Equal(t, [2]int{0, perClass * 2}, c, "%s after the sweep: no expired row, every other row", table)
	}

	// Live rows still work through the stores.
	var liveSession []byte
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT hash FROM sessions WHERE expires_at > $1 LIMIT 1`, janitorNow).Scan(&liveSession))
	_, err = postgres.NewSessionStore(pool).GetSession(context.Background(), liveSession, janitorNow)
	require.NoError(t, err)

	// A second sweep finds nothing.
	deleted, err = postgres.NewJanitor(pool).Sweep(context.Background(), janitorNow)
	require.NoError(t, err)
	assert.Zero(t, deleted)
}

func TestJanitorBatches(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	sessions := postgres.NewSessionStore(pool)
	const expired, live = 10, 2
	for i := range expired + live {
		exp := longExpired
		if i >= expired {
			exp = stillLive
		}
		require.NoError(t, sessions.CreateSession(ctx, domain.Session{
			Hash: randomBytes(), SID: randomID(), UserID: "u", ExpiresAt: exp,
		}))
	}
	count := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&n))
		return n
	}

	// Batches of 3 clear all 10 in four statements.
	deleted, err := postgres.NewJanitor(pool, postgres.WithJanitorBatch(3)).Sweep(ctx, janitorNow)
	require.NoError(t, err)
	assert.Equal(t, expired, deleted)
	assert.Equal(t, live, count())

	// With a cap of two batches of 3 per run, a run deletes 6 and the next
	// one the rest.
	for range expired {
		require.NoError(t, sessions.CreateSession(ctx, domain.Session{
			Hash: randomBytes(), SID: randomID(), UserID: "u", ExpiresAt: longExpired,
		}))
	}
	j := postgres.NewJanitor(pool, postgres.WithJanitorBatch(3), postgres.WithJanitorMaxBatches(2))
	deleted, err = j.Sweep(ctx, janitorNow)
	require.NoError(t, err)
	assert.Equal(t, 6, deleted)
	assert.Equal(t, live+expired-6, count())
	deleted, err = j.Sweep(ctx, janitorNow)
	require.NoError(t, err)
	assert.Equal(t, expired-6, deleted)
	assert.Equal(t, live, count())
}

// Every DELETE of the janitor finds its rows through an index. (On these
// empty tables the planner may pick the expiry index for the outer DELETE
// too; on a filled, analysed table it reaches the picked rows by tuple id.)
func TestJanitorUsesIndexes(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)
	for name, q := range postgres.SweepQueries() {
		t.Run(name, func(t *testing.T) {
			rows, err := conn.Query(ctx, `EXPLAIN `+q, janitorNow, 1000)
			require.NoError(t, err)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			plan := strings.Join(lines, "\n")
			assert.NotContains(t, plan, "Seq Scan", plan)
		})
	}
}

// The janitor deletes dispatched events and completed deliveries (with
// their attempts) once older than the retention, and nothing else: not an
// undispatched event, not a pending delivery however old, not a recent
// one.
func TestJanitorDeletesWebhookRowsPastRetention(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	const retention = 7 * 24 * time.Hour
	old, recent := janitorNow.Add(-retention-time.Hour), janitorNow.Add(-retention+time.Hour)
	s := newWebhookStores(t, pool, randomKey())
	sub := createTestSubscription(t, s, "whsec_x")

	// Dispatched: old and recent; then undispatched: old.
	require.NoError(t, s.outbox.Publish(ctx,
		domain.Event{ID: "evt_old", Type: domain.EventUserCreated, OccurredAt: old},
		domain.Event{ID: "evt_recent", Type: domain.EventUserCreated, OccurredAt: recent}))
	n, err := s.dels.DispatchEvents(ctx, 10, func([]domain.Event) ([]domain.Delivery, error) { return nil, nil })
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, s.outbox.Publish(ctx, domain.Event{ID: "evt_waiting", Type: domain.EventUserCreated, OccurredAt: old}))

	// Deliveries completed long ago (delivered and failed), recently, and
	// one pending since long ago; each has an attempt.
	deliveries := map[string]struct {
		state     domain.DeliveryState
		completed time.Time
	}{
		"dlv_delivered_old": {domain.DeliveryDelivered, old},
		"dlv_failed_old":    {domain.DeliveryFailed, old},
		"dlv_recent":        {domain.DeliveryDelivered, recent},
		"dlv_pending_old":   {domain.DeliveryPending, time.Time{}},
	}
	for id, d := range deliveries {
		require.NoError(t, s.dels.CreateDelivery(ctx, domain.Delivery{ID: id, SubscriptionID: sub.ID, EventID: "e",
			EventType: domain.EventUserCreated, State: domain.DeliveryPending, NextAttemptAt: old, CreatedAt: old}))
		at := d.completed
		if at.IsZero() {
			at = old
		}
		_, err := s.dels.RecordAttempt(ctx, domain.Attempt{DeliveryID: id, Number: 1, At: at, StatusCode: 500},
			domain.AttemptOutcome{State: d.state, NextAttemptAt: janitorNow.Add(time.Hour)})
		require.NoError(t, err)
	}

	deleted, err := postgres.NewJanitor(pool, postgres.WithWebhookRetention(retention)).Sweep(ctx, janitorNow)
	require.NoError(t, err)
	assert.Equal(t, 3, deleted, "one event and two deliveries")

	ids := func(q string) []string {
		rows, err := pool.Query(ctx, q)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	assert.ElementsMatch(t, []string{"evt_recent", "evt_waiting"}, ids(`SELECT id FROM events`))
	assert.ElementsMatch(t, []string{"dlv_recent", "dlv_pending_old"}, ids(`SELECT id FROM webhook_deliveries`))
	assert.ElementsMatch(t, []string{"dlv_recent", "dlv_pending_old"}, ids(`SELECT delivery_id FROM webhook_attempts`),
		"attempts go with their delivery")

	// The default retention (30 days) keeps all of these.
	deleted, err = postgres.NewJanitor(pool).Sweep(ctx, janitorNow)
	require.NoError(t, err)
	assert.Zero(t, deleted)
}
