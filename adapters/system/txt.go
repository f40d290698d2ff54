package system

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// txtTimeout bounds one TXT lookup, retries included: a domain check is
// made while someone waits for the page, and a resolver that has not
// answered in this time will not, so it is better to say "try again".
const txtTimeout = 5 * time.Second

var _ ports.TXTResolver = (*NetResolver)(nil)

// NetResolver is the ports.TXTResolver of the system's DNS resolver, as
// net.DefaultResolver finds it (/etc/resolv.conf on Unix).
type NetResolver struct {
	resolver *net.Resolver
	timeout  time.Duration
}

// NewNetResolver returns the resolver of the system's DNS.
func NewNetResolver() *NetResolver {
	return &NetResolver{resolver: net.DefaultResolver, timeout: txtTimeout}
}

// LookupTXT returns the TXT records at name, each record's strings joined
// as one (RFC 7208 §3.3 reads them so, and so do domain verifications).
// A name that does not exist, or has no TXT record, has none: that is an
// answer, the domain is not verified. Anything else (a timeout, SERVFAIL,
// no resolver) wraps domain.ErrUnavailable: the answer is not known yet.
func (r *NetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	records, err := r.resolver.LookupTXT(ctx, name)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("lookup TXT %s: %w: %w", name, domain.ErrUnavailable, err)
	}
	return records, nil
}

// notFound reports whether err is the resolver's answer that the name has
// no records: NXDOMAIN, or NOERROR with no record of the type (Go reports
// both as "no such host").
func notFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
