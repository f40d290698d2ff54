package oidc

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// ClientCredentials is how a client identified itself on a back-channel
// request. The HTTP adapter fills it from the Basic header or the form; it
// rejects requests that use more than one method (RFC 6749 §2.3).
type ClientCredentials struct {
	ClientID string
	Secret   string
	Basic    bool // the credentials came in an Authorization: Basic header
	// AssertionType and Assertion are client_assertion_type and
	// client_assertion (RFC 7521 §4.2), for private_key_jwt.
	AssertionType string
	Assertion     string
}

// assertion reports whether the client tried to authenticate with an
// assertion.
func (cc *ClientCredentials) assertion() bool { return cc.Assertion != "" || cc.AssertionType != "" }

// maxIDLen bounds identifiers taken from requests.
const maxIDLen = 255

// authenticateClient checks a client's credentials (RFC 6749 §2.3.1) at
// endpoint, the path of the endpoint called. Confidential clients use the
// method they registered (token_endpoint_auth_method): client_secret_post,
// client_secret_basic or private_key_jwt (client_assertion.go); public
// clients present only their id. Every failure is the same invalid_client,
// so callers learn nothing about which part was wrong.
func (p *Provider) authenticateClient(ctx context.Context, cc ClientCredentials, endpoint string) (*domain.Client, error) {
	if cc.assertion() {
		return p.authenticateAssertion(ctx, cc, endpoint)
	}
	fail := &Error{Code: CodeInvalidClient, Description: "client authentication failed", BasicAuth: cc.Basic}
	if cc.ClientID == "" || len(cc.ClientID) > maxIDLen || len(cc.Secret) > 512 {
		return nil, fail
	}
	c, err := p.deps.Clients.GetClient(ctx, cc.ClientID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fail
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	if !c.Active() || c.SignsAssertions() { // private_key_jwt clients hold no secret
		return nil, fail
	}
	if c.Public() {
		if cc.Secret != "" || cc.Basic { // a public client sends no Authorization header
			return nil, fail
		}
		return &c, nil
	}
	// RFC 7591 §2: the client authenticates the way it registered. A
	// secret that arrives another way may have leaked through a path the
	// client never uses (a proxy's logged Authorization header, a form).
	if c.TokenEndpointAuthMethod == domain.AuthMethodSecretBasic && !cc.Basic ||
		c.TokenEndpointAuthMethod != domain.AuthMethodSecretBasic && cc.Basic {
		return nil, fail
	}
	if !c.VerifySecret(cc.Secret) {
		return nil, fail
	}
	return &c, nil
}
