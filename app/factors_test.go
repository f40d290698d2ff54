package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Every storage driver's graph provides a FactorStore that works, under
// the configured key-encryption key. No core service asks for it yet, and
// fx builds only what is asked for, so the test asks.
func TestFactorStoreIsWiredOnEveryDriver(t *testing.T) {
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
			var factors ports.FactorStore
			srv := startServer(t, driver(t), fx.Populate(&factors))
			ctx := context.Background()
			// The seed user: a backend may keep factors only of users it holds.
			user, err := srv.Users.GetUserByEmail(ctx, seedEmail)
			require.NoError(t, err)
			_, err = factors.UpdateFactors(ctx, user.ID, func(f *domain.Factors) error {
				f.TOTP = &domain.TOTP{Secret: []byte("12345678901234567890")}
				return nil
			})
			require.NoError(t, err)
			got, err := factors.GetFactors(ctx, user.ID)
			require.NoError(t, err)
			require.NotNil(t, got.TOTP)
			assert.Equal(t, []byte("12345678901234567890"), got.TOTP.Secret)
		})
	}
}
