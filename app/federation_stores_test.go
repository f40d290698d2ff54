package app_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Every storage driver's graph provides federation's two stores, and they
// work: the provider store under the configured key-encryption key. No
// core service asks for them yet, and fx builds only what is asked for, so
// the test asks.
func TestFederationStoresAreWiredOnEveryDriver(t *testing.T) {
	t.Parallel()
	drivers := map[string]func(t *testing.T) func(*config.Config){
		"memory":   func(*testing.T) func(*config.Config) { return nil },
		"postgres": func(t *testing.T) func(*config.Config) { return usePostgres(postgresDSN(t), newKEK()) },
		"mongo": func(t *testing.T) func(*config.Config) {
			uri, db := mongoURI(t)
			return useMongo(uri, db, newKEK())
		},
	}
	for name, driver := range drivers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var (
				providers ports.IdentityProviderStore
				links     ports.LinkedIdentityStore
				orgs      ports.OrganizationStore
			)
			srv := startServer(t, driver(t), fx.Populate(&providers, &links, &orgs))
			ctx := context.Background()

			// A backend may keep providers only of organizations, and links
			// only of users, it holds.
			org := domain.Organization{ID: uuid.NewString(), Name: "Springfield", Slug: "springfield-" + uuid.NewString(), MFAPolicy: domain.MFAOff}
			require.NoError(t, orgs.CreateOrganization(ctx, org))
			p := domain.IdentityProvider{ID: uuid.NewString(), OrganizationID: org.ID, Issuer: "https://accounts.google.com", ClientSecret: "GOCSPX-secret"}
			require.NoError(t, providers.CreateIdentityProvider(ctx, p))
			got, err := providers.GetIdentityProvider(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, p.ClientSecret, got.ClientSecret)

			user, err := srv.Users.GetUserByEmail(ctx, seedEmail)
			require.NoError(t, err)
			l := domain.LinkedIdentity{Issuer: p.Issuer, Subject: uuid.NewString(), UserID: user.ID, ProviderID: p.ID}
			require.NoError(t, links.LinkIdentity(ctx, l))
			linked, err := links.GetLinkedIdentity(ctx, l.Issuer, l.Subject)
			require.NoError(t, err)
			assert.Equal(t, user.ID, linked.UserID)
		})
	}
}
