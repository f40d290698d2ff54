package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// AssertionTypeJWT is the client_assertion_type of a JWT client assertion
// (RFC 7523 §2.2).
const AssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Bounds on client assertions.
const (
	// maxAssertionLife is how far in the future an assertion's exp may be:
	// an assertion is made for one request, and its jti is remembered
	// until it expires.
	maxAssertionLife = 10 * time.Minute
	// assertionLeeway absorbs clock skew between client and server.
	assertionLeeway = 30 * time.Second
	maxJTILen       = 255
)

// assertionClaims are the claims RFC 7523 §3 asks of a client assertion.
type assertionClaims struct {
	jwt.RegisteredClaims
}

// authenticateAssertion authenticates a private_key_jwt client (RFC 7523
// §2.2 and §3, OIDC Core §9) at endpoint, a path of this server.
//
// Until the signature is verified every failure is the same bare
// invalid_client, so nobody learns which client ids exist or what keys
// they have. After it, the description says what was wrong: only the
// client could have signed the assertion, and it needs to know.
func (p *Provider) authenticateAssertion(ctx context.Context, cc ClientCredentials, endpoint string) (*domain.Client, error) {
	fail := &Error{Code: CodeInvalidClient, Description: "client authentication failed"}
	if cc.AssertionType != AssertionTypeJWT || cc.Assertion == "" || len(cc.Assertion) > maxJWTLen || cc.Secret != "" || cc.Basic {
		return nil, fail
	}
	var unverified assertionClaims
	tok, _, err := jwt.NewParser().ParseUnverified(cc.Assertion, &unverified)
	if err != nil || !plainAssertion(tok, cc.Assertion) {
		return nil, fail
	}
	id := unverified.Subject
	if id == "" || len(id) > maxIDLen || cc.ClientID != "" && cc.ClientID != id {
		// RFC 7521 §4.2: a client_id sent alongside must name the same client.
		return nil, fail
	}
	c, err := p.deps.Clients.GetClient(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fail
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	if !c.Active() || !c.SignsAssertions() {
		return nil, fail
	}
	keys, err := p.deps.ClientKeys.Keyfunc(ctx, &c)
	if errors.Is(err, domain.ErrUnavailable) {
		return nil, fault.Store("client keys", err) // a jwks_uri that cannot be fetched
	}
	if err != nil {
		return nil, fail // no usable keys: the adapter says why in its log
	}
	algs := domain.ClientSigningAlgs
	if c.TokenEndpointAuthSigningAlg != "" {
		algs = []string{c.TokenEndpointAuthSigningAlg}
	}
	var claims assertionClaims
	// Claims are checked below, after the signature, by RFC 7523's rules
	// rather than the library's defaults.
	parser := jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithoutClaimsValidation())
	if _, err := parser.ParseWithClaims(cc.Assertion, &claims, acceptableKeys(keys)); err != nil {
		return nil, fail
	}
	if why := p.checkAssertionClaims(&claims, c.ID, endpoint); why != "" {
		return nil, &Error{Code: CodeInvalidClient, Description: "client assertion " + why}
	}
	fresh, err := p.deps.Replay.Remember(ctx, "client-assertion:"+c.ID+":"+claims.ID, p.now(), claims.ExpiresAt.Add(assertionLeeway))
	if err != nil {
		return nil, fault.Store("remember client assertion", err)
	}
	if !fresh {
		// RFC 7523 §3 item 7: a jti is used once.
		return nil, &Error{Code: CodeInvalidClient, Description: "client assertion was already used (its jti repeats)"}
	}
	return &c, nil
}

// checkAssertionClaims applies RFC 7523 §3 to a verified assertion of
// client id, sent to endpoint. It says what is wrong, "" when nothing is.
func (p *Provider) checkAssertionClaims(claims *assertionClaims, id, endpoint string) string {
	now := p.now()
	switch {
	case claims.Issuer != id || claims.Subject != id:
		return "must have iss and sub equal to the client_id" // §3 items 1 and 2
	case len(claims.Audience) == 0 || slices.ContainsFunc(claims.Audience, not(p.audienceIsUs(endpoint))):
		// §3 item 3. Every value must name us: an assertion also meant for
		// another server could be replayed there (the OpenID Foundation's
		// 2025 audience-injection advisory).
		return "must have the issuer as its aud, and no other value"
	case claims.ExpiresAt == nil:
		return "must have an exp" // §3 item 4
	case !now.Before(claims.ExpiresAt.Add(assertionLeeway)):
		return "has expired"
	case claims.ExpiresAt.After(now.Add(maxAssertionLife + assertionLeeway)):
		return "must expire within 10 minutes" // §3 item 4: the server may limit it
	case claims.NotBefore != nil && claims.NotBefore.After(now.Add(assertionLeeway)):
		return "is not valid yet (nbf)" // §3 item 5
	case claims.IssuedAt != nil && claims.IssuedAt.After(now.Add(assertionLeeway)):
		return "was issued in the future (iat)" // §3 item 6
	case claims.ID == "" || len(claims.ID) > maxJTILen:
		return "must have a jti of at most 255 characters" // §3 item 7
	}
	return ""
}

// plainAssertion reports whether an assertion uses nothing this server
// does not understand: no "crit" header (RFC 7515 §4.1.11: an extension a
// recipient does not know must be refused), and exp, nbf and iat, when
// present, as JSON numbers (RFC 7519 §2 NumericDate), not strings.
func plainAssertion(tok *jwt.Token, raw string) bool {
	if _, crit := tok.Header["crit"]; crit {
		return false
	}
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1]) // ParseUnverified proved three parts
	if err != nil {
		return false
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return false
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := claims[name]; ok && (len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return false
		}
	}
	return true
}

// acceptableKeys lets through only keys checkPublicKey accepts, whether
// registered inline or served at a jwks_uri (which registration never saw).
func acceptableKeys(keys jwt.Keyfunc) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		k, err := keys(t)
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case jwt.VerificationKeySet:
			var ok jwt.VerificationKeySet
			for _, key := range k.Keys {
				if checkPublicKey(key) == "" {
					ok.Keys = append(ok.Keys, key)
				}
			}
			if len(ok.Keys) == 0 {
				return nil, errNoClientKey
			}
			return ok, nil
		default:
			if checkPublicKey(k) != "" {
				return nil, errNoClientKey
			}
			return k, nil
		}
	}
}

var errNoClientKey = errors.New("no acceptable key")

// audienceIsUs matches the aud values that name this server at endpoint:
// the issuer (RFC 7523 §3 item 3, as FAPI 2.0 and the OpenID Foundation's
// 2025 advice prefer), the token endpoint (OIDC Core §9), or the endpoint
// the assertion was sent to (RFC 9126 §2 for PAR, and likewise for
// introspection and revocation).
func (p *Provider) audienceIsUs(endpoint string) func(string) bool {
	iss := p.cfg.Issuer
	return func(aud string) bool {
		return aud == iss || aud == iss+PathToken || endpoint != "" && aud == iss+endpoint
	}
}

func not[T any](f func(T) bool) func(T) bool { return func(v T) bool { return !f(v) } }
