package oidc

import "context"

// ResourceRequest is a request to a protected resource of this provider
// (userinfo) with one of its access tokens.
type ResourceRequest struct {
	// Scheme is how the token came: SchemeDPoP for "Authorization: DPoP",
	// SchemeBearer for "Authorization: Bearer" or a form parameter (RFC
	// 6750 §2).
	Scheme string
	Token  string
	// DPoP holds every DPoP header value of the request (RFC 9449 §4.1).
	DPoP   []string
	Method string
}

// resourceToken checks the access token of a request to the resource at
// endpoint, and the DPoP proof that a bound token needs (RFC 9449 §7). It
// returns the token's claims, or an error whose Challenge is set.
func (p *Provider) resourceToken(ctx context.Context, req ResourceRequest, endpoint string) (*AccessClaims, error) {
	c, err := p.validAccessToken(ctx, req.Token, nil)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, challenge(req.Scheme, oauthErr(CodeInvalidToken, "the access token is invalid, expired or revoked"))
	}
	bound := c.Confirmation != nil && c.Confirmation.JKT != ""
	switch {
	case bound && req.Scheme != SchemeDPoP:
		// RFC 9449 §7.2: a bound token is never accepted as a bearer token.
		return nil, challenge(SchemeDPoP, oauthErr(CodeInvalidToken, "the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof"))
	case !bound && req.Scheme == SchemeDPoP:
		// RFC 9449 §7.1: the DPoP scheme names a token bound to the proof's key.
		return nil, challenge(SchemeDPoP, oauthErr(CodeInvalidToken, "the access token is not DPoP-bound: send it as Authorization: Bearer"))
	case !bound:
		return c, nil
	}
	jkt, err := p.verifyDPoP(ctx, dpopRequest{proofs: req.DPoP, method: req.Method, endpoint: endpoint, accessToken: req.Token})
	if err != nil {
		return nil, challenge(SchemeDPoP, err)
	}
	if jkt != c.Confirmation.JKT {
		// RFC 9449 §4.3 item 13, §7.1.
		return nil, challenge(SchemeDPoP, oauthErr(CodeInvalidDPoPProof, "the DPoP proof is signed with another key than the access token is bound to"))
	}
	return c, nil
}

// challenge marks an OAuth error of a protected resource with the scheme
// of its WWW-Authenticate challenge; other errors (outages) pass through.
func challenge(scheme string, err error) error {
	if e, ok := AsError(err); ok && e.Challenge == "" {
		if scheme == "" {
			scheme = SchemeBearer
		}
		e.Challenge = scheme
	}
	return err
}
