package memory

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// These tests look inside the stores on purpose: bounded growth is a promise
// of this adapter, not of the ports, so the conformance suites cannot see it.

var t0 = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// later is far enough past t0 that anything that expired by t0+2m is swept.
var later = t0.Add(2*time.Minute + sweepLag)

func hashOf(i int) []byte { return []byte(fmt.Sprintf("hash-%06d", i)) }

func TestExpiryQueue(t *testing.T) {
	q := newExpiryQueue[string]()
	q.set("a", t0.Add(3*time.Second))
	q.set("b", t0.Add(1*time.Second))
	q.set("c", t0.Add(2*time.Second))
	q.set("b", t0.Add(5*time.Second)) // moved later
	q.remove("c")
	q.remove("missing")

	var dropped []string
	q.sweep(t0.Add(4*time.Second), func(k string) { dropped = append(dropped, k) })
	assert.Equal(t, []string{"a"}, dropped, "only what expired by the cutoff, in expiry order")
	at, ok := q.get("b")
	require.True(t, ok)
	assert.Equal(t, t0.Add(5*time.Second), at)
	assert.Equal(t, 1, q.len())
}

func TestExpiredCodesAreSwept(t *testing.T) {
	s := NewGrantStore()
	for i := range 1000 {
		require.NoError(t, s.CreateAuthCode(t.Context(), domain.AuthCode{Hash: hashOf(i), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	}
	for i := range 20 {
		require.NoError(t, s.CreateAuthCode(t.Context(), domain.AuthCode{Hash: hashOf(1000 + i), CreatedAt: later, ExpiresAt: later.Add(time.Minute)}))
	}
	assert.Len(t, s.authCodes.byHash, 20)
	assert.Equal(t, 20, s.authCodes.expiry.len())
}

func TestARecordOutlivesItsExpiryBySweepLag(t *testing.T) {
	s := NewGrantStore()
	require.NoError(t, s.CreateAuthCode(t.Context(), domain.AuthCode{Hash: hashOf(1), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	// Another request, stamped after the code expired, writes first…
	require.NoError(t, s.CreateAuthCode(t.Context(), domain.AuthCode{Hash: hashOf(2), CreatedAt: t0.Add(90 * time.Second), ExpiresAt: t0.Add(150 * time.Second)}))
	// …and the redemption stamped before expiry still finds its code.
	_, err := s.RedeemAuthCode(t.Context(), hashOf(1), "", t0.Add(59*time.Second))
	require.NoError(t, err)
}

func TestExpiredFamiliesAreSweptWithTheirTokens(t *testing.T) {
	s := NewGrantStore()
	for i := range 200 {
		f := domain.RefreshFamily{ID: fmt.Sprint("family-", i), UserID: "user", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		require.NoError(t, s.CreateRefreshFamily(t.Context(), f, domain.RefreshToken{Hash: hashOf(i), CreatedAt: t0}))
		_, _, err := s.RotateRefreshToken(t.Context(), hashOf(i), domain.RefreshToken{Hash: hashOf(1000 + i)}, t0, 0)
		require.NoError(t, err)
	}
	for range 10 {
		require.NoError(t, s.RevokeUserRefreshFamilies(t.Context(), "nobody", later))
	}
	r := s.refreshTokens
	assert.Empty(t, r.families)
	assert.Empty(t, r.tokens)
	assert.Empty(t, r.familyTokens)
	assert.Empty(t, r.userFamilies)
}

func TestExpiredRevocationsAreSweptOnceTheStoreSeesLaterTimes(t *testing.T) {
	s := NewGrantStore()
	for i := range 100 {
		require.NoError(t, s.RevokeAccessToken(t.Context(), fmt.Sprint("jti-", i), t0.Add(time.Hour)))
		require.NoError(t, s.RevokeGrant(t.Context(), fmt.Sprint("grant-", i), t0.Add(time.Hour)))
	}
	// Revocations carry no current time; a code redeemed later moves the horizon.
	_, err := s.RedeemAuthCode(t.Context(), hashOf(0), "", later.Add(time.Hour))
	require.ErrorIs(t, err, domain.ErrNotFound)
	for range 2 {
		require.NoError(t, s.RevokeAccessToken(t.Context(), "fresh", later.Add(2*time.Hour)))
	}
	assert.Equal(t, 1, s.revocations.jtis.len())
	assert.Equal(t, 0, s.revocations.grants.len())
}

func TestTouchingASessionDoesNotGrowTheQueue(t *testing.T) {
	s := NewSessionStore()
	require.NoError(t, s.CreateSession(t.Context(), domain.Session{Hash: hashOf(1), UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * time.Second)
		require.NoError(t, s.TouchSession(t.Context(), hashOf(1), now, now.Add(time.Hour)))
	}
	assert.Equal(t, 1, s.expiry.len())
}

func TestExpiredSessionsAreSwept(t *testing.T) {
	s := NewSessionStore()
	for i := range 500 {
		require.NoError(t, s.CreateSession(t.Context(), domain.Session{Hash: hashOf(i), SID: fmt.Sprint("sid-", i), UserID: fmt.Sprint("user-", i), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	}
	for i := range 10 {
		require.NoError(t, s.CreateSession(t.Context(), domain.Session{Hash: hashOf(1000 + i), SID: fmt.Sprint("fresh-", i), UserID: "fresh", CreatedAt: later, ExpiresAt: later.Add(time.Hour)}))
	}
	assert.Len(t, s.byHash, 10)
	assert.Len(t, s.bySID, 10)
	assert.Len(t, s.byUser, 1)
	assert.Equal(t, 10, s.expiry.len())
}

func TestExpiredAuthRequestsAreSwept(t *testing.T) {
	s := NewAuthRequestStore()
	for i := range 500 {
		require.NoError(t, s.CreateAuthRequest(t.Context(), domain.AuthRequest{ID: fmt.Sprint("old-", i), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	}
	for i := range 10 {
		require.NoError(t, s.CreateAuthRequest(t.Context(), domain.AuthRequest{ID: fmt.Sprint("new-", i), CreatedAt: later, ExpiresAt: later.Add(time.Minute)}))
	}
	assert.Len(t, s.requests, 10)
	assert.Equal(t, 10, s.expiry.len())
}

func TestPassedRateWindowsAreSwept(t *testing.T) {
	l := NewRateLimiter()
	rule := domain.RateRule{Name: "token", Limit: 5, Window: time.Minute}
	for i := range 1000 {
		_, err := l.Allow(t.Context(), fmt.Sprint("old-", i), rule, t0)
		require.NoError(t, err)
	}
	for i := range 20 {
		_, err := l.Allow(t.Context(), fmt.Sprint("new-", i), rule, later)
		require.NoError(t, err)
	}
	assert.Len(t, l.windows, 20)
	assert.Equal(t, 20, l.expiry.len())
}

func TestExpiredReplayRecordsAreSwept(t *testing.T) {
	c := NewReplayCache()
	for i := range 500 {
		_, err := c.Remember(t.Context(), fmt.Sprint("jti-", i), t0, t0.Add(time.Minute))
		require.NoError(t, err)
	}
	for i := range 10 {
		first, err := c.Remember(t.Context(), fmt.Sprint("fresh-", i), later, later.Add(time.Minute))
		require.NoError(t, err)
		require.True(t, first)
	}
	assert.Equal(t, 10, c.keys.len())
}

func TestAReplayRecordOutlivesItsExpiryBySweepLag(t *testing.T) {
	c := NewReplayCache()
	first, err := c.Remember(t.Context(), "jti", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, first)
	// A request stamped after the record expired arrives first…
	_, err = c.Remember(t.Context(), "other", t0.Add(90*time.Second), t0.Add(150*time.Second))
	require.NoError(t, err)
	// …and a replay stamped before the expiry is still refused.
	first, err = c.Remember(t.Context(), "jti", t0.Add(59*time.Second), t0.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, first)
}
