package oidc

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

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
	// DPoP holds every DPoP header value of the request (RFC 9449 §4.1):
	// none, or exactly one proof.
	DPoP []string

	dpopJKT string // the thumbprint of the checked proof's key, for the grant
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
	var limit domain.RateDecision
	if !g.limitsItself {
		if limit, err = p.throttleClient(ctx, p.cfg.TokenLimit, client.ID); err != nil {
			return TokenResponse{}, err
		}
	}
	if !client.AllowsGrant(g.typ) {
		return TokenResponse{}, oauthErr(CodeUnauthorizedClient, "the client is not registered for the %s grant", g.typ)
	}
	if why := g.refuses(client); why != "" {
		return TokenResponse{}, oauthErr(CodeUnauthorizedClient, "%s", why)
	}
	if req.dpopJKT, err = p.tokenDPoP(ctx, client, req.DPoP); err != nil {
		return TokenResponse{}, err
	}
	resp, err := g.exchange(p, ctx, client, req)
	if !g.limitsItself {
		resp.RateLimit = limit
	}
	return resp, err
}

// tokenDPoP checks the DPoP proof of a token request, when it has one,
// before the grant spends anything: a client told to retry with a nonce
// keeps its code. It returns the proof key's thumbprint, "" without a proof.
func (p *Provider) tokenDPoP(ctx context.Context, client *domain.Client, proofs []string) (string, error) {
	if len(proofs) == 0 {
		if client.DPoPBound {
			// RFC 9449 §5.2: dpop_bound_access_tokens makes proofs mandatory.
			return "", oauthErr(CodeInvalidDPoPProof, "this client is registered with dpop_bound_access_tokens: send a DPoP proof")
		}
		return "", nil
	}
	return p.verifyDPoP(ctx, dpopRequest{proofs: proofs, method: "POST", endpoint: PathToken})
}

// clip shortens caller-supplied text quoted back in error descriptions.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
