package webhook

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/core/webhooks"
	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides the *Sender as ports.WebhookSender, the *ClientKeys as
// ports.ClientKeys and, unless
// opts.Disabled, runs the Worker over the graph's *webhooks.Service for the
// application's lifetime: start returns at once, stop lets in-flight posts
// be recorded until the stop timeout.
//
// The *Notifier is not provided here: app wraps the storage's
// EventPublisher in one (NewNotifier) and gives it to the core as the
// publisher. When the graph holds one, the worker listens to it; otherwise
// it only polls.
func Module(opts Options) fx.Option {
	options := []fx.Option{
		fx.Provide(fx.Annotate(
			func() *Sender { return NewSender(opts) },
			fx.As(fx.Self()),
			fx.As(new(ports.WebhookSender)),
		)),
		fx.Provide(fx.Annotate(
			func(lc fx.Lifecycle, log *slog.Logger) *ClientKeys {
				k := NewClientKeys(opts, log)
				lc.Append(fx.StopHook(k.Close))
				return k
			},
			fx.As(new(ports.ClientKeys)),
		)),
	}
	if !opts.Disabled {
		options = append(options, fx.Invoke(func(lc fx.Lifecycle, in workerIn) {
			var wake <-chan struct{}
			if in.Notifier != nil {
				wake = in.Notifier.Wake()
			}
			w := NewWorker(in.Service, wake, opts, in.Log)
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error { w.Start(); return nil },
				OnStop:  w.Stop,
			})
		}))
	}
	return fx.Module("webhook", options...)
}

type workerIn struct {
	fx.In
	Service  *webhooks.Service
	Notifier *Notifier `optional:"true"`
	Log      *slog.Logger
}
