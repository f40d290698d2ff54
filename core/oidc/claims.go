package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// The claims request parameter (OIDC Core §5.5) asks for single claims in
// the ID token or at UserInfo, beyond what the scopes release. A claim is
// released by name only when a standard scope would release it (profile,
// email, address, phone: never sub's siblings in the extended scopes,
// which need an administrator), that scope is registered for the client,
// and the user consented to it: the consent page asks for the scopes of
// the claims requested along with the requested scopes. Other claims are
// ignored, as §5.5 lets the provider do.

// storedClaims reads a claims parameter stored with a request, code or
// family: it was checked when it was received.
func storedClaims(raw string) domain.RequestedClaims {
	rc, _ := domain.ParseRequestedClaims(raw)
	return rc
}

// claimScopes lists the standard scopes the claims requested in rc need,
// among those registered for c.
func claimScopes(c *domain.Client, rc domain.RequestedClaims) []string {
	var out []string
	for _, m := range []map[string]*domain.ClaimRequest{rc.UserInfo, rc.IDToken} {
		for name := range m {
			if s := domain.StandardClaimScope(name); s != "" && slices.Contains(c.Scopes, s) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// consentScopes is what the user consents to for r: its scopes, and the
// scopes of the claims it requests by name.
func consentScopes(c *domain.Client, r *domain.AuthRequest) []string {
	out := slices.Clone(r.Scopes)
	for _, s := range claimScopes(c, storedClaims(r.Claims)) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// addRequestedClaims adds to claims the claims named in asked that u
// holds and c may receive (see above), and that the scopes did not
// release already.
func addRequestedClaims(claims map[string]any, u *domain.User, c *domain.Client, asked []string) {
	for _, name := range asked {
		s := domain.StandardClaimScope(name)
		if _, has := claims[name]; has || s == "" || !slices.Contains(c.Scopes, s) {
			continue
		}
		if v, ok := userClaims(u, []string{s})[name]; ok {
			claims[name] = v
		}
	}
}

// requestedSubject is the sub the claims parameter asks the ID token for
// (§5.5.1: only that user may be signed in), "" for none.
func requestedSubject(rc domain.RequestedClaims) string {
	r := rc.IDToken["sub"]
	if r == nil || len(r.Value) < 2 || r.Value[0] != '"' {
		return ""
	}
	var sub string
	if err := json.Unmarshal(r.Value, &sub); err != nil {
		return ""
	}
	return sub
}

// wrongSubject refuses a request whose claims parameter names another
// user than userID for the ID token's sub (§5.5.1); nil when it names none
// or this one.
func wrongSubject(r *domain.AuthRequest, userID string) *Error {
	if sub := requestedSubject(storedClaims(r.Claims)); sub != "" && sub != userID {
		return oauthErr(CodeAccessDenied, "the signed-in user is not the one the request names (claims id_token sub)")
	}
	return nil
}

// hintedSubject reads an authorization request's id_token_hint (OIDC Core
// §3.1.2.1): an ID token this provider issued, expired or not, naming the
// user the client expects. That user's sub joins the request as if the
// claims parameter asked the ID token for it (§5.5.1), so the same rules
// apply: another user signed in must sign in again (prompt=none answers
// login_required), and signing in as someone else ends in access_denied.
// A hint this provider did not issue is invalid_request.
func (p *Provider) hintedSubject(ctx context.Context, in AuthorizeParams) (AuthorizeParams, *Error, error) {
	if in.IDTokenHint == "" {
		return in, nil, nil
	}
	var h idTokenHint
	err := p.verifyJWT(ctx, in.IDTokenHint, typIDToken, &h)
	if err != nil && !errors.Is(err, errBadToken) {
		return in, nil, err
	}
	if err != nil || h.Issuer != p.cfg.Issuer || h.Subject == "" {
		return in, oauthErr(CodeInvalidRequest, "id_token_hint is not an ID token this provider issued"), nil
	}
	rc, perr := domain.ParseRequestedClaims(in.Claims)
	if perr != nil {
		return in, nil, nil // validateAuthorize says what is wrong with claims
	}
	if want := requestedSubject(rc); want != "" && want != h.Subject {
		return in, oauthErr(CodeInvalidRequest, "id_token_hint and the claims parameter name different users"), nil
	}
	value, _ := json.Marshal(h.Subject)
	if rc.IDToken == nil {
		rc.IDToken = map[string]*domain.ClaimRequest{}
	}
	rc.IDToken["sub"] = &domain.ClaimRequest{Value: value}
	in.Claims = rc.String()
	return in, nil, nil
}

// essentialACR returns the acr values the request's claims parameter asks
// for as essential (§5.5.1.1), nil when it asks none.
func essentialACR(rc domain.RequestedClaims) []string {
	r := rc.IDToken["acr"]
	if r == nil || !r.Essential {
		return nil
	}
	var want []string
	if len(r.Value) > 0 {
		var v string
		if json.Unmarshal(r.Value, &v) == nil {
			want = append(want, v)
		}
	}
	for _, raw := range r.Values {
		var v string
		if json.Unmarshal(raw, &v) == nil {
			want = append(want, v)
		}
	}
	return want
}
