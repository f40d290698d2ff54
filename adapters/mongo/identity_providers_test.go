package mongo_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func newIdentityProviderStore(t *testing.T, db *mongo.Database, kek []byte) *mongoadapter.IdentityProviderStore {
	t.Helper()
	s, err := mongoadapter.NewIdentityProviderStore(db, kek)
	require.NoError(t, err)
	return s
}

// The organizations the suite creates are never read: the store keeps
// providers of any organization id.
func TestIdentityProviderStore(t *testing.T) {
	t.Parallel()
	testsuite.RunIdentityProviderStore(t, func(t *testing.T) testsuite.IdentityProviderStores {
		db := testDB(t)
		return testsuite.IdentityProviderStores{Orgs: mongoadapter.NewOrganizationStore(db), Providers: newIdentityProviderStore(t, db, randomKEK(t))}
	})
}

// linkedIdentityStores are a link store and a user store on one fresh
// database; the store links any user id, so the users are never read.
func linkedIdentityStores(t *testing.T) testsuite.LinkedIdentityStores {
	db := testDB(t)
	return testsuite.LinkedIdentityStores{Users: mongoadapter.NewUserStore(db), Links: mongoadapter.NewLinkedIdentityStore(db)}
}

func TestLinkedIdentityStore(t *testing.T) {
	t.Parallel()
	testsuite.RunLinkedIdentityStore(t, linkedIdentityStores)
}

func TestLinkedIdentityStoreConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunLinkedIdentityStoreConcurrency(t, linkedIdentityStores)
}

var federationNow = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

func provider(orgID, secret string) domain.IdentityProvider {
	return domain.IdentityProvider{
		ID: uuid.NewString(), OrganizationID: orgID, Name: "Google", Issuer: "https://accounts.google.com",
		ClientID: "client", ClientSecret: secret, Domains: []string{"school.example"}, CreatedAt: federationNow,
	}
}

// A client secret is sealed, bound to its provider: the stored document
// holds no plaintext, each write seals it with a fresh nonce, and a sealed
// secret moved to another provider's document, or read under another key,
// fails to open rather than opening as a wrong secret.
func TestClientSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	s := newIdentityProviderStore(t, db, randomKEK(t))
	coll := db.Collection("identity_providers")
	org := uuid.NewString()
	p, other := provider(org, "GOCSPX-the-secret-in-clear"), provider(org, "GOCSPX-another-secret")
	require.NoError(t, s.CreateIdentityProvider(ctx, p))
	require.NoError(t, s.CreateIdentityProvider(ctx, other))

	raw := func(id string) bson.Raw {
		doc, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Raw()
		require.NoError(t, err)
		return doc
	}
	first := raw(p.ID)
	assert.False(t, bytes.Contains(first, []byte(p.ClientSecret)), "the secret is not stored in clear")
	got, err := s.GetIdentityProvider(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ClientSecret, got.ClientSecret)

	_, err = s.UpdateIdentityProvider(ctx, p.ID, func(*domain.IdentityProvider) error { return nil })
	require.NoError(t, err)
	sealed := raw(p.ID).Lookup("sealed_client_secret")
	assert.NotEqual(t, first.Lookup("sealed_client_secret"), sealed, "a fresh nonce on each write")

	_, err = newIdentityProviderStore(t, db, randomKEK(t)).GetIdentityProvider(ctx, p.ID)
	require.ErrorIs(t, err, mongoadapter.ErrClientSecretDecryption, "another key")

	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: other.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "sealed_client_secret", Value: sealed}}}})
	require.NoError(t, err)
	_, err = s.GetIdentityProvider(ctx, other.ID)
	require.ErrorIs(t, err, mongoadapter.ErrClientSecretDecryption, "a sealed secret is bound to its provider")
	_, err = s.UpdateIdentityProvider(ctx, other.ID, func(*domain.IdentityProvider) error { return nil })
	require.ErrorIs(t, err, mongoadapter.ErrClientSecretDecryption, "an update reads it as a read does")
	_, err = s.ListIdentityProviders(ctx, org)
	require.ErrorIs(t, err, mongoadapter.ErrClientSecretDecryption, "and so does a list")

	_, err = mongoadapter.NewIdentityProviderStore(db, make([]byte, 16))
	require.Error(t, err)
}

