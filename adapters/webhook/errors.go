package webhook

import (
	"fmt"
	"net/netip"
)

// RefusedError is why Sender would not connect: the peer's address is of a
// class its policy forbids. Its message, which the subscription's owner
// sees in the delivery log, names neither the address nor its class, so
// that a subscription cannot be used to map what internal names resolve
// to; Detail does, for the operator's log.
type RefusedError struct {
	IP    netip.Addr
	Class Class
}

func (e *RefusedError) Error() string {
	return "refused: the endpoint's address is not public"
}

// Detail names the address and its class.
func (e *RefusedError) Detail() string {
	return fmt.Sprintf("refused: %s is %s address", e.IP, e.Class.article())
}
