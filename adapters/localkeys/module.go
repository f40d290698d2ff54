package localkeys

import (
	"context"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/internal/background"
	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides a *Signer, also as ports.KeySigner, built from opts over
// the ports.KeyStore and ports.Clock in the graph. If opts.Reload is
// positive, the signer re-reads the store that often while the app runs.
func Module(opts Options) fx.Option {
	return fx.Module("localkeys",
		fx.Provide(fx.Annotate(
			func(store ports.KeyStore, clock ports.Clock) (*Signer, error) {
				// Loading and making keys happens once, while the graph is
				// built, so a misconfigured store fails the start.
				return New(context.Background(), store, clock, opts)
			},
			fx.As(fx.Self()),
			fx.As(new(ports.KeySigner)),
		)),
		fx.Invoke(func(lc fx.Lifecycle, s *Signer) {
			if opts.Reload > 0 {
				// Watch runs from start to stop: start returns at once,
				// and stop waits for the loop to end.
				watch := background.New(func(ctx context.Context) { s.Watch(ctx, opts.Reload, opts.OnReloadError) })
				lc.Append(fx.StartStopHook(watch.Start, watch.Stop))
			}
		}),
	)
}