// The federation stores write through the unit of work their context
// carries: a unit that fails undoes its links, its deletions and its
// providers, and one that commits keeps them.
func TestFederationStoresJoinTheUnit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	units := mongoadapter.NewUnits(db, nil)
	providers, links := newIdentityProviderStore(t, db, randomKEK(t)), mongoadapter.NewLinkedIdentityStore(db)
	existing := domain.LinkedIdentity{Issuer: "https://accounts.google.com", Subject: uuid.NewString(), UserID: uuid.NewString()}
	require.NoError(t, links.LinkIdentity(ctx, existing))
	kept := provider(uuid.NewString(), "secret")
	require.NoError(t, providers.CreateIdentityProvider(ctx, kept))
	errUnit := errors.New("the unit fails")

	fresh := domain.LinkedIdentity{Issuer: existing.Issuer, Subject: uuid.NewString(), UserID: uuid.NewString()}
	p := provider(kept.OrganizationID, "secret")
	err := units.Atomically(ctx, func(ctx context.Context) error {
		require.NoError(t, links.LinkIdentity(ctx, fresh))
		require.ErrorIs(t, links.LinkIdentity(ctx, existing), domain.ErrAlreadyExists, "a refused link inside the unit")
		require.NoError(t, links.DeleteUserIdentities(ctx, existing.UserID))
		require.NoError(t, providers.CreateIdentityProvider(ctx, p))
		_, err := providers.UpdateIdentityProvider(ctx, kept.ID, func(x *domain.IdentityProvider) error {
			x.Name = "renamed in the unit"
			return nil
		})
		require.NoError(t, err)
		require.NoError(t, providers.DeleteIdentityProvider(ctx, kept.ID))
		return errUnit
	})
	require.ErrorIs(t, err, errUnit)
	_, err = links.GetLinkedIdentity(ctx, fresh.Issuer, fresh.Subject)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed unit's link is undone")
	got, err := links.GetLinkedIdentity(ctx, existing.Issuer, existing.Subject)
	require.NoError(t, err, "the failed unit's deletion is undone, and the refused link did not take the existing one with it")
	assert.Equal(t, existing.UserID, got.UserID)
	_, err = providers.GetIdentityProvider(ctx, p.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed unit's provider is undone")
	back, err := providers.GetIdentityProvider(ctx, kept.ID)
	require.NoError(t, err, "the failed unit's update and deletion are undone")
	assert.Equal(t, kept.Name, back.Name)
	assert.Equal(t, kept.ClientSecret, back.ClientSecret)

	err = units.Atomically(ctx, func(ctx context.Context) error {
		if err := links.LinkIdentity(ctx, fresh); err != nil {
			return err
		}
		return links.DeleteUserIdentities(ctx, existing.UserID)
	})
	require.NoError(t, err)
	_, err = links.GetLinkedIdentity(ctx, fresh.Issuer, fresh.Subject)
	require.NoError(t, err, "a unit that commits keeps its link")
	_, err = links.GetLinkedIdentity(ctx, existing.Issuer, existing.Subject)
	require.ErrorIs(t, err, domain.ErrNotFound, "and its deletion")
}

// HasIdentityProviders sees a provider of any organization, and none once
// the last is deleted.
func TestHasIdentityProviders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newIdentityProviderStore(t, testDB(t), randomKEK(t))
	has, err := s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.False(t, has, "an empty store")

	p := provider(uuid.NewString(), "secret")
	require.NoError(t, s.CreateIdentityProvider(ctx, p))
	has, err = s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.True(t, has, "after a create")

	require.NoError(t, s.DeleteIdentityProvider(ctx, p.ID))
	has, err = s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.False(t, has, "after the last is deleted")
}
