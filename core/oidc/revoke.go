package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Revoke revokes a token (RFC 7009). The client must authenticate, and may
// revoke only its own tokens. An unknown token, or another client's, is
// answered like a success (RFC 7009 §2.2), revealing nothing.
// Revoking a refresh token revokes its family and the access tokens the
// family issued.
func (p *Provider) Revoke(ctx context.Context, cc ClientCredentials, token, hint string) error {
	client, err := p.authenticateClient(ctx, cc)
	if err != nil {
		return err
	}
	if token == "" {
		return oauthErr(CodeInvalidRequest, "token is required")
	}
	if hint != "" && hint != "access_token" && hint != "refresh_token" {
		return oauthErr(CodeUnsupportedTokenType, "token_type_hint must be access_token or refresh_token")
	}
	now := p.now()
	if hint != "refresh_token" {
		c, err := p.validAccessToken(ctx, token)
		if err != nil {
			return err
		}
		if c != nil {
			if c.ClientID != client.ID {
				return nil
			}
			return wrapStore("revoke access token", p.deps.Grants.RevokeAccessToken(ctx, c.JTI, time.Unix(c.ExpiresAt, 0)))
		}
	}
	if len(token) > 512 {
		return nil
	}
	_, fam, err := p.deps.Grants.GetRefreshToken(ctx, domain.HashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr("get refresh token", err)
	}
	if fam.ClientID != client.ID {
		return nil
	}
	return p.revokeGrant(ctx, fam.ID, now)
}

func wrapStore(op string, err error) error {
	if err == nil {
		return nil
	}
	return storeErr(op, err)
}
