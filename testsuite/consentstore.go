package testsuite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

func consentTests() []subtest[ports.GrantStore] {
	return []subtest[ports.GrantStore]{
		{"reading a missing consent fails with ErrNotFound", consentMissing},
		{"a put consent reads back", consentReadsBack},
		{"putting a consent again adds its scopes and keeps those granted", consentMerges},
		{"a user's consents for different clients are kept apart", consentPerClient},
		{"a deleted consent is gone and cannot be deleted again", consentDelete},
		{"a user's consents list by client id, as they stand, and no other user's", consentListUser},
		{"a user's consents list at most MaxUserConsents, the first by client id", consentListUserBound},
	}
}

func sampleConsent(scopes ...string) domain.Consent {
	return domain.Consent{
		UserID: uuid.NewString(), ClientID: uniqueID(domain.ClientIDPrefix),
		Scopes: scopes, CreatedAt: epoch, UpdatedAt: epoch,
	}
}

func requireConsentScopes(t *testing.T, s ports.ConsentStore, userID, clientID string, want ...string) {
	t.Helper()
	got, err := s.GetConsent(t.Context(), userID, clientID)
	require.NoError(t, err)
	assert.ElementsMatch(t, want, got.Scopes)
}

func consentMissing(t *testing.T, s ports.GrantStore) {
	_, err := s.GetConsent(t.Context(), uuid.NewString(), uniqueID(domain.ClientIDPrefix))
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func consentReadsBack(t *testing.T, s ports.GrantStore) {
	c := sampleConsent(domain.ScopeOpenID, domain.ScopeEmail)
	require.NoError(t, s.PutConsent(t.Context(), c))
	got, err := s.GetConsent(t.Context(), c.UserID, c.ClientID)
	require.NoError(t, err)
	assertSame(t, c, got)
}

func consentMerges(t *testing.T, s ports.GrantStore) {
	c := sampleConsent(domain.ScopeOpenID, domain.ScopeEmail)
	require.NoError(t, s.PutConsent(t.Context(), c))
	more := c
	more.Scopes, more.UpdatedAt = []string{domain.ScopeEmail, domain.ScopeProfile}, epoch.Add(time.Hour)
	require.NoError(t, s.PutConsent(t.Context(), more))
	requireConsentScopes(t, s, c.UserID, c.ClientID, domain.ScopeOpenID, domain.ScopeEmail, domain.ScopeProfile)
}

func consentPerClient(t *testing.T, s ports.GrantStore) {
	a := sampleConsent(domain.ScopeOpenID)
	b := sampleConsent(domain.ScopeEmail)
	b.UserID = a.UserID
	require.NoError(t, s.PutConsent(t.Context(), a))
	require.NoError(t, s.PutConsent(t.Context(), b))
	requireConsentScopes(t, s, a.UserID, a.ClientID, domain.ScopeOpenID)
	requireConsentScopes(t, s, b.UserID, b.ClientID, domain.ScopeEmail)
}

func consentDelete(t *testing.T, s ports.GrantStore) {
	c := sampleConsent(domain.ScopeOpenID)
	require.NoError(t, s.PutConsent(t.Context(), c))
	require.NoError(t, s.DeleteConsent(t.Context(), c.UserID, c.ClientID))
	_, err := s.GetConsent(t.Context(), c.UserID, c.ClientID)
	require.ErrorIs(t, err, domain.ErrNotFound, "reading the deleted consent")
	require.ErrorIs(t, s.DeleteConsent(t.Context(), c.UserID, c.ClientID), domain.ErrNotFound, "deleting it again")
}

func consentParallelPuts(t *testing.T, s ports.GrantStore) {
	base := sampleConsent(domain.ScopeOpenID)
	want := []string{domain.ScopeOpenID}
	puts := make([]domain.Consent, contenders)
	for i := range puts {
		scope := fmt.Sprintf("scope%d", i)
		puts[i] = base
		puts[i].Scopes = []string{domain.ScopeOpenID, scope}
		want = append(want, scope)
	}
	errs := make([]error, contenders)
	race(contenders, func(i int) { errs[i] = s.PutConsent(t.Context(), puts[i]) })
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every put succeeds")
	requireConsentScopes(t, s, base.UserID, base.ClientID, want...)
}

func requireUserConsents(t *testing.T, s ports.ConsentStore, userID string, want []domain.Consent, msg string) {
	t.Helper()
	got, err := s.ListUserConsents(t.Context(), userID)
	require.NoError(t, err, msg)
	if len(want) == 0 {
		assert.Empty(t, got, msg)
		return
	}
	assertSame(t, want, got, msg)
}

func consentListUser(t *testing.T, s ports.GrantStore) {
	user := uuid.NewString()
	mine := make([]domain.Consent, 4)
	for i := range mine {
		mine[i] = sampleConsent(domain.ScopeOpenID)
		mine[i].UserID = user
	}
	slices.SortFunc(mine, func(a, b domain.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	merged, deleted, again, plain := mine[0], mine[1], mine[2], mine[3]
	theirs := sampleConsent(domain.ScopeEmail)
	theirs.ClientID = plain.ClientID // the same app, another user
	// Put in an order that is not the listing's.
	for _, c := range []domain.Consent{plain, theirs, again, deleted, merged} {
		require.NoError(t, s.PutConsent(t.Context(), c))
	}

	// Listed as it stands now: merged, ...
	more := merged
	more.Scopes, more.UpdatedAt = []string{domain.ScopeEmail}, epoch.Add(time.Hour)
	require.NoError(t, s.PutConsent(t.Context(), more))
	merged.Scopes, merged.UpdatedAt = []string{domain.ScopeOpenID, domain.ScopeEmail}, more.UpdatedAt
	// ... deleted, or deleted and granted again, with only the new scopes.
	require.NoError(t, s.DeleteConsent(t.Context(), user, deleted.ClientID))
	require.NoError(t, s.DeleteConsent(t.Context(), user, again.ClientID))
	again.Scopes, again.CreatedAt, again.UpdatedAt = []string{domain.ScopeProfile}, epoch.Add(2*time.Hour), epoch.Add(2*time.Hour)
	require.NoError(t, s.PutConsent(t.Context(), again))

	requireUserConsents(t, s, user, []domain.Consent{merged, again, plain}, "the user's consents by client id")
	requireUserConsents(t, s, theirs.UserID, []domain.Consent{theirs}, "the other user's consent")
	requireUserConsents(t, s, uuid.NewString(), nil, "a user without consents")
}

func consentListUserBound(t *testing.T, s ports.GrantStore) {
	user := uuid.NewString()
	all := make([]domain.Consent, ports.MaxUserConsents+1)
	for i := range all {
		all[i] = sampleConsent(domain.ScopeOpenID)
		all[i].UserID = user
		require.NoError(t, s.PutConsent(t.Context(), all[i]))
	}
	slices.SortFunc(all, func(a, b domain.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	requireUserConsents(t, s, user, all[:ports.MaxUserConsents], "the first by client id")

	// The bound counts consents, not what a deleted one left behind.
	require.NoError(t, s.DeleteConsent(t.Context(), user, all[0].ClientID))
	requireUserConsents(t, s, user, all[1:], "the first deleted, the last comes in")
}
