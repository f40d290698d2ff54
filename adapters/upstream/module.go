package upstream

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides the *Client as ports.Upstream (and as itself), made from
// the Options in the graph with the graph's logger, and closed as the
// application stops.
var Module = fx.Module("upstream",
	fx.Provide(fx.Annotate(provide, fx.As(fx.Self()), fx.As(new(ports.Upstream)))),
)

type moduleIn struct {
	fx.In
	Lifecycle fx.Lifecycle
	Options   Options
	Log       *slog.Logger `optional:"true"`
}

func provide(in moduleIn) *Client {
	opts := in.Options
	if opts.Log == nil {
		opts.Log = in.Log
	}
	c := New(opts)
	in.Lifecycle.Append(fx.StopHook(c.Close))
	return c
}
