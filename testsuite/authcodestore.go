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

// codeLifetime is the guide's authorization code lifetime.
const codeLifetime = 60 * time.Second

func authCodeTests() []subtest[ports.GrantStore] {
	return []subtest[ports.GrantStore]{
		{"a code redeems once and comes back marked redeemed at now", codeRedeems},
		{"redeeming a code again fails with ErrAlreadyUsed and names its grant", codeRedeemTwice},
		{"redeeming an unknown code fails with ErrNotFound", codeUnknown},
		{"a code redeems until just before it expires and not at its expiry", codeExpiry},
		{"creating a code whose hash is taken fails with ErrAlreadyExists", codeDuplicate},
		{"another client cannot redeem a code, and its attempt leaves the code to its own client", codeForeignClient},
	}
}

func sampleAuthCode() domain.AuthCode {
	return domain.AuthCode{
		Hash:                uniqueHash(),
		ClientID:            uniqueID(domain.ClientIDPrefix),
		UserID:              uuid.NewString(),
		RedirectURI:         "https://gradebook.example.com/callback",
		Scopes:              []string{domain.ScopeOpenID, domain.ScopeOfflineAccess},
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: domain.PKCEMethodS256,
		AuthTime:            epoch.Add(-time.Minute),
		SessionID:           uuid.NewString(),
		AMR:                 []string{"pwd"},
		GrantID:             uuid.NewString(),
		DPoPJKT:             "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		Claims:              sampleClaims,
		ExpiresAt:           epoch.Add(codeLifetime),
		CreatedAt:           epoch,
	}
}

func createAuthCode(t *testing.T, s ports.AuthCodeStore) domain.AuthCode {
	t.Helper()
	c := sampleAuthCode()
	require.NoError(t, s.CreateAuthCode(t.Context(), c))
	return c
}

func codeRedeems(t *testing.T, s ports.GrantStore) {
	c := createAuthCode(t, s)
	now := epoch.Add(5 * time.Second)
	got, err := s.RedeemAuthCode(t.Context(), c.Hash, c.ClientID, now)
	require.NoError(t, err)
	want := c
	want.RedeemedAt = now
	assertSame(t, want, got)
}

func codeRedeemTwice(t *testing.T, s ports.GrantStore) {
	c := createAuthCode(t, s)
	_, err := s.RedeemAuthCode(t.Context(), c.Hash, c.ClientID, epoch.Add(time.Second))
	require.NoError(t, err)
	got, err := s.RedeemAuthCode(t.Context(), c.Hash, c.ClientID, epoch.Add(2*time.Second))
	require.ErrorIs(t, err, domain.ErrAlreadyUsed)
	assert.Equal(t, c.GrantID, got.GrantID, "the replay names the grant to revoke")
}

func codeUnknown(t *testing.T, s ports.GrantStore) {
	_, err := s.RedeemAuthCode(t.Context(), uniqueHash(), domain.ClientIDPrefix+"any", epoch)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func codeExpiry(t *testing.T, s ports.GrantStore) {
	live, expired := createAuthCode(t, s), createAuthCode(t, s)
	_, err := s.RedeemAuthCode(t.Context(), live.Hash, live.ClientID, live.ExpiresAt.Add(-time.Second))
	require.NoError(t, err, "a second before expiry")
	_, err = s.RedeemAuthCode(t.Context(), expired.Hash, expired.ClientID, expired.ExpiresAt)
	require.ErrorIs(t, err, domain.ErrNotFound, "at expiry")
}

func codeDuplicate(t *testing.T, s ports.GrantStore) {
	c := createAuthCode(t, s)
	other := sampleAuthCode()
	other.Hash = c.Hash
	require.ErrorIs(t, s.CreateAuthCode(t.Context(), other), domain.ErrAlreadyExists)
	got, err := s.RedeemAuthCode(t.Context(), c.Hash, c.ClientID, epoch)
	require.NoError(t, err)
	assert.Equal(t, c.GrantID, got.GrantID, "the first code is kept")
}

func codeForeignClient(t *testing.T, s ports.GrantStore) {
	c := createAuthCode(t, s)
	other := uniqueID(domain.ClientIDPrefix)
	_, err := s.RedeemAuthCode(t.Context(), c.Hash, other, epoch.Add(time.Second))
	require.ErrorIs(t, err, domain.ErrNotFound)
	got, err := s.RedeemAuthCode(t.Context(), c.Hash, c.ClientID, epoch.Add(2*time.Second))
	require.NoError(t, err, "the code's own client still redeems it")
	assert.Equal(t, c.GrantID, got.GrantID)
	_, err = s.RedeemAuthCode(t.Context(), c.Hash, other, epoch.Add(3*time.Second))
	require.ErrorIs(t, err, domain.ErrNotFound, "a redeemed code is not another client's replay either")
}

func codeParallelRedeem(t *testing.T, s ports.GrantStore) {
	c := createAuthCode(t, s)
	errs := make([]error, contenders)
	codes := make([]domain.AuthCode, contenders)
	race(contenders, func(i int) {
		codes[i], errs[i] = s.RedeemAuthCode(t.Context(), c.Hash, c.ClientID, epoch.Add(time.Second))
	})

	ok, used := countErrors(errs, domain.ErrAlreadyUsed)
	require.Equal(t, 1, ok, "exactly one redemption succeeds")
	require.Equal(t, contenders-1, used, "every other redemption fails with ErrAlreadyUsed")
	for i, err := range errs {
		if err != nil {
			assert.Equal(t, c.GrantID, codes[i].GrantID, "a losing redemption still names the grant")
		}
	}
}
