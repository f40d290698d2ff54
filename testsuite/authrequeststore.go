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

// RunAuthRequestStore checks an AuthRequestStore against its port contract,
// including that of parallel deletions of one request exactly one wins.
// newStore is called once per subtest; the store may hold other requests.
func RunAuthRequestStore(t *testing.T, newStore func(t *testing.T) ports.AuthRequestStore) {
	runSubtests(t, newStore, []subtest[ports.AuthRequestStore]{
		{"a created request reads back until it expires", authRequestReadsBack},
		{"creating a request whose id is taken fails with ErrAlreadyExists", authRequestDuplicate},
		{"reading a missing request fails with ErrNotFound", authRequestMissing},
		{"an update stores and returns what the callback made", authRequestUpdate},
		{"an update whose callback fails writes nothing and returns the callback's error", authRequestUpdateRefused},
		{"updating a missing or expired request fails with ErrNotFound", authRequestUpdateGone},
		{"an upstream attempt reads back, an update sets and clears it, and no read shares it", authRequestUpstream},
		{"concurrent updates of one request lose none", authRequestConcurrentUpdates},
		{"deleting a request reports true once and false after", authRequestDelete},
		{"of parallel deletions of one request exactly one reports true", authRequestParallelDelete},
	})
}

func sampleAuthRequest() domain.AuthRequest {
	return domain.AuthRequest{
		ID:                  uuid.NewString(),
		BindingHash:         uniqueHash(),
		CSRFToken:           uuid.NewString(),
		ClientID:            uniqueID(domain.ClientIDPrefix),
		RedirectURI:         "https://gradebook.example.com/callback",
		Scopes:              []string{domain.ScopeOpenID, domain.ScopeProfile},
		State:               "af0ifjsldkj",
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: domain.PKCEMethodS256,
		Prompt:              []string{"login"},
		MaxAge:              -1,
		LoginHint:           "casey@example.com",
		ResponseMode:        "query",
		DeviceCodeHash:      uniqueHash(),
		DPoPJKT:             "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		Claims:              sampleClaims,
		ACRValues:           []string{"mfa", "1"},
		FactorUserID:        uuid.NewString(),
		Ceremony:            []byte(`{"challenge":"x"}`),
		ReturnTo:            "/account",
		CreatedAt:           epoch,
		ExpiresAt:           epoch.Add(10 * time.Minute),
	}
}

func createAuthRequest(t *testing.T, s ports.AuthRequestStore) domain.AuthRequest {
	t.Helper()
	r := sampleAuthRequest()
	require.NoError(t, s.CreateAuthRequest(t.Context(), r))
	return r
}

func authRequestReadsBack(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	got, err := s.GetAuthRequest(t.Context(), r.ID, r.ExpiresAt.Add(-time.Second))
	require.NoError(t, err, "a second before expiry")
	assertSame(t, r, got)
	_, err = s.GetAuthRequest(t.Context(), r.ID, r.ExpiresAt)
	require.ErrorIs(t, err, domain.ErrNotFound, "at expiry")
}

func authRequestDuplicate(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	other := sampleAuthRequest()
	other.ID = r.ID
	require.ErrorIs(t, s.CreateAuthRequest(t.Context(), other), domain.ErrAlreadyExists)
	got, err := s.GetAuthRequest(t.Context(), r.ID, epoch)
	require.NoError(t, err)
	assert.Equal(t, r.ClientID, got.ClientID, "the first request is kept")
}

