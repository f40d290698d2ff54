package system

import (
	"net"
	"time"
)

// NewNetResolverWith returns a NetResolver over r, so that tests can point
// it at a DNS server of their own.
func NewNetResolverWith(r *net.Resolver, timeout time.Duration) *NetResolver {
	return &NetResolver{resolver: r, timeout: timeout}
}
