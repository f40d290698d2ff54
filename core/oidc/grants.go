package oidc

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// grant is one grant type of the token endpoint (RFC 6749 §1.3). Adding a
// grant type means adding an entry to grants, and its handler in a file of
// its own (token_<name>.go): the token endpoint, dynamic registration and
// discovery all read the registry.
type grant struct {
	// typ is the grant_type value.
	typ string
	// exchange runs the grant for an authenticated client that registered
	// it and that refuse lets use it.
	exchange func(p *Provider, ctx context.Context, client *domain.Client, req TokenRequest) (TokenResponse, error)
	// registrable grants are accepted in grant_types by dynamic
	// registration (RFC 7591 §2).
	registrable bool
	// advertised grants are listed in discovery's grant_types_supported
	// (RFC 8414 §2), in registry order.
	advertised bool
	// requiresOneOf names grants of which a client must register at least
	// one too; nil for none. Registration checks it; the token endpoint
	// needs no check, as the registered grants were checked when they were
	// registered.
	requiresOneOf []string
	// refuse says why client may not use the grant, "" when it may: nil
	// lets every client use it. Registration answers the reason as
	// invalid_client_metadata, the token endpoint as unauthorized_client,
	// so a client stored before a rule existed is refused too.
	refuse func(client *domain.Client) string
	// limitsItself grants count their requests against the client's token
	// allowance themselves, with keys of their own; the others are counted
	// per client before they run (guide §7).
	limitsItself bool
}

// grants is the one list of the grant types this provider implements.
var grants = []grant{
	{
		typ: domain.GrantAuthorizationCode, exchange: (*Provider).exchangeCode,
		registrable: true, advertised: true,
	},
	{
		typ: domain.GrantRefreshToken, exchange: (*Provider).refresh,
		registrable: true, advertised: true,
		// Refresh tokens are issued only by the grants that sign a user
		// in: the code grant and the device grant.
		requiresOneOf: []string{domain.GrantAuthorizationCode, domain.GrantDeviceCode},
	},
	{
		typ: domain.GrantClientCredentials, exchange: (*Provider).clientCredentials,
		registrable: true, advertised: true,
		refuse: confidentialOnly(domain.GrantClientCredentials),
	},
	{
		typ: domain.GrantDeviceCode, exchange: (*Provider).exchangeDevice, registrable: true, advertised: true,
		// Each device polls every few seconds for minutes: counted per
		// device code, so one app's devices, or anyone naming a public
		// client, cannot use up each other's allowance (token_device.go).
		limitsItself: true,
	},
}

// grantFor returns the registry's entry for a grant_type value.
func grantFor(typ string) (*grant, bool) {
	for i := range grants {
		if grants[i].typ == typ {
			return &grants[i], true
		}
	}
	return nil, false
}

// advertisedGrants lists grant_types_supported for discovery.
func advertisedGrants() []string {
	var out []string
	for _, g := range grants {
		if g.advertised {
			out = append(out, g.typ)
		}
	}
	return out
}

// refuses runs the grant's eligibility rule for client.
func (g *grant) refuses(client *domain.Client) string {
	if g.refuse == nil {
		return ""
	}
	return g.refuse(client)
}

// confidentialOnly refuses public clients: a grant without a user (RFC 6749
// §4.4) has nothing but the client's secret to prove who asks.
func confidentialOnly(typ string) func(*domain.Client) string {
	return func(c *domain.Client) string {
		if c.Public() {
			return "public clients cannot use " + typ
		}
		return ""
	}
}
