package system

import (
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides the wall clock, crypto/rand and the system's DNS
// resolver as the Clock, Random and TXTResolver ports.
var Module = fx.Module("system",
	fx.Provide(
		fx.Annotate(NewClock, fx.As(new(ports.Clock))),
		fx.Annotate(NewRandom, fx.As(new(ports.Random))),
		fx.Annotate(NewNetResolver, fx.As(new(ports.TXTResolver))),
	),
)
