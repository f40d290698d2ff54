package testsuite

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// graceWindow is the retry window the rotation checks use.
const graceWindow = 10 * time.Second

func refreshTokenTests() []subtest[ports.GrantStore] {
	return []subtest[ports.GrantStore]{
		{"a created family and its first token read back", familyReadsBack},
		{"a family created without a first token reads back, has no token, and is revoked with the user's others", familyWithoutToken},
		{"creating a family whose id is taken fails with ErrAlreadyExists", familyDuplicateID},
		{"creating a family whose first token's hash is taken fails with ErrAlreadyExists and stores no family", familyDuplicateToken},
		{"reading a missing family or token fails with ErrNotFound", familyMissing},
		{"rotating a live token spends it and stores the next in its family", refreshRotates},
		{"rotating a spent token within the grace window stores the next token", refreshRotatesInGrace},
		{"rotating a spent token after the grace window is a replay and stores nothing", refreshReplayed},
		{"without a grace window a spent token is a replay even at the instant it was spent", refreshNoGrace},
		{"rotating an unknown token fails with ErrNotFound", refreshUnknown},
		{"rotating a token of a revoked family fails with ErrNotFound and stores nothing", refreshRevokedFamily},
		{"rotating a token of an expired family fails with ErrNotFound and stores nothing", refreshExpiredFamily},
		{"revoking a family twice keeps the first time", familyRevokeTwice},
		{"revoking a missing family fails with ErrNotFound", familyRevokeMissing},
		{"revoking a user's families revokes each live one and no other user's", familyRevokeUser},
		{"revoking a user's families for a client revokes each live one and none of another client or user, and returns the ids it revoked", familyRevokeUserClient},
		{"a family's DPoP key thumbprint reads back with it, its tokens and each rotation", familyKeepsDPoPKey},
		{"a family without a DPoP key reads back unbound", familyUnbound},
	}
}

// sampleClaims is a claims parameter as the core stores it (OIDC Core
// §5.5), read back unchanged by every store that keeps one.
const sampleClaims = `{"userinfo":{"email":{"essential":true}},"id_token":{"name":null}}`

func sampleFamily(userID string) (domain.RefreshFamily, domain.RefreshToken) {
	f := domain.RefreshFamily{
		ID:        uuid.NewString(),
		ClientID:  uniqueID(domain.ClientIDPrefix),
		UserID:    userID,
		Scopes:    []string{domain.ScopeOpenID, domain.ScopeOfflineAccess},
		AuthTime:  epoch.Add(-time.Minute),
		SessionID: uuid.NewString(),
		AMR:       []string{"pwd"},
		Claims:    sampleClaims,
		CreatedAt: epoch,
		ExpiresAt: epoch.Add(30 * 24 * time.Hour),
	}
	return f, domain.RefreshToken{Hash: uniqueHash(), FamilyID: f.ID, CreatedAt: epoch}
}

func createFamily(t *testing.T, s ports.RefreshTokenStore, userID string) (domain.RefreshFamily, domain.RefreshToken) {
	t.Helper()
	f, first := sampleFamily(userID)
	require.NoError(t, s.CreateRefreshFamily(t.Context(), f, first))
	return f, first
}

// nextToken is a token to rotate to. FamilyID is left empty: the store sets it.
func nextToken(at time.Time) domain.RefreshToken {
	return domain.RefreshToken{Hash: uniqueHash(), CreatedAt: at}
}

// requireToken asserts that hash names a token of family f and returns it.
func requireToken(t *testing.T, s ports.RefreshTokenStore, hash []byte, f domain.RefreshFamily) domain.RefreshToken {
	t.Helper()
	tok, fam, err := s.GetRefreshToken(t.Context(), hash)
	require.NoError(t, err)
	require.Equal(t, f.ID, tok.FamilyID)
	require.Equal(t, f.ID, fam.ID)
	return tok
}

func requireNoToken(t *testing.T, s ports.RefreshTokenStore, hash []byte, msg string) {
	t.Helper()
	_, _, err := s.GetRefreshToken(t.Context(), hash)
	require.ErrorIs(t, err, domain.ErrNotFound, msg)
}

func familyReadsBack(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	got, err := s.GetRefreshFamily(t.Context(), f.ID)
	require.NoError(t, err)
	assertSame(t, f, got)
	tok, fam, err := s.GetRefreshToken(t.Context(), first.Hash)
	require.NoError(t, err)
	assertSame(t, first, tok)
	assertSame(t, f, fam)
}

