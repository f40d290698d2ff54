package domain

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// ValidateRedirectURI checks a redirect URI at registration. Redirect URIs
// are compared exactly at authorize, so here they must be absolute, carry no
// fragment (RFC 6749 §3.1.2) and no wildcard, and use HTTPS except for
// loopback hosts on any port (RFC 8252 §7.3, the guide's localhost example).
func ValidateRedirectURI(raw string) error {
	if raw == "" || len(raw) > 2000 {
		return errors.New("must be a non-empty URI of at most 2000 characters")
	}
	if strings.Contains(raw, "*") {
		return errors.New("must not contain a wildcard")
	}
	if strings.ContainsAny(raw, " \t\r\n\\") {
		return errors.New("must not contain whitespace or backslashes")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x21 || raw[i] > 0x7e {
			// A raw U+202E in a host would show "springfieldhigh.edu" for
			// another on the consent page.
			return errors.New("must be printable ASCII: percent-encode other characters, and write an internationalised host in its xn-- form")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("must be an absolute URI with a host")
	}
	if strings.Contains(raw, "#") {
		return errors.New("must not contain a fragment")
	}
	if u.User != nil {
		return errors.New("must not contain user information")
	}
	if host := authority(raw); strings.Contains(host, "%") {
		// url.Parse decodes %D0%B0 in a host into a Cyrillic "а", which
		// the sign-in page would show in the application's link.
		return errors.New("must not percent-encode its host: write an internationalised host in its xn-- form")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (http is allowed only for localhost, 127.0.0.1 and [::1])")
	default:
		return errors.New("must use https")
	}
}

// IsLoopbackHost reports whether host is localhost or a loopback literal
// (127.0.0.1 or ::1).
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// authority is the host[:port] part of an absolute URI as written.
func authority(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
