package http

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// proxies are the trusted proxies (http.trusted_proxies) and the header
// they set, parsed once.
type proxies struct {
	nets   []netip.Prefix
	header string
}

// parseProxies reads trusted proxies given as addresses or CIDRs.
func parseProxies(list []string, header string) (proxies, error) {
	p := proxies{header: header}
	if p.header == "" {
		p.header = fiber.HeaderXForwardedFor
	}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if pfx, err := netip.ParsePrefix(s); err == nil {
			p.nets = append(p.nets, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return proxies{}, fmt.Errorf("trusted proxy %q is not an IP address or CIDR", s)
		}
		a = a.Unmap()
		p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

func (p proxies) trusts(a netip.Addr) bool {
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address of the client. Without trusted proxies, or from
// a peer that is not one, it is the peer's. From a trusted proxy it is the
// rightmost address of the proxy header that is not itself a trusted proxy,
// as nginx's real_ip_recursive takes it: each proxy appends the address it
// saw, so the entries left of the last untrusted one are whatever the
// client chose to send. A malformed entry stops the walk at the closest
// address known good.
func (s *Server) clientIP(c *fiber.Ctx) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.Context().RemoteIP().String()
	}
	peer = peer.Unmap()
	if len(s.proxies.nets) == 0 || !s.proxies.trusts(peer) {
		return peer.String()
	}
	var hops []string
	c.Request().Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), s.proxies.header) {
			hops = append(hops, strings.Split(string(v), ",")...)
		}
	})
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !s.proxies.trusts(client) {
			break
		}
	}
	return client.String()
}