// familyWithoutToken is the record of a grant whose client gets no
// refresh token: two of them for one user take no key from each other.
func familyWithoutToken(t *testing.T, s ports.GrantStore) {
	user := uuid.NewString()
	f, _ := sampleFamily(user)
	g, _ := sampleFamily(user)
	g.ClientID = f.ClientID
	for _, fam := range []domain.RefreshFamily{f, g} {
		require.NoError(t, s.CreateRefreshFamily(t.Context(), fam, domain.RefreshToken{}))
		got, err := s.GetRefreshFamily(t.Context(), fam.ID)
		require.NoError(t, err)
		assertSame(t, fam, got)
	}
	requireNoToken(t, s, nil, "no token has an empty hash")
	requireNoToken(t, s, []byte{}, "no token has an empty hash")
	ids, err := s.RevokeUserClientRefreshFamilies(t.Context(), user, f.ClientID, epoch.Add(time.Hour))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{f.ID, g.ID}, ids)
}

func familyDuplicateID(t *testing.T, s ports.GrantStore) {
	f, _ := createFamily(t, s, uuid.NewString())
	other, first := sampleFamily(f.UserID)
	other.ID, first.FamilyID = f.ID, f.ID
	require.ErrorIs(t, s.CreateRefreshFamily(t.Context(), other, first), domain.ErrAlreadyExists)
	requireNoToken(t, s, first.Hash, "the rejected family's token was not stored")
}

