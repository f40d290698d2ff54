package mongo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestGrantStore(t *testing.T) {
	s := mongoadapter.NewGrantStore(testDB(t))
	testsuite.RunGrantStore(t, func(*testing.T) ports.GrantStore { return s })
}

func TestGrantStoreConcurrency(t *testing.T) {
	s := mongoadapter.NewGrantStore(testDB(t))
	testsuite.RunGrantStoreConcurrency(t, func(*testing.T) ports.GrantStore { return s })
}

func TestSessionStore(t *testing.T) {
	s := mongoadapter.NewSessionStore(testDB(t))
	testsuite.RunSessionStore(t, func(*testing.T) ports.SessionStore { return s })
}

func TestAuthRequestStore(t *testing.T) {
	s := mongoadapter.NewAuthRequestStore(testDB(t))
	testsuite.RunAuthRequestStore(t, func(*testing.T) ports.AuthRequestStore { return s })
}

func TestDeviceGrantStore(t *testing.T) {
	s := mongoadapter.NewDeviceGrantStore(testDB(t))
	testsuite.RunDeviceGrantStore(t, func(*testing.T) ports.DeviceGrantStore { return s })
}

func TestDeviceGrantStoreConcurrency(t *testing.T) {
	s := mongoadapter.NewDeviceGrantStore(testDB(t))
	testsuite.RunDeviceGrantStoreConcurrency(t, func(*testing.T) ports.DeviceGrantStore { return s })
}

// TestSweepDeviceGrants checks that the janitor takes an expired grant's
// versions and its user code together, and leaves a live grant whole.
func TestSweepDeviceGrants(t *testing.T) {
	db := testDB(t)
	s := mongoadapter.NewDeviceGrantStore(db)
	ctx := t.Context()
	expired, live := sweepT0.Add(time.Minute), sweepT0.Add(time.Hour)
	for i, exp := range []time.Time{expired, live} {
		g := domain.DeviceGrant{
			DeviceCodeHash: sweepHash('d', i), UserCodeHash: sweepHash('u', i), ClientID: "c",
			Status: domain.DevicePending, Interval: 5 * time.Second, CreatedAt: sweepT0, ExpiresAt: exp,
		}
		require.NoError(t, s.CreateDeviceGrant(ctx, g))
		_, err := s.UpdateDeviceGrant(ctx, g.DeviceCodeHash, func(g *domain.DeviceGrant) error {
			g.Poll(sweepT0)
			return nil
		})
		require.NoError(t, err)
	}
	n, err := mongoadapter.Sweep(ctx, db, expired.Add(mongoadapter.ExpiredDocLagForTest+time.Second), 0)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "two versions and the user code of the expired grant")
	assert.Equal(t, int64(2), countDocs(t, db, "device_grants"), "the live grant's versions")
	assert.Equal(t, int64(1), countDocs(t, db, "device_user_codes"))
	_, err = s.GetDeviceGrantByUserCode(ctx, sweepHash('u', 1), sweepT0)
	require.NoError(t, err, "the live grant is still found by its user code")
}

var sweepT0 = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

func sweepHash(prefix byte, i int) []byte { return []byte{prefix, byte(i >> 8), byte(i)} }

func countDocs(t *testing.T, db *mongo.Database, collection string) int64 {
	t.Helper()
	n, err := db.Collection(collection).CountDocuments(t.Context(), bson.D{})
	require.NoError(t, err)
	return n
}

