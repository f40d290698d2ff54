package ports

import (
	"context"
	"time"
)

// ReplayCache remembers values that may be used only once until they
// expire: the jti of a client assertion (RFC 7523 §3, item 7) and of a DPoP
// proof (RFC 9449 §11.1). Every instance of the provider shares it, so a
// value used on one instance is refused on all of them.
type ReplayCache interface {
	// Remember records key until expiresAt and reports whether this call
	// was its first use: of concurrent calls with one key, on any instance,
	// exactly one gets true. A key whose expiresAt has passed at now counts
	// as unused again (the caller refuses the expired assertion or proof
	// itself). Callers namespace their keys ("client-assertion:…",
	// "dpop:…") and bound their length (at most 512 bytes).
	//
	// An error means the use could not be recorded; the caller then
	// refuses the request (fail closed), as a replay could not be ruled out.
	Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error)
}
