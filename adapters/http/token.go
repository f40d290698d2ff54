package http

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

// token handles the token endpoint (RFC 6749 §3.2).
func (s *Server) token(c *fiber.Ctx) error {
	p, cc, err := backChannel(c)
	if err != nil {
		return s.tokenError(c, err)
	}
	resp, err := s.op.Token(c.UserContext(), oidc.TokenRequest{
		GrantType: p["grant_type"], Code: p["code"], DeviceCode: p["device_code"], RedirectURI: p["redirect_uri"],
		CodeVerifier: p["code_verifier"], RefreshToken: p["refresh_token"], Scope: p["scope"], Client: cc,
		DPoP: dpopProofs(c),
	})
	if err != nil {
		return s.tokenError(c, err)
	}
	s.metrics.tokens.WithLabelValues(p["grant_type"]).Inc()
	rateHeaders(c, resp.RateLimit)
	noStore(c)
	return c.JSON(resp)
}

// par handles the pushed authorization request endpoint (RFC 9126 §2):
// 201 with the request_uri, or an OAuth error as JSON.
func (s *Server) par(c *fiber.Ctx) error {
	p, cc, err := backChannel(c)
	if err != nil {
		return s.oauthError(c, err)
	}
	in := authorizeParams(p)
	// Client authentication is not an authorization parameter: with Basic
	// the form's client_id, if any, was checked against it already.
	in.ClientID = p["client_id"]
	resp, err := s.op.PushAuthorization(c.UserContext(), cc, in, dpopProofs(c))
	if err != nil {
		return s.oauthError(c, err)
	}
	rateHeaders(c, resp.RateLimit)
	noStore(c)
	return c.Status(fiber.StatusCreated).JSON(resp)
}

// userinfo handles the UserInfo endpoint (OIDC Core §5.3), with the token
// in the Authorization header (Bearer, or DPoP with a proof: RFC 9449 §7)
// or, on POST, the form (RFC 6750 §2.1–2.2).
func (s *Server) userinfo(c *fiber.Ctx) error {
	scheme, token := authorization(c)
	if c.Method() == fiber.MethodPost && len(c.Body()) > 0 {
		p, err := params(c)
		if err != nil {
			return s.oauthError(c, err)
		}
		if form := p["access_token"]; form != "" {
			if token != "" {
				return s.oauthError(c, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "send the token one way only"})
			}
			scheme, token = oidc.SchemeBearer, form
		}
	}
	if token == "" {
		// RFC 6750 §3.1: no credentials gets a bare challenge.
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="calimatic", `+dpopChallenge)
		noStore(c)
		return c.Status(fiber.StatusUnauthorized).JSON(oauthBody{Error: oidc.CodeInvalidToken, Description: "an access token is required"})
	}
	claims, err := s.op.UserInfo(c.UserContext(), oidc.ResourceRequest{
		Scheme: scheme, Token: token, DPoP: dpopProofs(c), Method: c.Method(),
	})
	if err != nil {
		return s.oauthError(c, err)
	}
	noStore(c)
	return c.JSON(claims)
}

// introspect handles token introspection (RFC 7662).
func (s *Server) introspect(c *fiber.Ctx) error {
	p, cc, err := backChannel(c)
	if err != nil {
		return s.oauthError(c, err)
	}
	res, err := s.op.Introspect(c.UserContext(), cc, p["token"], p["token_type_hint"])
	if err != nil {
		return s.oauthError(c, err)
	}
	rateHeaders(c, res.RateLimit)
	noStore(c)
	return c.JSON(res)
}

// revoke handles token revocation (RFC 7009).
func (s *Server) revoke(c *fiber.Ctx) error {
	p, cc, err := backChannel(c)
	if err != nil {
		return s.oauthError(c, err)
	}
	if err := s.op.Revoke(c.UserContext(), cc, p["token"], p["token_type_hint"]); err != nil {
		return s.oauthError(c, err)
	}
	noStore(c)
	return c.SendStatus(fiber.StatusOK)
}

// backChannel reads a client-authenticated form request: the token,
// introspection and revocation endpoints.
func backChannel(c *fiber.Ctx) (map[string]string, oidc.ClientCredentials, error) {
	p, err := params(c)
	if err != nil {
		return nil, oidc.ClientCredentials{}, err
	}
	cc, err := clientCredentials(c, p)
	return p, cc, err
}

// headerDPoPNonce carries the server's DPoP nonce (RFC 9449 §8.1).
const headerDPoPNonce = "DPoP-Nonce"

// dpopNonce sets DPoP-Nonce on every answer of an endpoint that takes DPoP
// proofs (RFC 9449 §8, §9): the token, PAR and userinfo endpoints. It runs
// before their rate limits, so a 429 carries one too.
func (s *Server) dpopNonce(c *fiber.Ctx) error {
	c.Set(headerDPoPNonce, s.op.DPoPNonce())
	return c.Next()
}

// dpopProofs returns every DPoP header of the request (RFC 9449 §4.1); the
// core refuses anything but exactly one.
func dpopProofs(c *fiber.Ctx) []string {
	var out []string
	for _, v := range c.Request().Header.PeekAll("DPoP") {
		out = append(out, strings.TrimSpace(string(v)))
	}
	return out
}

// authorization returns the scheme and token of an Authorization header
// that is Bearer (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1), or "", "".
func authorization(c *fiber.Ctx) (scheme, token string) {
	h := c.Get(fiber.HeaderAuthorization)
	name, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	switch {
	case !ok || tok == "":
		return "", ""
	case strings.EqualFold(name, oidc.SchemeBearer):
		return oidc.SchemeBearer, tok
	case strings.EqualFold(name, oidc.SchemeDPoP):
		return oidc.SchemeDPoP, tok
	}
	return "", ""
}
