package webhook

import "net/netip"

// Class is the kind of an IP address as far as the SSRF policy cares.
type Class string

// Address classes. Public addresses are the only ones always allowed.
const (
	Public      Class = ""
	Loopback    Class = "loopback"       // 127/8, ::1
	Private     Class = "private"        // RFC 1918, fc00::/7
	Shared      Class = "shared (CGNAT)" // RFC 6598 100.64/10
	LinkLocal   Class = "link-local"     // 169.254/16 (cloud metadata), fe80::/10
	Unspecified Class = "unspecified"    // 0.0.0.0, ::
	Multicast   Class = "multicast"      // 224/4, ff00::/8, link-local scope included
	Reserved    Class = "reserved"       // 0/8, 240/4 and broadcast, IETF and benchmark ranges
)

func (c Class) article() string {
	switch c {
	case Unspecified:
		return "an " + string(c)
	case Public:
		return "a public"
	}
	return "a " + string(c)
}

var (
	sharedNet    = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598
	reservedNets = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),      // RFC 1122 "this network": Linux dials it as local
		netip.MustParsePrefix("192.0.0.0/24"),   // RFC 6890 IETF protocol assignments
		netip.MustParsePrefix("198.18.0.0/15"),  // RFC 2544 benchmarking
		netip.MustParsePrefix("240.0.0.0/4"),    // RFC 1112 reserved, and 255.255.255.255
		netip.MustParsePrefix("64:ff9b:1::/48"), // RFC 8215 local-use NAT64
		netip.MustParsePrefix("100::/64"),       // RFC 6666 discard-only
		netip.MustParsePrefix("2001:db8::/32"),  // RFC 3849 documentation
	}
	nat64Net = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the IPv4 address is the last 32 bits
)

// Classify says what kind of address ip is. IPv4-mapped IPv6 addresses
// (::ffff:127.0.0.1) and NAT64 ones (64:ff9b::a00:5) are judged by the IPv4
// address they reach.
func Classify(ip netip.Addr) Class {
	ip = ip.WithZone("").Unmap()
	if nat64Net.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case !ip.IsValid() || ip.IsUnspecified():
		return Unspecified
	case ip.IsLoopback():
		return Loopback
	case ip.IsMulticast():
		return Multicast
	case ip.IsLinkLocalUnicast():
		return LinkLocal
	case ip.IsPrivate():
		return Private
	case sharedNet.Contains(ip):
		return Shared
	}
	for _, p := range reservedNets {
		if p.Contains(ip) {
			return Reserved
		}
	}
	if ip.Is6() && !publicV6(ip) {
		return Reserved
	}
	return Public
}

// IPv6 ranges that are global unicast on paper but embed an IPv4 address
// (6to4, Teredo) or are deprecated (site-local): refused, since they can
// route to places the IPv4 checks above would refuse.
var (
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	notPublicV6     = []netip.Prefix{
		netip.MustParsePrefix("2002::/16"), // 6to4
		netip.MustParsePrefix("2001::/32"), // Teredo
	}
)

// publicV6 admits only global unicast IPv6 outside the tunnelling ranges;
// anything else (IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d,
// site-local fec0::/10, …) is not public.
func publicV6(ip netip.Addr) bool {
	if !globalUnicastV6.Contains(ip) {
		return false
	}
	for _, p := range notPublicV6 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// policy is which classes besides Public a Sender may connect to.
type policy struct {
	allowLoopback bool
	allowPrivate  bool
}

// check returns a *RefusedError when ip may not be connected to.
// AllowPrivate opens private and CGNAT ranges (an on-premises deployment's
// own services); link-local, multicast, unspecified and reserved addresses
// are never reachable, since nothing legitimate receives webhooks there.
func (p policy) check(ip netip.Addr) error {
	switch c := Classify(ip); {
	case c == Public,
		c == Loopback && p.allowLoopback,
		(c == Private || c == Shared) && p.allowPrivate:
		return nil
	default:
		return &RefusedError{IP: ip.WithZone("").Unmap(), Class: c}
	}
}