func authRequestMissing(t *testing.T, s ports.AuthRequestStore) {
	_, err := s.GetAuthRequest(t.Context(), uuid.NewString(), epoch)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func authRequestUpdate(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	userID, authTime := uuid.NewString(), epoch.Add(time.Minute)
	updated, err := s.UpdateAuthRequest(t.Context(), r.ID, authTime, func(r *domain.AuthRequest) error {
		r.UserID, r.AuthTime = userID, authTime
		return nil
	})
	require.NoError(t, err)
	want := r
	want.UserID, want.AuthTime = userID, authTime
	assertSame(t, want, updated, "the update returns the stored request")
	got, err := s.GetAuthRequest(t.Context(), r.ID, authTime)
	require.NoError(t, err)
	assertSame(t, want, got, "a read sees the update")
}

func authRequestUpdateRefused(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	_, err := s.UpdateAuthRequest(t.Context(), r.ID, epoch, func(r *domain.AuthRequest) error {
		r.UserID = uuid.NewString()
		r.Scopes[0] = "tampered"
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	got, err := s.GetAuthRequest(t.Context(), r.ID, epoch)
	require.NoError(t, err)
	assertSame(t, r, got)
}

// sampleUpstream is a sign-in sent to an upstream provider, its times in
// milliseconds, which every backend keeps.
func sampleUpstream() *domain.UpstreamAttempt {
	return &domain.UpstreamAttempt{
		ProviderID:   uniqueID("idp_"),
		State:        uuid.NewString(),
		Nonce:        uuid.NewString(),
		CodeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		StartedAt:    epoch.Add(1234 * time.Millisecond),
	}
}

func authRequestUpstream(t *testing.T, s ports.AuthRequestStore) {
	r := sampleAuthRequest()
	r.Upstream = sampleUpstream()
	require.NoError(t, s.CreateAuthRequest(t.Context(), r))
	got, err := s.GetAuthRequest(t.Context(), r.ID, epoch)
	require.NoError(t, err)
	assertSame(t, r, got, "created with an attempt")
	got.Upstream.State = "scribbled"
	got, err = s.GetAuthRequest(t.Context(), r.ID, epoch)
	require.NoError(t, err)
	assertSame(t, r, got, "changing the attempt read changes nothing stored")

	plain := createAuthRequest(t, s)
	got, err = s.GetAuthRequest(t.Context(), plain.ID, epoch)
	require.NoError(t, err)
	assert.Nil(t, got.Upstream, "a request created without one has none")
	next := sampleUpstream()
	updated, err := s.UpdateAuthRequest(t.Context(), plain.ID, epoch, func(x *domain.AuthRequest) error {
		x.Upstream = next
		return nil
	})
	require.NoError(t, err)
	assertSame(t, next, updated.Upstream, "the update returns the attempt set")
	want := *next
	next.Nonce = "scribbled"
	got, err = s.GetAuthRequest(t.Context(), plain.ID, epoch)
	require.NoError(t, err)
	assertSame(t, &want, got.Upstream, "an update sets it, sharing nothing with the callback's")

	updated, err = s.UpdateAuthRequest(t.Context(), plain.ID, epoch, func(x *domain.AuthRequest) error {
		assertSame(t, &want, x.Upstream, "the callback gets the stored attempt")
		x.Upstream = nil
		return nil
	})
	require.NoError(t, err)
	assert.Nil(t, updated.Upstream)
	got, err = s.GetAuthRequest(t.Context(), plain.ID, epoch)
	require.NoError(t, err)
	assert.Nil(t, got.Upstream, "an update clears it")
}

func authRequestUpdateGone(t *testing.T, s ports.AuthRequestStore) {
	noop := func(*domain.AuthRequest) error { return nil }
	_, err := s.UpdateAuthRequest(t.Context(), uuid.NewString(), epoch, noop)
	require.ErrorIs(t, err, domain.ErrNotFound, "a missing request")
	r := createAuthRequest(t, s)
	_, err = s.UpdateAuthRequest(t.Context(), r.ID, r.ExpiresAt, noop)
	require.ErrorIs(t, err, domain.ErrNotFound, "an expired request")
}

func authRequestConcurrentUpdates(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.UpdateAuthRequest(t.Context(), r.ID, epoch, func(r *domain.AuthRequest) error {
			r.MaxAge++
			return nil
		})
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds")
	got, err := s.GetAuthRequest(t.Context(), r.ID, epoch)
	require.NoError(t, err)
	assert.Equal(t, r.MaxAge+contenders, got.MaxAge)
}

func authRequestDelete(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	deleted, err := s.DeleteAuthRequest(t.Context(), r.ID)
	require.NoError(t, err)
	assert.True(t, deleted, "the first deletion")
	_, err = s.GetAuthRequest(t.Context(), r.ID, epoch)
	require.ErrorIs(t, err, domain.ErrNotFound, "reading the deleted request")
	deleted, err = s.DeleteAuthRequest(t.Context(), r.ID)
	require.NoError(t, err)
	assert.False(t, deleted, "the second deletion")
	deleted, err = s.DeleteAuthRequest(t.Context(), uuid.NewString())
	require.NoError(t, err)
	assert.False(t, deleted, "deleting an unknown id")
}

func authRequestParallelDelete(t *testing.T, s ports.AuthRequestStore) {
	r := createAuthRequest(t, s)
	deleted := make([]bool, contenders)
	errs := make([]error, contenders)
	race(contenders, func(i int) { deleted[i], errs[i] = s.DeleteAuthRequest(t.Context(), r.ID) })
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "no deletion fails")
	wins := 0
	for _, d := range deleted {
		if d {
			wins++
		}
	}
	assert.Equal(t, 1, wins, "exactly one deletion reports true")
}
