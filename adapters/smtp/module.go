package smtp

import (
	"io"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides a *Mailer, also as ports.Mailer, built from opts. Bad
// options fail the start; nothing connects until the first Send.
func Module(opts Options) fx.Option {
	return fx.Module("smtp",
		fx.Provide(fx.Annotate(
			func() (*Mailer, error) { return New(opts) },
			fx.As(fx.Self()),
			fx.As(new(ports.Mailer)),
		)),
	)
}

// LogModule provides a *LogMailer writing to w (stdout if nil), also as
// ports.Mailer: the development choice.
func LogModule(w io.Writer) fx.Option {
	return fx.Module("logmailer",
		fx.Provide(fx.Annotate(
			func() *LogMailer { return NewLogMailer(w) },
			fx.As(fx.Self()),
			fx.As(new(ports.Mailer)),
		)),
	)
}

// Both mailers implement the port; a drift is a compile error here rather
// than a start-up error in fx.
var (
	_ ports.Mailer = (*Mailer)(nil)
	_ ports.Mailer = (*LogMailer)(nil)
)
