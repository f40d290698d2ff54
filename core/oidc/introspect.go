package oidc

import (
	"context"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
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
	// AuthTime, ACR and AMR say when and how the user signed in.
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	// Confirmation names the key a DPoP-bound token is bound to (RFC 9449
	// §6.2).
	Confirmation *Confirmation `json:"cnf,omitempty"`
	// RateLimit is the client's allowance after this request.
	RateLimit domain.RateDecision `json:"-"`
}

// Introspect reports whether a token is active (RFC 7662). The calling
// client must authenticate, and it learns only about its own tokens:
// another client's token is reported inactive, so introspection leaks
// nothing across tenants.
func (p *Provider) Introspect(ctx context.Context, cc ClientCredentials, token, hint string) (Introspection, error) {
	client, err := p.authenticateClient(ctx, cc, PathIntrospect)
	if err != nil {
		return Introspection{}, err
	}
	if client.Public() {
		return Introspection{}, &Error{Code: CodeInvalidClient, Description: "public clients cannot introspect tokens", BasicAuth: cc.Basic}
	}
	limit, err := p.throttleClient(ctx, p.cfg.IntrospectLimit, client.ID)
	if err != nil {
		return Introspection{}, err
	}
	if token == "" {
		return Introspection{}, oauthErr(CodeInvalidRequest, "token is required")
	}
	// RFC 7662 §2.1: the hint only says where to look first.
	lookups := []func(context.Context, *domain.Client, string) (Introspection, bool, error){p.introspectAccess, p.introspectRefresh}
	if hint == "refresh_token" {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	for _, look := range lookups {
		if in, ok, err := look(ctx, client, token); err != nil || ok {
			in.RateLimit = limit
			return in, err
		}
	}
	return Introspection{RateLimit: limit}, nil
}

// usernameFor releases the user's email only to a client granted the email
// scope: introspection must not bypass consent.
func usernameFor(u *domain.User, scopes []string) string {
	if slices.Contains(scopes, domain.ScopeEmail) {
		return u.Email
	}
	return ""
}

func (p *Provider) introspectAccess(ctx context.Context, client *domain.Client, token string) (Introspection, bool, error) {
	c, err := p.validAccessToken(ctx, token, client)
	if err != nil || c == nil || c.ClientID != client.ID {
		return Introspection{}, false, err
	}
	in := Introspection{
		Active: true, Scope: c.Scope, ClientID: c.ClientID, TokenType: "Bearer", ExpiresAt: c.ExpiresAt,
		IssuedAt: c.IssuedAt, Subject: c.Subject, Audience: c.Audience, Issuer: c.Issuer, JTI: c.JTI,
		Confirmation: c.Confirmation, AuthTime: c.AuthTime, ACR: c.ACR, AMR: c.AMR,
	}
	if c.Confirmation != nil {
		in.TokenType = SchemeDPoP // RFC 9449 §6.2
	}
	if c.Subject != c.ClientID {
		user, err := p.tokenUser(ctx, c)
		if err != nil || user == nil {
			return Introspection{}, false, err
		}
		in.Username = usernameFor(user, domain.ParseScope(c.Scope))
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
		return Introspection{}, false, fault.Store("get refresh token", err)
	}
	if fam.ClientID != client.ID || !fam.Active(now) || !tok.RotatedAt.IsZero() {
		return Introspection{}, false, nil
	}
	if _, ended, err := p.issuingSession(ctx, client, &fam, now); err != nil || ended {
		return Introspection{}, false, err
	}
	user, err := p.deps.Users.GetUser(ctx, fam.UserID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && (!user.CanSignIn() || fam.AuthTime.Before(user.NotBefore)) {
		return Introspection{}, false, nil
	}
	if err != nil {
		return Introspection{}, false, fault.Store("get user", err)
	}
	return Introspection{
		Active: true, Scope: domain.JoinScope(grantedNow(client, fam.Scopes)), ClientID: fam.ClientID, Username: usernameFor(&user, fam.Scopes),
		TokenType: "refresh_token", ExpiresAt: fam.ExpiresAt.Unix(), IssuedAt: tok.CreatedAt.Unix(),
		Subject: fam.UserID, Issuer: p.cfg.Issuer,
		AuthTime: fam.AuthTime.Unix(), ACR: acrOf(fam.AMR), AMR: fam.AMR,
	}, true, nil
}
