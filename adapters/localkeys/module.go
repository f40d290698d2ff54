package localkeys

import (
	"context"
	"time"

	"go.uber.org/fx"

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
				lc.Append(watchHook(s, opts.Reload, opts.OnReloadError))
			}
		}),
	)
}

// watchHook runs s.Watch from start to stop: start returns at once, and stop
// waits for the loop to end.
func watchHook(s *Signer, every time.Duration, onErr func(error)) fx.Hook {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				s.Watch(ctx, every, onErr)
			}()
			return nil
		},
		OnStop: func(stopCtx context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-stopCtx.Done():
				return stopCtx.Err()
			}
		},
	}
}
