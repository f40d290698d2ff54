package vault

import (
	"context"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides a *Signer, also as ports.KeySigner, built from opts with
// the ports.Clock in the graph (unless opts.Clock is set). The signer is
// built, and Vault reached, while the graph is built, so a wrong address or
// credential fails the start; its background work stops with the app.
func Module(opts Options) fx.Option {
	return fx.Module("vault",
		fx.Provide(fx.Annotate(
			func(lc fx.Lifecycle, clock ports.Clock) (*Signer, error) {
				if opts.Clock == nil {
					opts.Clock = clock
				}
				s, err := New(context.Background(), opts)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(s.Close))
				return s, nil
			},
			fx.As(fx.Self()),
			fx.As(new(ports.KeySigner)),
		)),
	)
}
