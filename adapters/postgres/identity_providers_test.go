package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func newIdentityProviderStore(t *testing.T, pool *pgxpool.Pool, key []byte) *postgres.IdentityProviderStore {
	t.Helper()
	s, err := postgres.NewIdentityProviderStore(pool, key)
	require.NoError(t, err)
	return s
}

// The suites' subtests share a schema, as the other suites here do; their
// organizations, users and ids are fresh.
func TestIdentityProviderStore(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := testsuite.IdentityProviderStores{Orgs: postgres.NewOrganizationStore(pool), Providers: newIdentityProviderStore(t, pool, randomKey())}
	testsuite.RunIdentityProviderStore(t, func(*testing.T) testsuite.IdentityProviderStores { return s })
}

func linkedIdentityStores(t *testing.T) func(*testing.T) testsuite.LinkedIdentityStores {
	pool := newPool(t)
	s := testsuite.LinkedIdentityStores{Users: postgres.NewUserStore(pool), Links: postgres.NewLinkedIdentityStore(pool)}
	return func(*testing.T) testsuite.LinkedIdentityStores { return s }
}

func TestLinkedIdentityStore(t *testing.T) {
	t.Parallel()
	testsuite.RunLinkedIdentityStore(t, linkedIdentityStores(t))
}

func TestLinkedIdentityStoreConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunLinkedIdentityStoreConcurrency(t, linkedIdentityStores(t))
}

// createIdPOrganization stores an organization for providers to belong to.
func createIdPOrganization(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	id := uuid.NewString()
	require.NoError(t, postgres.NewOrganizationStore(pool).CreateOrganization(context.Background(), domain.Organization{
		ID: id, Name: "Springfield", Slug: "springfield-" + id, MFAPolicy: domain.MFAOff, CreatedAt: factorsNow,
	}))
	return id
}

func provider(orgID, secret string) domain.IdentityProvider {
	return domain.IdentityProvider{
		ID: uuid.NewString(), OrganizationID: orgID, Name: "Google", Issuer: "https://accounts.google.com",
		ClientID: "client", ClientSecret: secret, Domains: []string{"school.example"}, CreatedAt: factorsNow,
	}
}

// A client secret is sealed, bound to its provider: the raw column holds no
// plaintext, each write seals it with a fresh nonce, and a sealed secret
// moved to another provider's row, or read under another key, fails to
// open rather than opening as a wrong secret.
func TestClientSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	s := newIdentityProviderStore(t, pool, randomKey())
	org := createIdPOrganization(t, pool)
	p, other := provider(org, "GOCSPX-the-secret-in-clear"), provider(org, "GOCSPX-another-secret")
	require.NoError(t, s.CreateIdentityProvider(ctx, p))
	require.NoError(t, s.CreateIdentityProvider(ctx, other))

	sealed := func(id string) []byte {
		var b []byte
		require.NoError(t, pool.QueryRow(ctx, `SELECT client_secret FROM identity_providers WHERE id = $1`, id).Scan(&b))
		return b
	}
	first := sealed(p.ID)
	assert.False(t, bytes.Contains(first, []byte(p.ClientSecret)), "the secret is not stored in clear")
	got, err := s.GetIdentityProvider(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ClientSecret, got.ClientSecret)

	_, err = s.UpdateIdentityProvider(ctx, p.ID, func(*domain.IdentityProvider) error { return nil })
	require.NoError(t, err)
	assert.NotEqual(t, first, sealed(p.ID), "a fresh nonce on each write")

	_, err = newIdentityProviderStore(t, pool, randomKey()).GetIdentityProvider(ctx, p.ID)
	require.ErrorIs(t, err, postgres.ErrClientSecretDecryption, "another key")

	_, err = pool.Exec(ctx, `UPDATE identity_providers SET client_secret = $1 WHERE id = $2`, sealed(p.ID), other.ID)
	require.NoError(t, err)
	_, err = s.GetIdentityProvider(ctx, other.ID)
	require.ErrorIs(t, err, postgres.ErrClientSecretDecryption, "a sealed secret is bound to its provider")
	_, err = s.UpdateIdentityProvider(ctx, other.ID, func(*domain.IdentityProvider) error { return nil })
	require.ErrorIs(t, err, postgres.ErrClientSecretDecryption, "an update reads it as a read does")
	_, err = s.ListIdentityProviders(ctx, org)
	require.ErrorIs(t, err, postgres.ErrClientSecretDecryption, "and so does a list")

	_, err = postgres.NewIdentityProviderStore(pool, []byte("short"))
	require.Error(t, err)
}

