package oidc

import (
	"context"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// validAccessToken verifies an access token and checks that it is still
// good: signature, type, issuer, expiry, and not revoked (by jti or grant).
// It returns nil claims, without error, for any token that is not good.
// caller, when not nil, is the authenticated client asking (introspection,
// revocation): its own tokens need no second client lookup.
func (p *Provider) validAccessToken(ctx context.Context, token string, caller *domain.Client) (*AccessClaims, error) {
	var c AccessClaims
	if err := p.verifyJWT(ctx, token, typAccessToken, &c); err != nil {
		if errors.Is(err, errBadToken) {
			return nil, nil
		}
		return nil, err
	}
	if c.Issuer != p.cfg.Issuer || c.JTI == "" || p.now().Unix() >= c.ExpiresAt {
		return nil, nil
	}
	revoked, err := p.deps.Grants.IsRevoked(ctx, c.JTI, c.GrantID)
	if err != nil {
		return nil, fault.Store("is revoked", err)
	}
	if revoked {
		return nil, nil
	}
	// RFC 7592 §2.3: a deleted (or disabled) client's tokens die with it.
	if caller != nil && caller.ID == c.ClientID {
		return &c, nil // just authenticated, so it exists and is active
	}
	client, err := p.deps.Clients.GetClient(ctx, c.ClientID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !client.Active() {
		return nil, nil
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	return &c, nil
}

// tokenUser returns the active user an access token speaks for, or nil.
func (p *Provider) tokenUser(ctx context.Context, c *AccessClaims) (*domain.User, error) {
	if c.Subject == c.ClientID { // client_credentials: no user
		return nil, nil
	}
	u, err := p.deps.Users.GetUser(ctx, c.Subject)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fault.Store("get user", err)
	}
	// A password reset (or a suspension) moves NotBefore: tokens from
	// earlier sign-ins die. auth_time has whole seconds, so a sign-in in
	// NotBefore's own second is taken to be before it: a token is never kept
	// alive by the rounding.
	if !u.CanSignIn() || !u.NotBefore.IsZero() && c.AuthTime <= u.NotBefore.Unix() {
		return nil, nil
	}
	return &u, nil
}

// TokenUser returns the active user an access token speaks for when the
// token is good and was issued to clientID; nil otherwise. A first-party
// app of this provider (the console) checks its session with it, as a
// resource server would with introspection.
func (p *Provider) TokenUser(ctx context.Context, token, clientID string) (*domain.User, error) {
	if token == "" || len(token) > 8192 {
		return nil, nil
	}
	c, err := p.validAccessToken(ctx, token, nil)
	if err != nil || c == nil || c.ClientID != clientID {
		return nil, err
	}
	u, err := p.tokenUser(ctx, c)
	if err != nil || u == nil || slices.Contains(c.AMR, "mfa") {
		return u, err
	}
	// A token of one factor no longer speaks for a user whom an
	// organization's policy has since come to ask a second factor of, as
	// the provider's own session no longer does (signedIn): the app signs
	// in again, and the second factor is asked then.
	required, err := p.deps.MFA.Required(ctx, u.ID)
	if err != nil || required {
		return nil, err
	}
	return u, nil
}
