package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/ports"
)

// Every storage driver provides the replay cache that client assertions and
// DPoP proofs need, so the app starts with it whichever driver is picked.
func TestEveryStorageProvidesTheReplayCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T) func(*config.Config)
	}{
		{"memory", func(*testing.T) func(*config.Config) { return nil }},
		{"postgres", func(t *testing.T) func(*config.Config) { return usePostgres(postgresDSN(t), newKEK()) }},
		{"mongo", func(t *testing.T) func(*config.Config) {
			uri, database := mongoURI(t)
			return useMongo(uri, database, newKEK())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			port := freePort(t)
			cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", port)
			cfg.HTTP.MetricsAddr = "127.0.0.1:0"
			cfg.Issuer = fmt.Sprintf("http://127.0.0.1:%d", port)
			if edit := tc.edit(t); edit != nil {
				edit(&cfg)
			}
			opts, err := app.Options(cfg, slog.New(slog.DiscardHandler))
			require.NoError(t, err)

			var replays ports.ReplayCache
			fxApp := fx.New(opts,
				fx.Supply(fx.Annotate(io.Discard, fx.As(new(io.Writer)), fx.ResultTags(`name:"banner"`))),
				fx.Populate(&replays),
			)
			require.NoError(t, fxApp.Err(), "the app graph builds")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, fxApp.Start(ctx))
			t.Cleanup(func() { require.NoError(t, fxApp.Stop(context.Background())) })

			now := time.Now()
			key := "client-assertion:" + t.Name()
			first, err := replays.Remember(ctx, key, now, now.Add(time.Minute))
			require.NoError(t, err)
			assert.True(t, first)
			again, err := replays.Remember(ctx, key, now, now.Add(time.Minute))
			require.NoError(t, err)
			assert.False(t, again)
		})
	}
}
