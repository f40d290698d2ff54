package system

import (
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides the wall clock and crypto/rand as the Clock and Random ports.
var Module = fx.Module("system",
	fx.Provide(
		fx.Annotate(NewClock, fx.As(new(ports.Clock))),
		fx.Annotate(NewRandom, fx.As(new(ports.Random))),
	),
)
