package oidc

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Introspection is an RFC 7662 §2.2 response. Inactive tokens carry only
// active=false.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	JTI       string `json:"jti,omitempty"`
}

// Introspect reports whether a token is active (RFC 7662). The calling
// client must authenticate, and it learns only about its own tokens:
// another client's token is reported inactive, so introspection leaks
// nothing across tenants.
func (p *Provider) Introspect(ctx context.Context, cc ClientCredentials, token, hint string) (Introspection, error) {
	client, err := p.authenticateClient(ctx, cc)
	if err != nil {
		return Introspection{}, err
	}
	if client.Public() {
		return Introspection{}, &Error{Code: CodeInvalidClient, Description: "public clients cannot introspect tokens", BasicAuth: cc.Basic}
	}
	if token == "" {
		return Introspection{}, oauthErr(CodeInvalidRequest, "token is required")
	}
	if hint != "refresh_token" {
		if in, ok, err := p.introspectAccess(ctx, client, token); err != nil || ok {
			return in, err
		}
	}
	in, _, err := p.introspectRefresh(ctx, client, token)
	return in, err
}

func (p *Provider) introspectAccess(ctx context.Context, client *domain.Client, token string) (Introspection, bool, error) {
	c, err := p.validAccessToken(ctx, token)
	if err != nil || c == nil || c.ClientID != client.ID {
		return Introspection{}, false, err
	}
	in := Introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer", ExpiresAt: c.ExpiresAt,
		IssuedAt: c.IssuedAt, Subject: c.Subject, Audience: c.Audience, Issuer: c.Issuer, JTI: c.JTI,
	}
	if c.Subject != c.ClientID {
		user, err := p.tokenUser(ctx, c)
		if err != nil || user == nil {
			return Introspection{}, false, err
		}
		in.Username = user.Email
	}
	return in, true, nil
}

func (p *Provider) introspectRefresh(ctx context.Context, client *domain.Client, token string) (Introspection, bool, error) {
	if len(token) > 512 {
		return Introspection{}, false, nil
	}
	now := p.now()
	tok, fam, err := p.deps.Grants.GetRefreshToken(ctx, domain.HashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return Introspection{}, false, nil
	}
	if err != nil {
		return Introspection{}, false, storeErr("get refresh token", err)
	}
	if fam.ClientID != client.ID || !fam.Active(now) || !tok.RotatedAt.IsZero() {
		return Introspection{}, false, nil
	}
	user, err := p.deps.Users.GetUser(ctx, fam.UserID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !user.CanSignIn() {
		return Introspection{}, false, nil
	}
	if err != nil {
		return Introspection{}, false, storeErr("get user", err)
	}
	return Introspection{
		Active: true, Scope: domain.JoinScope(fam.Scopes), ClientID: fam.ClientID, Username: user.Email,
		TokenType: "refresh_token", ExpiresAt: fam.ExpiresAt.Unix(), IssuedAt: tok.CreatedAt.Unix(),
		Subject: fam.UserID, Issuer: p.cfg.Issuer,
	}, true, nil
}
