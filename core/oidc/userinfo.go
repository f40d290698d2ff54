package oidc

import (
	"context"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// UserInfo returns the claims an access token's scopes release (OIDC Core
// §5.3). A bad, expired or revoked token, or one whose user is no longer
// active, is invalid_token (RFC 6750 §3.1); a DPoP-bound token needs its
// proof (RFC 9449 §7). Every OAuth error carries its challenge's scheme.
func (p *Provider) UserInfo(ctx context.Context, req ResourceRequest) (map[string]any, error) {
	c, err := p.resourceToken(ctx, req, PathUserInfo)
	if err != nil {
		return nil, err
	}
	scheme := SchemeBearer
	if c.Confirmation != nil {
		scheme = SchemeDPoP
	}
	claims, err := p.userInfo(ctx, c)
	return claims, challenge(scheme, err)
}

func (p *Provider) userInfo(ctx context.Context, c *AccessClaims) (map[string]any, error) {
	user, err := p.tokenUser(ctx, c)
	if err != nil {
		return nil, err
	}
	if user == nil {
		return nil, oauthErr(CodeInvalidToken, "the access token does not belong to an active user")
	}
	scopes := domain.ParseScope(c.Scope)
	var client *domain.Client
	if slices.ContainsFunc(scopes, domain.IsExtendedScope) || len(c.UserInfoClaims) > 0 {
		// A withdrawn approval or scope stops the claims at once, even for
		// tokens issued before it.
		cl, err := p.deps.Clients.GetClient(ctx, c.ClientID)
		if err != nil {
			return nil, fault.Store("get client", err)
		}
		client = &cl
		scopes = approvedOnly(client, scopes)
	}
	if !slices.Contains(scopes, domain.ScopeOpenID) {
		return nil, oauthErr(CodeInsufficientScope, "the access token lacks the openid scope")
	}
	claims := userClaims(user, scopes)
	if client != nil {
		addRequestedClaims(claims, user, client, c.UserInfoClaims)
	}
	if err := p.directoryClaims(ctx, user, scopes, claims); err != nil {
		return nil, err
	}
	return claims, nil
}
