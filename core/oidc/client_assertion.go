package oidc

import (
	"context"
	"errors"
	"slices"
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
	if _, _, err := jwt.NewParser().ParseUnverified(cc.Assertion, &unverified); err != nil {
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
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fail
	}
	if err != nil {
		return nil, fault.Store("client keys", err)
	}
	algs := domain.ClientSigningAlgs
	if c.TokenEndpointAuthSigningAlg != "" {
		algs = []string{c.TokenEndpointAuthSigningAlg}
	}
	var claims assertionClaims
	// Claims are checked below, after the signature, by RFC 7523's rules
	// rather than the library's defaults.
	parser := jwt.NewParser(jwt.WithValidMethods(algs), jwt.WithoutClaimsValidation())
	if _, err := parser.ParseWithClaims(cc.Assertion, &claims, keys); err != nil {
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
	case !slices.ContainsFunc(claims.Audience, p.audienceIsUs(endpoint)):
		return "must have the issuer as its aud" // §3 item 3
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
