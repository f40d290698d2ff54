package oidc

import "context"

// TokenRequest is a token endpoint request (RFC 6749 §4.1.3, §4.4.2, §6,
// RFC 8628 §3.4).
type TokenRequest struct {
	GrantType    string
	Code         string
	DeviceCode   string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Scope        string
	Client       ClientCredentials
}

// Token runs a grant and returns the tokens, or an *Error.
func (p *Provider) Token(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	if req.GrantType == "" {
		return TokenResponse{}, oauthErr(CodeInvalidRequest, "grant_type is required")
	}
	g, ok := grantFor(req.GrantType)
	if !ok {
		return TokenResponse{}, oauthErr(CodeUnsupportedGrantType, "grant_type %q is not supported", clip(req.GrantType))
	}
	client, err := p.authenticateClient(ctx, req.Client, PathToken)
	if err != nil {
		return TokenResponse{}, err
	}
	limit, err := p.throttleClient(ctx, p.cfg.TokenLimit, client.ID)
	if err != nil {
		return TokenResponse{}, err
	}
	if !client.AllowsGrant(g.typ) {
		return TokenResponse{}, oauthErr(CodeUnauthorizedClient, "the client is not registered for the %s grant", g.typ)
	}
	if why := g.refuses(client); why != "" {
		return TokenResponse{}, oauthErr(CodeUnauthorizedClient, "%s", why)
	}
	resp, err := g.exchange(p, ctx, client, req)
	resp.RateLimit = limit
	return resp, err
}

// clip shortens caller-supplied text quoted back in error descriptions.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
