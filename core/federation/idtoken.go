package federation

import (
	"crypto/subtle"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Known upstreams whose tokens need a check of their own.
const (
	googleIssuer = "https://accounts.google.com"
	entraHost    = "login.microsoftonline.com"
)

func exchange(p *domain.IdentityProvider, md domain.UpstreamMetadata, a *domain.UpstreamAttempt, code, redirectURI string) ports.UpstreamExchange {
	return ports.UpstreamExchange{
		Metadata: md, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		Code: code, CodeVerifier: a.CodeVerifier, RedirectURI: redirectURI,
	}
}

// upstreamUser is who an ID token says signed in.
type upstreamUser struct {
	Issuer, Subject       string
	Email                 string // normalised; "" if none
	EmailVerified         bool
	GivenName, FamilyName string
	AMR                   []string
}

// checkIDToken checks an ID token's claims as OIDC Core §3.1.3.7 asks (its
// signature was checked by the port): iss is the provider's issuer
// exactly, aud holds our client id, azp (required with several audiences)
// is our client id, exp is ahead and iat not ahead, and nonce is the
// attempt's. Entra ID's tid must be the tenant of its issuer, so that a
// token of another tenant is never taken for one of the school's.
func (s *Service) checkIDToken(p *domain.IdentityProvider, md domain.UpstreamMetadata, a *domain.UpstreamAttempt, c map[string]any) (upstreamUser, *Failure) {
	now := s.now()
	iss, _ := c["iss"].(string)
	sub, _ := c["sub"].(string)
	nonce, _ := c["nonce"].(string)
	aud, okAud := audiences(c["aud"])
	azpClaim, hasAZP := c["azp"]
	azp, okAZP := azpClaim.(string)
	exp, okExp := numericDate(c["exp"])
	iat, okIat := numericDate(c["iat"])
	switch {
	case iss != p.Issuer || iss != md.Issuer:
		return upstreamUser{}, failToken
	case sub == "" || len(sub) > 255 || !domain.PrintableText(sub, 255):
		// A subject is stored and compared as text: no NUL, no controls.
		return upstreamUser{}, failToken
	case !okAud || hasAZP && !okAZP:
		return upstreamUser{}, failToken
	case !slices.Contains(aud, p.ClientID):
		return upstreamUser{}, failToken
	case (len(aud) > 1 || hasAZP) && azp != p.ClientID:
		return upstreamUser{}, failToken
	case !okExp || !now.Before(exp.Add(s.cfg.Skew)):
		return upstreamUser{}, failToken
	case !okIat || iat.After(now.Add(s.cfg.Skew)):
		return upstreamUser{}, failToken
	case subtle.ConstantTimeCompare([]byte(nonce), []byte(a.Nonce)) != 1:
		return upstreamUser{}, failToken
	}
	if a.Fresh {
		// Asked with max_age, the upstream must say when the user signed
		// in (OIDC Core §3.1.2.1), and it must be recent enough.
		at, ok := numericDate(c["auth_time"])
		if !ok || now.Sub(at) > time.Duration(a.MaxAge)*time.Second+s.cfg.Skew {
			return upstreamUser{}, failStale
		}
	}
	if tenant, ok := entraTenant(p.Issuer); ok {
		if tid, _ := c["tid"].(string); tid != tenant {
			return upstreamUser{}, failToken
		}
	}
	u := upstreamUser{Issuer: iss, Subject: sub, AMR: upstreamAMR(c["amr"])}
	if email, _ := c["email"].(string); domain.ValidEmail(domain.NormalizeEmail(email)) {
		u.Email = domain.NormalizeEmail(email)
	}
	u.EmailVerified = truthy(c["email_verified"])
	if _, ok := entraTenant(p.Issuer); ok {
		// Entra ID sends no email_verified. Its optional claim xms_edov
		// says the email's domain is one the tenant verified.
		u.EmailVerified = truthy(c["xms_edov"])
	}
	if p.Issuer == googleIssuer {
		// A personal Google account may carry a school's address; only a
		// Workspace account of the domain has hd (Google's own advice).
		if hd, _ := c["hd"].(string); hd == "" || domain.NormalizeDomain(hd) != domain.EmailDomain(u.Email) {
			u.EmailVerified = false
		}
	}
	u.GivenName, _ = c["given_name"].(string)
	u.FamilyName, _ = c["family_name"].(string)
	if name, _ := c["name"].(string); u.GivenName == "" && u.FamilyName == "" && name != "" {
		u.GivenName, u.FamilyName = splitName(name)
	}
	return u, nil
}

// entraTenant returns the tenant of an Entra ID v2.0 issuer
// (https://login.microsoftonline.com/{tenant}/v2.0).
func entraTenant(issuer string) (string, bool) {
	u, err := url.Parse(issuer)
	if err != nil || !strings.EqualFold(u.Hostname(), entraHost) {
		return "", false
	}
	tenant, rest, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || rest != "v2.0" || tenant == "" {
		return "", false
	}
	return tenant, true
}

// multiTenant reports whether an Entra ID "tenant" is one of the names
// that accept users of any tenant.
func multiTenant(tenant string) bool {
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers", "{tenantid}":
		return true
	}
	return false
}

// audiences reads aud, a string or an array of strings (RFC 7519 §4.1.3);
// ok is false for anything else, an array with a non-string included.
func audiences(v any) ([]string, bool) {
	switch a := v.(type) {
	case string:
		return []string{a}, true
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case []string:
		return a, true
	}
	return nil, false
}

// strs reads an array of strings, skipping anything else (amr).
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// truthy is a boolean claim, which some providers send as a string.
func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

var amrValue = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// upstreamAMR keeps the upstream's amr values (RFC 8176) that look like
// method names, at most eight, after "fed".
func upstreamAMR(v any) []string {
	out := []string{"fed"}
	for _, m := range strs(v) {
		if amrValue.MatchString(m) && !slices.Contains(out, m) && len(out) < 9 {
			out = append(out, m)
		}
	}
	return out
}

func splitName(name string) (string, string) {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		return strings.TrimSpace(name[:i]), strings.TrimSpace(name[i+1:])
	}
	return name, ""
}