// drain calls sweep until it deletes nothing, checking that no call deletes
// more than batch documents per collection, and returns the total.
func drain(t *testing.T, sweep func() (int, error), maxPerCall int) int {
	t.Helper()
	total := 0
	for range 100 {
		n, err := sweep()
		require.NoError(t, err)
		require.LessOrEqual(t, n, maxPerCall, "one call deletes at most a batch per collection")
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the sweep never finished")
	return total
}

func TestSweepGrants(t *testing.T) {
	db := testDB(t)
	s := mongoadapter.NewGrantStore(db)
	ctx := t.Context()
	expired, live := sweepT0.Add(time.Minute), sweepT0.Add(time.Hour)
	now := expired.Add(mongoadapter.ExpiredDocLagForTest + time.Second)

	// Five expired codes, two of them redeemed, and one live redeemed code.
	for i := range 5 {
		c := domain.AuthCode{Hash: sweepHash('c', i), GrantID: "g", CreatedAt: sweepT0, ExpiresAt: expired}
		require.NoError(t, s.CreateAuthCode(ctx, c))
		if i < 2 {
			_, err := s.RedeemAuthCode(ctx, c.Hash, c.ClientID, sweepT0)
			require.NoError(t, err)
		}
	}
	liveCode := domain.AuthCode{Hash: sweepHash('c', 99), GrantID: "g", CreatedAt: sweepT0, ExpiresAt: live}
	require.NoError(t, s.CreateAuthCode(ctx, liveCode))
	_, err := s.RedeemAuthCode(ctx, liveCode.Hash, liveCode.ClientID, sweepT0)
	require.NoError(t, err)

	// An expired family with a spent token and its successor, and a live
	// revoked family, which is kept so that its tokens stay recognised.
	oldFam := domain.RefreshFamily{ID: "old", UserID: "u", CreatedAt: sweepT0, ExpiresAt: expired}
	require.NoError(t, s.CreateRefreshFamily(ctx, oldFam, domain.RefreshToken{Hash: sweepHash('t', 1), CreatedAt: sweepT0}))
	_, outcome, err := s.RotateRefreshToken(ctx, sweepHash('t', 1), domain.RefreshToken{Hash: sweepHash('t', 2), CreatedAt: sweepT0}, sweepT0, 0)
	require.NoError(t, err)
	require.Equal(t, domain.Rotated, outcome)
	liveFam := domain.RefreshFamily{ID: "live", UserID: "u", CreatedAt: sweepT0, ExpiresAt: live}
	require.NoError(t, s.CreateRefreshFamily(ctx, liveFam, domain.RefreshToken{Hash: sweepHash('t', 3), CreatedAt: sweepT0}))
	require.NoError(t, s.RevokeRefreshFamily(ctx, liveFam.ID, sweepT0))

	// Revocations: one of each expired, one of each live.
	require.NoError(t, s.RevokeAccessToken(ctx, "jti-old", expired))
	require.NoError(t, s.RevokeAccessToken(ctx, "jti-live", live))
	require.NoError(t, s.RevokeGrant(ctx, "grant-old", expired))
	require.NoError(t, s.RevokeGrant(ctx, "grant-live", live))

	// A consent never expires.
	require.NoError(t, s.PutConsent(ctx, domain.Consent{UserID: "u", ClientID: "c", Scopes: []string{"openid"}, CreatedAt: sweepT0}))

	t.Run("nothing goes before its expiry plus the lag", func(t *testing.T) {
		n, err := mongoadapter.SweepGrantsForTest(ctx, db, expired.Add(mongoadapter.ExpiredDocLagForTest), 100)
		require.NoError(t, err)
		assert.Zero(t, n)
	})

	const batch = 2
	deleted := drain(t, func() (int, error) { return mongoadapter.SweepGrantsForTest(ctx, db, now, batch) }, 7*batch)
	// 5 codes + 2 redemptions + 2 tokens + 1 rotation + 1 family + 2 revocations.
	assert.Equal(t, 13, deleted)

	for _, tc := range []struct {
		collection string
		want       int64
	}{
		{"auth_codes", 1}, {"auth_code_redemptions", 1},
		{"refresh_families", 1}, {"refresh_tokens", 1}, {"refresh_rotations", 0},
		{"revoked_access_tokens", 1}, {"revoked_grants", 1}, {"consents", 1},
	} {
		assert.Equal(t, tc.want, countDocs(t, db, tc.collection), "documents left in %s", tc.collection)
	}
	_, err = s.RedeemAuthCode(ctx, liveCode.Hash, liveCode.ClientID, now)
	require.ErrorIs(t, err, domain.ErrAlreadyUsed, "a live redeemed code is kept with its redemption")
	_, fam, err := s.GetRefreshToken(ctx, sweepHash('t', 3))
	require.NoError(t, err, "a live revoked family keeps its tokens")
	assert.False(t, fam.RevokedAt.IsZero())
	_, err = s.GetRefreshFamily(ctx, oldFam.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the expired family is gone")
	revoked, err := s.IsRevoked(ctx, "jti-live", "grant-live")
	require.NoError(t, err)
	assert.True(t, revoked, "live revocations are kept")
	revoked, err = s.IsRevoked(ctx, "jti-old", "grant-old")
	require.NoError(t, err)
	assert.False(t, revoked, "expired revocations are gone")
	_, err = s.GetConsent(ctx, "u", "c")
	require.NoError(t, err, "consents are never swept")
}

func TestSweepSessions(t *testing.T) {
	db := testDB(t)
	s := mongoadapter.NewSessionStore(db)
	ctx := t.Context()
	expired, live := sweepT0.Add(time.Minute), sweepT0.Add(time.Hour)
	now := expired.Add(mongoadapter.ExpiredDocLagForTest + time.Second)
	for i := range 5 {
		require.NoError(t, s.CreateSession(ctx, domain.Session{Hash: sweepHash('s', i), SID: fmt.Sprint("sid-", i), UserID: "u", CreatedAt: sweepT0, LastSeen: sweepT0, ExpiresAt: expired}))
	}
	kept := domain.Session{Hash: sweepHash('s', 99), SID: "sid-99", UserID: "u", CreatedAt: sweepT0, LastSeen: sweepT0, ExpiresAt: live}
	require.NoError(t, s.CreateSession(ctx, kept))

	deleted := drain(t, func() (int, error) { return mongoadapter.SweepSessionsForTest(ctx, db, now, 2) }, 2)
	assert.Equal(t, 5, deleted)
	assert.Equal(t, int64(1), countDocs(t, db, "sessions"))
	_, err := s.GetSession(ctx, kept.Hash, now)
	require.NoError(t, err, "the live session is kept")
}

func TestSweepAuthRequests(t *testing.T) {
	db := testDB(t)
	s := mongoadapter.NewAuthRequestStore(db)
	ctx := t.Context()
	expired, live := sweepT0.Add(time.Minute), sweepT0.Add(time.Hour)
	now := expired.Add(mongoadapter.ExpiredDocLagForTest + time.Second)
	bump := func(r *domain.AuthRequest) error { r.FailedLogins++; return nil }

	// An expired request with two updates and a deleted one: 3 + 2 versions.
	for i, del := range []bool{false, true} {
		r := domain.AuthRequest{ID: string(rune('a' + i)), CreatedAt: sweepT0, ExpiresAt: expired}
		require.NoError(t, s.CreateAuthRequest(ctx, r))
		if del {
			ok, err := s.DeleteAuthRequest(ctx, r.ID)
			require.NoError(t, err)
			require.True(t, ok)
			continue
		}
		for range 2 {
			_, err := s.UpdateAuthRequest(ctx, r.ID, sweepT0, bump)
			require.NoError(t, err)
		}
	}
	kept := domain.AuthRequest{ID: "live", CreatedAt: sweepT0, ExpiresAt: live}
	require.NoError(t, s.CreateAuthRequest(ctx, kept))
	_, err := s.UpdateAuthRequest(ctx, kept.ID, sweepT0, bump)
	require.NoError(t, err)

	deleted := drain(t, func() (int, error) { return mongoadapter.SweepAuthRequestsForTest(ctx, db, now, 2) }, 2)
	assert.Equal(t, 5, deleted)
	assert.Equal(t, int64(2), countDocs(t, db, "auth_requests"), "the live request keeps its versions")
	got, err := s.GetAuthRequest(ctx, kept.ID, sweepT0)
	require.NoError(t, err)
	assert.Equal(t, 1, got.FailedLogins, "the live request reads as its newest version")
}
