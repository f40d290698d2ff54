package upstream_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/upstream"
	"github.com/calimatic/calimatic-auth/ports"
)

func TestModuleProvidesTheClientFromTheGraphsOptions(t *testing.T) {
	u := newTestUpstream(t)
	var up ports.Upstream
	app := fx.New(
		upstream.Module,
		fx.Supply(upstream.Options{Timeout: 2 * time.Second}, slog.New(slog.DiscardHandler)),
		fx.Populate(&up),
		fx.NopLogger,
	)
	require.NoError(t, app.Err())
	require.NoError(t, app.Start(context.Background()))
	t.Cleanup(func() { _ = app.Stop(context.Background()) })

	assert.IsType(t, &upstream.Client{}, up)
	md, err := up.Discover(context.Background(), u.URL)
	require.NoError(t, err)
	assert.Equal(t, u.URL+"/token", md.TokenEndpoint)
}
