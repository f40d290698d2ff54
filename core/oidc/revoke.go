package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Revoke revokes a token (RFC 7009). The client must authenticate, and may
// revoke only its own tokens. An unknown token, or another client's, is
// answered like a success (RFC 7009 §2.2), revealing nothing.
// Revoking a refresh token revokes its family and the access tokens the
// family issued.
func (p *Provider) Revoke(ctx context.Context, cc ClientCredentials, token, hint string) error {
	client, err := p.authenticateClient(ctx, cc, PathRevoke)
	if err != nil {
		return err
	}
	if token == "" {
		return oauthErr(CodeInvalidRequest, "token is required")
	}
	// RFC 7009 §2.1: the hint only orders the search; an unknown hint is
	// ignored and every token type is tried.
	lookups := []func(context.Context, *domain.Client, string) (bool, error){p.revokeAccess, p.revokeRefresh}
	if hint == "refresh_token" {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	for _, look := range lookups {
		if found, err := look(ctx, client, token); err != nil || found {
			return err
		}
	}
	return nil
}

// revokeAccess revokes an access token of client; found is false when token
// is not one.
func (p *Provider) revokeAccess(ctx context.Context, client *domain.Client, token string) (bool, error) {
	c, err := p.validAccessToken(ctx, token, client)
	if err != nil || c == nil {
		return false, err
	}
	if c.ClientID != client.ID {
		return true, nil
	}
	return true, wrapStore("revoke access token", p.deps.Grants.RevokeAccessToken(ctx, c.JTI, time.Unix(c.ExpiresAt, 0)))
}

// revokeRefresh revokes a refresh token's family and the access tokens it
// issued.
func (p *Provider) revokeRefresh(ctx context.Context, client *domain.Client, token string) (bool, error) {
	if len(token) > 512 {
		return false, nil
	}
	_, fam, err := p.deps.Grants.GetRefreshToken(ctx, domain.HashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fault.Store("get refresh token", err)
	}
	if fam.ClientID != client.ID {
		return true, nil
	}
	return true, p.revokeGrant(ctx, fam.ID, p.now())
}

func wrapStore(op string, err error) error {
	if err == nil {
		return nil
	}
	return fault.Store(op, err)
}