func familyDuplicateToken(t *testing.T, s ports.GrantStore) {
	_, first := createFamily(t, s, uuid.NewString())
	other, _ := sampleFamily(uuid.NewString())
	clash := domain.RefreshToken{Hash: first.Hash, FamilyID: other.ID, CreatedAt: epoch}
	require.ErrorIs(t, s.CreateRefreshFamily(t.Context(), other, clash), domain.ErrAlreadyExists)
	_, err := s.GetRefreshFamily(t.Context(), other.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the family was not stored without its token")
}

func familyMissing(t *testing.T, s ports.GrantStore) {
	_, err := s.GetRefreshFamily(t.Context(), uuid.NewString())
	require.ErrorIs(t, err, domain.ErrNotFound, "family")
	requireNoToken(t, s, uniqueHash(), "token")
}

func refreshRotates(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	now := epoch.Add(time.Hour)
	next := nextToken(now)
	fam, outcome, err := s.RotateRefreshToken(t.Context(), first.Hash, next, now, graceWindow)
	require.NoError(t, err)
	assert.Equal(t, domain.Rotated, outcome)
	assertSame(t, f, fam, "the family is returned")

	spent := requireToken(t, s, first.Hash, f)
	assert.True(t, now.Equal(spent.RotatedAt), "the old token is spent at now, got %v", spent.RotatedAt)
	live := requireToken(t, s, next.Hash, f)
	assert.True(t, live.RotatedAt.IsZero(), "the next token is live")
}

func refreshRotatesInGrace(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	now := epoch.Add(time.Hour)
	_, _, err := s.RotateRefreshToken(t.Context(), first.Hash, nextToken(now), now, graceWindow)
	require.NoError(t, err)

	retry := nextToken(now.Add(graceWindow))
	fam, outcome, err := s.RotateRefreshToken(t.Context(), first.Hash, retry, now.Add(graceWindow), graceWindow)
	require.NoError(t, err)
	assert.Equal(t, domain.RotatedInGrace, outcome, "a retry at the end of the window")
	assert.Equal(t, f.ID, fam.ID)
	requireToken(t, s, retry.Hash, f)
}

func refreshReplayed(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	now := epoch.Add(time.Hour)
	_, _, err := s.RotateRefreshToken(t.Context(), first.Hash, nextToken(now), now, graceWindow)
	require.NoError(t, err)

	late := now.Add(graceWindow + time.Second)
	replay := nextToken(late)
	fam, outcome, err := s.RotateRefreshToken(t.Context(), first.Hash, replay, late, graceWindow)
	require.NoError(t, err)
	assert.Equal(t, domain.Replayed, outcome)
	assert.Equal(t, f.ID, fam.ID, "the family to revoke is returned")
	requireNoToken(t, s, replay.Hash, "a replay stores no token")
}

// refreshNoGrace pins down what a zero grace means: no window at all, so a
// store must not treat now-t == 0 <= 0 as a retry inside it.
func refreshNoGrace(t *testing.T, s ports.GrantStore) {
	_, first := createFamily(t, s, uuid.NewString())
	now := epoch.Add(time.Hour)
	_, outcome, err := s.RotateRefreshToken(t.Context(), first.Hash, nextToken(now), now, 0)
	require.NoError(t, err)
	require.Equal(t, domain.Rotated, outcome)

	again := nextToken(now)
	_, outcome, err = s.RotateRefreshToken(t.Context(), first.Hash, again, now, 0)
	require.NoError(t, err)
	assert.Equal(t, domain.Replayed, outcome)
	requireNoToken(t, s, again.Hash, "a replay stores no token")
}

func refreshUnknown(t *testing.T, s ports.GrantStore) {
	_, _, err := s.RotateRefreshToken(t.Context(), uniqueHash(), nextToken(epoch), epoch, graceWindow)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func refreshRevokedFamily(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	require.NoError(t, s.RevokeRefreshFamily(t.Context(), f.ID, epoch.Add(time.Minute)))
	next := nextToken(epoch.Add(time.Hour))
	_, _, err := s.RotateRefreshToken(t.Context(), first.Hash, next, epoch.Add(time.Hour), graceWindow)
	require.ErrorIs(t, err, domain.ErrNotFound)
	requireNoToken(t, s, next.Hash, "nothing was stored")
	tok := requireToken(t, s, first.Hash, f)
	assert.True(t, tok.RotatedAt.IsZero(), "the presented token was not spent")
}

func refreshExpiredFamily(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	next := nextToken(f.ExpiresAt)
	_, _, err := s.RotateRefreshToken(t.Context(), first.Hash, next, f.ExpiresAt, graceWindow)
	require.ErrorIs(t, err, domain.ErrNotFound, "at the family's expiry")
	requireNoToken(t, s, next.Hash, "nothing was stored")
}

func familyRevokeTwice(t *testing.T, s ports.GrantStore) {
	f, _ := createFamily(t, s, uuid.NewString())
	first, second := epoch.Add(time.Minute), epoch.Add(time.Hour)
	require.NoError(t, s.RevokeRefreshFamily(t.Context(), f.ID, first))
	require.NoError(t, s.RevokeRefreshFamily(t.Context(), f.ID, second))
	got, err := s.GetRefreshFamily(t.Context(), f.ID)
	require.NoError(t, err)
	assert.True(t, first.Equal(got.RevokedAt), "revoked at %v, want %v", got.RevokedAt, first)
}

func familyRevokeMissing(t *testing.T, s ports.GrantStore) {
	require.ErrorIs(t, s.RevokeRefreshFamily(t.Context(), uuid.NewString(), epoch), domain.ErrNotFound)
}

func familyRevokeUser(t *testing.T, s ports.GrantStore) {
	user, bystander := uuid.NewString(), uuid.NewString()
	live1, _ := createFamily(t, s, user)
	live2, _ := createFamily(t, s, user)
	earlier, _ := createFamily(t, s, user)
	other, _ := createFamily(t, s, bystander)
	revokedBefore, now := epoch.Add(time.Minute), epoch.Add(time.Hour)
	require.NoError(t, s.RevokeRefreshFamily(t.Context(), earlier.ID, revokedBefore))

	require.NoError(t, s.RevokeUserRefreshFamilies(t.Context(), user, now))
	for _, tc := range []struct {
		name string
		id   string
		want time.Time
	}{
		{"first live family", live1.ID, now},
		{"second live family", live2.ID, now},
		{"family revoked before", earlier.ID, revokedBefore},
		{"other user's family", other.ID, time.Time{}},
	} {
		got, err := s.GetRefreshFamily(t.Context(), tc.id)
		require.NoError(t, err, tc.name)
		assert.True(t, tc.want.Equal(got.RevokedAt), "%s: revoked at %v, want %v", tc.name, got.RevokedAt, tc.want)
	}
}

func familyRevokeUserClient(t *testing.T, s ports.GrantStore) {
	user, bystander := uuid.NewString(), uuid.NewString()
	app := uniqueID(domain.ClientIDPrefix)
	revokedBefore, now := epoch.Add(time.Minute), epoch.Add(time.Hour)
	create := func(userID, clientID string, expiresAt time.Time) (domain.RefreshFamily, domain.RefreshToken) {
		t.Helper()
		f, first := sampleFamily(userID)
		f.ClientID, f.ExpiresAt = clientID, expiresAt
		require.NoError(t, s.CreateRefreshFamily(t.Context(), f, first))
		return f, first
	}
	lasts := epoch.Add(30 * 24 * time.Hour)
	live1, live1Token := create(user, app, lasts)
	live2, _ := create(user, app, lasts)
	earlier, _ := create(user, app, lasts)
	expired, _ := create(user, app, now)
	otherApp, otherAppToken := create(user, uniqueID(domain.ClientIDPrefix), lasts)
	otherUser, otherUserToken := create(bystander, app, lasts)
	require.NoError(t, s.RevokeRefreshFamily(t.Context(), earlier.ID, revokedBefore))

	ids, err := s.RevokeUserClientRefreshFamilies(t.Context(), user, app, now)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{live1.ID, live2.ID}, ids, "the ids of the families it revoked, and only those")
	for _, tc := range []struct {
		name string
		id   string
		want time.Time
	}{
		{"first live family", live1.ID, now},
		{"second live family", live2.ID, now},
		{"family revoked before", earlier.ID, revokedBefore},
		{"family expired at now", expired.ID, time.Time{}},
		{"the user's family for another client", otherApp.ID, time.Time{}},
		{"another user's family for the client", otherUser.ID, time.Time{}},
	} {
		got, err := s.GetRefreshFamily(t.Context(), tc.id)
		require.NoError(t, err, tc.name)
		assert.True(t, tc.want.Equal(got.RevokedAt), "%s: revoked at %v, want %v", tc.name, got.RevokedAt, tc.want)
	}

	// The revoked family's token mints nothing; the others' still rotate.
	_, _, err = s.RotateRefreshToken(t.Context(), live1Token.Hash, nextToken(now), now, graceWindow)
	require.ErrorIs(t, err, domain.ErrNotFound, "a token of a revoked family")
	for name, tok := range map[string]domain.RefreshToken{"another client": otherAppToken, "another user": otherUserToken} {
		_, outcome, err := s.RotateRefreshToken(t.Context(), tok.Hash, nextToken(now), now, graceWindow)
		require.NoError(t, err, name)
		assert.Equal(t, domain.Rotated, outcome, name)
	}
	ids, err = s.RevokeUserClientRefreshFamilies(t.Context(), user, app, now)
	require.NoError(t, err)
	assert.Empty(t, ids, "revoking again revokes nothing: the families revoked before are not returned")
	ids, err = s.RevokeUserClientRefreshFamilies(t.Context(), uuid.NewString(), app, now)
	require.NoError(t, err, "a user without families")
	assert.Empty(t, ids)
}

// dpopThumbprint is an RFC 7638 SHA-256 thumbprint, as the token endpoint
// stores it (RFC 9449 §5).
const dpopThumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

func familyKeepsDPoPKey(t *testing.T, s ports.GrantStore) {
	f, first := sampleFamily(uuid.NewString())
	f.DPoPJKT = dpopThumbprint
	require.NoError(t, s.CreateRefreshFamily(t.Context(), f, first))
	got, err := s.GetRefreshFamily(t.Context(), f.ID)
	require.NoError(t, err)
	assert.Equal(t, dpopThumbprint, got.DPoPJKT, "from the family")
	_, fam, err := s.GetRefreshToken(t.Context(), first.Hash)
	require.NoError(t, err)
	assert.Equal(t, dpopThumbprint, fam.DPoPJKT, "from its token")

	now := epoch.Add(time.Hour)
	next := nextToken(now)
	fam, _, err = s.RotateRefreshToken(t.Context(), first.Hash, next, now, graceWindow)
	require.NoError(t, err)
	assert.Equal(t, dpopThumbprint, fam.DPoPJKT, "from the rotation")
	_, fam, err = s.GetRefreshToken(t.Context(), next.Hash)
	require.NoError(t, err)
	assert.Equal(t, dpopThumbprint, fam.DPoPJKT, "from the next token")
}

func familyUnbound(t *testing.T, s ports.GrantStore) {
	f, first := createFamily(t, s, uuid.NewString())
	_, fam, err := s.GetRefreshToken(t.Context(), first.Hash)
	require.NoError(t, err)
	assert.Empty(t, fam.DPoPJKT)
	got, err := s.GetRefreshFamily(t.Context(), f.ID)
	require.NoError(t, err)
	assert.Empty(t, got.DPoPJKT)
}

func refreshParallelRotateNoGrace(t *testing.T, s ports.GrantStore) {
	testParallelRotate(t, s, 0, domain.Replayed)
}

func refreshParallelRotateInGrace(t *testing.T, s ports.GrantStore) {
	testParallelRotate(t, s, graceWindow, domain.RotatedInGrace)
}

// testParallelRotate presents one live token from every contender at the same
// instant: one must rotate it and every other must see wantLoser.
func testParallelRotate(t *testing.T, s ports.GrantStore, grace time.Duration, wantLoser domain.RotateOutcome) {
	f, first := createFamily(t, s, uuid.NewString())
	now := epoch.Add(time.Hour)
	nexts := make([]domain.RefreshToken, contenders)
	outcomes := make([]domain.RotateOutcome, contenders)
	errs := make([]error, contenders)
	for i := range nexts {
		nexts[i] = nextToken(now)
	}
	race(contenders, func(i int) {
		_, outcomes[i], errs[i] = s.RotateRefreshToken(t.Context(), first.Hash, nexts[i], now, grace)
	})

	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "no rotation fails")
	counts := map[domain.RotateOutcome]int{}
	for i, o := range outcomes {
		counts[o]++
		if o == domain.Replayed {
			requireNoToken(t, s, nexts[i].Hash, "a replay stores no token")
		} else {
			requireToken(t, s, nexts[i].Hash, f)
		}
	}
	assert.Equal(t, map[domain.RotateOutcome]int{domain.Rotated: 1, wantLoser: contenders - 1}, counts)
}
