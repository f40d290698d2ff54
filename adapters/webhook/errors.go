package webhook

import (
	"fmt"
	"net/netip"
)

// RefusedError is why Sender would not connect: the peer's address is of a
// class its policy forbids. It names the address, never the URL (whose query
// may carry a token).
type RefusedError struct {
	IP    netip.Addr
	Class Class
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused: %s is %s address", e.IP, e.Class.article())
}
