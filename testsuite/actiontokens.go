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

// RunActionTokenStore checks an ActionTokenStore against its port contract.
func RunActionTokenStore(t *testing.T, newStore func(t *testing.T) ports.ActionTokenStore) {
	runSubtests(t, newStore, []subtest[ports.ActionTokenStore]{
		{"a token is consumed once", actionTokenOnce},
		{"a token is not consumed for another purpose, and stays usable", actionTokenPurpose},
		{"an expired token is not consumed", actionTokenExpired},
		{"a duplicate hash fails with ErrAlreadyExists", actionTokenDuplicate},
		{"a join token keeps its organization and client", actionTokenJoin},
	})
}

// RunActionTokenStoreConcurrency checks that of parallel consumptions of one
// token exactly one succeeds.
func RunActionTokenStoreConcurrency(t *testing.T, newStore func(t *testing.T) ports.ActionTokenStore) {
	runSubtests(t, newStore, []subtest[ports.ActionTokenStore]{
		{"parallel consumptions of one token have one winner", actionTokenParallel},
	})
}

func sampleActionToken(p domain.ActionPurpose) domain.ActionToken {
	t := domain.ActionToken{Hash: uniqueHash(), Purpose: p, UserID: uuid.NewString(), Email: uniqueLocalPart() + "@example.com", CreatedAt: epoch, ExpiresAt: epoch.Add(time.Hour)}
	if p == domain.PurposeJoin {
		t.OrganizationID, t.ClientID = uuid.NewString(), uniqueID(domain.ClientIDPrefix)
	}
	return t
}

func actionTokenOnce(t *testing.T, s ports.ActionTokenStore) {
	tok := sampleActionToken(domain.PurposeInvite)
	require.NoError(t, s.CreateActionToken(t.Context(), tok))
	got, err := s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeInvite, epoch.Add(time.Minute))
	require.NoError(t, err)
	assertSame(t, tok, got)
	_, err = s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeInvite, epoch.Add(time.Minute))
	require.ErrorIs(t, err, domain.ErrNotFound, "single use")
}

func actionTokenPurpose(t *testing.T, s ports.ActionTokenStore) {
	tok := sampleActionToken(domain.PurposeReset)
	require.NoError(t, s.CreateActionToken(t.Context(), tok))
	_, err := s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeInvite, epoch)
	require.ErrorIs(t, err, domain.ErrNotFound)
	_, err = s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeReset, epoch)
	require.NoError(t, err, "the wrong purpose did not spend it")
}

func actionTokenExpired(t *testing.T, s ports.ActionTokenStore) {
	tok := sampleActionToken(domain.PurposeReset)
	require.NoError(t, s.CreateActionToken(t.Context(), tok))
	_, err := s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeReset, tok.ExpiresAt)
	require.ErrorIs(t, err, domain.ErrNotFound, "a token is dead at its expiry")
}

func actionTokenDuplicate(t *testing.T, s ports.ActionTokenStore) {
	tok := sampleActionToken(domain.PurposeInvite)
	require.NoError(t, s.CreateActionToken(t.Context(), tok))
	require.ErrorIs(t, s.CreateActionToken(t.Context(), tok), domain.ErrAlreadyExists)
}

func actionTokenParallel(t *testing.T, s ports.ActionTokenStore) {
	tok := sampleActionToken(domain.PurposeInvite)
	require.NoError(t, s.CreateActionToken(t.Context(), tok))
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeInvite, epoch)
	})
	ok, notFound := countErrors(errs, domain.ErrNotFound)
	assert.Equal(t, 1, ok, "one winner")
	assert.Equal(t, contenders-1, notFound, "every other call finds nothing")
}

// RunAdminKeyStore checks an AdminKeyStore against its port contract.
func RunAdminKeyStore(t *testing.T, newStore func(t *testing.T) ports.AdminKeyStore) {
	runSubtests(t, newStore, []subtest[ports.AdminKeyStore]{
		{"a key reads back by its hash", adminKeyReadsBack},
		{"a key whose id or hash is taken fails with ErrAlreadyExists", adminKeyDuplicate},
		{"an unknown hash fails with ErrNotFound", adminKeyMissing},
	})
}

func sampleAdminKey() domain.AdminKey {
	return domain.AdminKey{ID: uuid.NewString(), Hash: uniqueHash(), Name: "ops laptop", CreatedAt: epoch}
}

func adminKeyReadsBack(t *testing.T, s ports.AdminKeyStore) {
	k := sampleAdminKey()
	require.NoError(t, s.CreateAdminKey(t.Context(), k))
	got, err := s.GetAdminKey(t.Context(), k.Hash)
	require.NoError(t, err)
	assertSame(t, k, got)
}

func adminKeyDuplicate(t *testing.T, s ports.AdminKeyStore) {
	k := sampleAdminKey()
	require.NoError(t, s.CreateAdminKey(t.Context(), k))
	sameID := sampleAdminKey()
	sameID.ID = k.ID
	require.ErrorIs(t, s.CreateAdminKey(t.Context(), sameID), domain.ErrAlreadyExists)
	sameHash := sampleAdminKey()
	sameHash.Hash = k.Hash
	require.ErrorIs(t, s.CreateAdminKey(t.Context(), sameHash), domain.ErrAlreadyExists)
}

func adminKeyMissing(t *testing.T, s ports.AdminKeyStore) {
	_, err := s.GetAdminKey(t.Context(), uniqueHash())
	assert.ErrorIs(t, err, domain.ErrNotFound)
}

func actionTokenJoin(t *testing.T, s ports.ActionTokenStore) {
	tok := sampleActionToken(domain.PurposeJoin)
	require.NoError(t, s.CreateActionToken(t.Context(), tok))
	got, err := s.ConsumeActionToken(t.Context(), tok.Hash, domain.PurposeJoin, epoch)
	require.NoError(t, err)
	assertSame(t, tok, got)
}
