package oidc

import (
	"context"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// clientCredentials runs the client_credentials grant (RFC 6749 §4.4) for
// confidential clients (the registry refuses public ones). There is no user,
// so no ID token and no refresh token (§4.4.3).
func (p *Provider) clientCredentials(ctx context.Context, client *domain.Client, req TokenRequest) (TokenResponse, error) {
	var scopes []string
	for _, s := range domain.ParseScope(req.Scope) {
		// User scopes mean nothing without a user.
		if s == domain.ScopeOpenID || s == domain.ScopeOfflineAccess || !slices.Contains(client.Scopes, s) {
			return TokenResponse{}, oauthErr(CodeInvalidScope, "scope %q is not available to this client for client_credentials", clip(s))
		}
		scopes = append(scopes, s)
	}
	return p.mint(ctx, issuance{client: client, scopes: scopes, dpopJKT: req.dpopJKT})
}