// A provider references its organization and a link its user: neither can
// be made for one that does not exist, and a link goes with its user.
func TestFederationRecordsNeedTheirOwners(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	providers, links := newIdentityProviderStore(t, pool, randomKey()), postgres.NewLinkedIdentityStore(pool)

	p := provider(uuid.NewString(), "secret")
	require.ErrorIs(t, providers.CreateIdentityProvider(ctx, p), domain.ErrNotFound, "a missing organization")
	_, err := providers.GetIdentityProvider(ctx, p.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing was stored")

	l := domain.LinkedIdentity{Issuer: "https://accounts.google.com", Subject: uuid.NewString(), UserID: uuid.NewString()}
	require.ErrorIs(t, links.LinkIdentity(ctx, l), domain.ErrNotFound, "a missing user")

	l.UserID = createFactorUser(t, postgres.NewUserStore(pool))
	require.NoError(t, links.LinkIdentity(ctx, l))
	require.NoError(t, postgres.NewDirectoryStore(pool).DeleteUser(ctx, l.UserID))
	_, err = links.GetLinkedIdentity(ctx, l.Issuer, l.Subject)
	require.ErrorIs(t, err, domain.ErrNotFound, "the link went with its user")
}

// The federation stores join the unit of work their context carries: a
// unit that fails undoes its links, its unlinks and its providers, and a
// link refused inside a unit leaves the unit able to go on and commit.
func TestFederationStoresJoinTheUnit(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	units, users := postgres.NewUnits(pool), postgres.NewUserStore(pool)
	providers, links := newIdentityProviderStore(t, pool, randomKey()), postgres.NewLinkedIdentityStore(pool)
	org := createIdPOrganization(t, pool)
	existing := domain.LinkedIdentity{Issuer: "https://accounts.google.com", Subject: uuid.NewString(), UserID: createFactorUser(t, users)}
	require.NoError(t, links.LinkIdentity(ctx, existing))
	errUnit := errors.New("the unit fails")

	fresh := uuid.NewString()
	freshLink := domain.LinkedIdentity{Issuer: existing.Issuer, Subject: uuid.NewString(), UserID: fresh}
	p := provider(org, "secret")
	err := units.Atomically(ctx, func(ctx context.Context) error {
		require.NoError(t, users.CreateUser(ctx, domain.User{ID: fresh, Email: fresh + "@idp.example", Status: domain.UserActive}))
		require.NoError(t, links.LinkIdentity(ctx, freshLink), "a link of a user the same unit creates")
		require.NoError(t, links.DeleteUserIdentities(ctx, existing.UserID))
		require.NoError(t, providers.CreateIdentityProvider(ctx, p))
		got, err := links.ListLinkedIdentities(ctx, fresh)
		require.NoError(t, err)
		require.Len(t, got, 1, "the unit reads its own write")
		return errUnit
	})
	require.ErrorIs(t, err, errUnit)
	_, err = links.GetLinkedIdentity(ctx, freshLink.Issuer, freshLink.Subject)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed unit's link is undone")
	got, err := links.GetLinkedIdentity(ctx, existing.Issuer, existing.Subject)
	require.NoError(t, err, "the failed unit's deletion is undone")
	assert.Equal(t, existing.UserID, got.UserID)
	_, err = providers.GetIdentityProvider(ctx, p.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed unit's provider is undone")

	taken := existing
	taken.UserID = createFactorUser(t, users)
	err = units.Atomically(ctx, func(ctx context.Context) error {
		if err := links.LinkIdentity(ctx, taken); !errors.Is(err, domain.ErrAlreadyExists) {
			return err
		}
		return providers.CreateIdentityProvider(ctx, p)
	})
	require.NoError(t, err, "the unit goes on from a refused link")
	_, err = providers.GetIdentityProvider(ctx, p.ID)
	require.NoError(t, err, "and commits")
}

// HasIdentityProviders sees a provider of any organization, and none once
// the last is deleted. It needs a schema of its own: the suite's providers
// would answer for it.
func TestHasIdentityProviders(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	s := newIdentityProviderStore(t, pool, randomKey())
	has, err := s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.False(t, has, "an empty store")

	p := provider(createIdPOrganization(t, pool), "secret")
	require.NoError(t, s.CreateIdentityProvider(ctx, p))
	has, err = s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.True(t, has, "after a create")

	require.NoError(t, s.DeleteIdentityProvider(ctx, p.ID))
	has, err = s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.False(t, has, "after the last is deleted")
}
