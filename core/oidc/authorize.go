package oidc

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// AuthorizeParams are an authorization request's parameters (RFC 6749
// §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), as received.
type AuthorizeParams struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
	MaxAge              string
	LoginHint           string
	Request             string
	RequestURI          string
	// DPoPJKT binds the code to a DPoP key (RFC 9449 §10).
	DPoPJKT string
	// Claims is the claims parameter (OIDC Core §5.5), JSON.
	Claims string
	// IDTokenHint is an ID token this provider issued, naming the user the
	// client expects (OIDC Core §3.1.2.1).
	IDTokenHint string
	// ACRValues are the authentication classes asked for, space-separated
	// (OIDC Core §3.1.2.1).
	ACRValues string
}

// Interaction steps that need the user.
const (
	StepLogin   = "login"
	StepConsent = "consent"
	// StepFactor asks for a second factor, or enrols one, after the
	// password; StepRecoveryCodes shows new recovery codes once before the
	// request goes on.
	StepFactor        = "factor"
	StepRecoveryCodes = "recovery_codes"
)

// Outcome tells a browser-facing adapter what to do next. Exactly one of
// RedirectTo, Step and Page is set.
type Outcome struct {
	// RedirectTo is the client's redirect URI with a code or an error.
	RedirectTo string
	// Step names the page to show next (StepLogin or StepConsent) for the
	// pending request Interaction.
	Step        string
	Interaction string
	// Page is an error to show as an HTML page, never as a redirect: the
	// client or its redirect URI could not be trusted (RFC 6749 §4.1.2.1).
	Page *Error
	// Session, when set, is a new login session for the adapter's cookie.
	Session *NewSession
	// LoginError re-shows the login form with a message; Throttled says the
	// message is about too many attempts.
	LoginError string
	Throttled  bool
	// RecoveryCodes are new recovery codes to show once (StepRecoveryCodes).
	RecoveryCodes []string
	// Federation is a federated sign-in that failed, to show as a page
	// with a way back.
	Federation *FederationFailure
}

const (
	maxParamLen = 2048
	maxStateLen = 2048
)

// Authorize handles the authorization endpoint.
func (p *Provider) Authorize(ctx context.Context, in AuthorizeParams, b Browser) (Outcome, error) {
	// A request_uri of ours names a pushed request; any other (an OIDC
	// request object by reference) is refused with a redirect below.
	pushed := strings.HasPrefix(in.RequestURI, RequestURIPrefix)
	if pushed {
		var page *Error
		var err error
		if in, page, err = p.pushedParams(ctx, in); err != nil || page != nil {
			return Outcome{Page: page}, err
		}
	}
	client, page, err := p.authorizeClient(ctx, in)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	fail := func(code, format string, args ...any) (Outcome, error) {
		return Outcome{RedirectTo: p.errorRedirect(in.RedirectURI, in.State, oauthErr(code, format, args...))}, nil
	}
	if !pushed && p.requiresPAR(client) {
		// RFC 9126 §5, §6. The client and redirect URI are known good, so
		// the client hears why.
		return fail(CodeInvalidRequest, "this client must use the pushed authorization request endpoint")
	}
	sess, user, err := p.signedIn(ctx, b)
	if err != nil {
		return Outcome{}, err
	}
	// With the client and redirect URI known good, prompt=none without a
	// session is login_required before anything else is judged: a silent
	// check answers what it asked, whatever else the request gets wrong
	// (OIDC Core §3.1.2.6; the certification suite checks this order).
	if prompt, perr := parsePrompt(in.Prompt); perr == nil && slices.Contains(prompt, "none") && sess == nil && len(in.State) <= maxStateLen {
		return fail(CodeLoginRequired, "the user is not signed in")
	}
	in, herr, err := p.hintedSubject(ctx, in)
	if err != nil {
		return Outcome{}, err
	}
	if herr != nil {
		return Outcome{RedirectTo: p.errorRedirect(in.RedirectURI, in.State, herr)}, nil
	}
	req, oerr := p.validateAuthorize(client, in)
	if oerr != nil {
		return Outcome{RedirectTo: p.errorRedirect(in.RedirectURI, in.State, oerr)}, nil
	}
	now := p.now()
	fresh := sess != nil && !req.HasPrompt("login") &&
		(req.MaxAge < 0 || now.Sub(sess.AuthTime).Seconds() <= float64(req.MaxAge))
	if sub := requestedSubject(storedClaims(req.Claims)); fresh && sub != "" && sub != user.ID {
		// OIDC Core §5.5.1: the ID token may name only the user asked
		// for, so another user signed in here must sign in again.
		fresh = false
	}
	if fresh && wantsMFA(&req) && !slices.Contains(sess.AMR, "mfa") {
		// A session of one factor does not meet a request for two: the
		// user signs in again, with both.
		fresh = false
	}
	if !fresh {
		if req.HasPrompt("none") {
			return fail(CodeLoginRequired, "the user is not signed in")
		}
		return p.pend(ctx, req, b, StepLogin)
	}
	req.UserID, req.AuthTime, req.SessionID, req.AMR = user.ID, sess.AuthTime, sess.SID, sess.AMR
	if err := p.touchSession(ctx, sess); err != nil {
		return Outcome{}, err
	}
	return p.authorizeSignedIn(ctx, client, &req, b)
}

// authorizeSignedIn continues a request whose user is signed in: to the
// consent page, or back to the client with a code.
func (p *Provider) authorizeSignedIn(ctx context.Context, client *domain.Client, req *domain.AuthRequest, b Browser) (Outcome, error) {
	if e := wrongSubject(req, req.UserID); e != nil {
		return Outcome{RedirectTo: p.errorRedirect(req.RedirectURI, req.State, e)}, nil
	}
	if err := p.requireLicense(ctx, client, req.UserID, CodeAccessDenied); err != nil {
		if e, ok := AsError(err); ok {
			return Outcome{RedirectTo: p.errorRedirect(req.RedirectURI, req.State, e)}, nil
		}
		return Outcome{}, err
	}
	need, err := p.needsConsent(ctx, client, req, req.UserID)
	if err != nil {
		return Outcome{}, err
	}
	if need {
		if req.HasPrompt("none") {
			e := oauthErr(CodeConsentRequired, "the user has not consented to this client")
			return Outcome{RedirectTo: p.errorRedirect(req.RedirectURI, req.State, e)}, nil
		}
		return p.pend(ctx, *req, b, StepConsent)
	}
	to, err := p.issueCode(ctx, req)
	return Outcome{RedirectTo: to}, err
}

// authorizeClient checks client_id and redirect_uri. Until both are known to
// be good nothing may redirect, so failures are pages.
func (p *Provider) authorizeClient(ctx context.Context, in AuthorizeParams) (*domain.Client, *Error, error) {
	if in.ClientID == "" {
		return nil, oauthErr(CodeInvalidRequest, "The request has no client_id."), nil
	}
	if len(in.ClientID) > maxIDLen {
		return nil, oauthErr(CodeInvalidClient, "The application is unknown."), nil
	}
	c, err := p.deps.Clients.GetClient(ctx, in.ClientID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !c.Active() {
		return nil, oauthErr(CodeInvalidClient, "The application is unknown."), nil
	}
	if err != nil {
		return nil, nil, fault.Store("get client", err)
	}
	if in.RedirectURI == "" {
		return nil, oauthErr(CodeInvalidRequest, "The request has no redirect_uri."), nil
	}
	if !c.HasRedirectURI(in.RedirectURI) {
		return nil, oauthErr(CodeInvalidRedirectURI, "The redirect_uri is not registered for this application."), nil
	}
	return &c, nil, nil
}

// validateAuthorize checks the rest of the request; its failures redirect.
func (p *Provider) validateAuthorize(c *domain.Client, in AuthorizeParams) (domain.AuthRequest, *Error) {
	var none domain.AuthRequest
	for name, v := range map[string]string{
		"scope": in.Scope, "nonce": in.Nonce, "prompt": in.Prompt, "max_age": in.MaxAge,
		"login_hint": in.LoginHint, "code_challenge": in.CodeChallenge, "response_type": in.ResponseType,
		"acr_values": in.ACRValues, "state": in.State, "dpop_jkt": in.DPoPJKT,
	} {
		if len(v) > maxParamLen && name != "state" {
			return none, oauthErr(CodeInvalidRequest, "%s is too long", name)
		}
		// Stores keep text: a NUL or broken UTF-8 is no parameter's value.
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return none, oauthErr(CodeInvalidRequest, "%s is not valid text", name)
		}
	}
	if len(in.State) > maxStateLen {
		return none, oauthErr(CodeInvalidRequest, "state is too long")
	}
	switch {
	case in.Request != "":
		return none, oauthErr(CodeRequestNotSupported, "request objects are not supported")
	case in.RequestURI != "":
		return none, oauthErr(CodeRequestURINotSupported, "request_uri is not supported")
	case in.ResponseType == "":
		return none, oauthErr(CodeInvalidRequest, "response_type is required")
	case in.ResponseType != domain.ResponseTypeCode:
		return none, oauthErr(CodeUnsupportedResponseType, "only response_type=code is supported")
	case in.ResponseMode != "" && in.ResponseMode != "query":
		return none, oauthErr(CodeInvalidRequest, "only response_mode=query is supported")
	case !c.AllowsGrant(domain.GrantAuthorizationCode):
		return none, oauthErr(CodeUnauthorizedClient, "the client is not registered for the authorization_code grant")
	// The guide and RFC 9700 §2.1.1: PKCE with S256 for every client,
	// unless the policy lets a confidential client rely on nonce.
	case in.CodeChallenge == "" && c.NeedsPKCE(p.cfg.PKCE):
		return none, oauthErr(CodeInvalidRequest, "code_challenge is required (PKCE with S256)")
	case in.CodeChallenge == "" && in.CodeChallengeMethod != "":
		return none, oauthErr(CodeInvalidRequest, "code_challenge_method without code_challenge")
	case in.CodeChallenge == "":
		// No PKCE, as the policy allows: the token request must send no
		// code_verifier either.
	case in.CodeChallengeMethod != domain.PKCEMethodS256:
		return none, oauthErr(CodeInvalidRequest, "code_challenge_method must be S256")
	case !domain.ValidCodeChallenge(in.CodeChallenge):
		return none, oauthErr(CodeInvalidRequest, "code_challenge must be a base64url SHA-256 digest")
	}
	rc, err := domain.ParseRequestedClaims(in.Claims)
	if err != nil {
		return none, oauthErr(CodeInvalidRequest, "%s", err.Error())
	}
	acrValues, aerr := requestedACR(rc, in.ACRValues)
	if aerr != nil {
		return none, aerr
	}
	if in.DPoPJKT != "" && !domain.ValidCodeChallenge(in.DPoPJKT) {
		// RFC 9449 §10: an RFC 7638 SHA-256 thumbprint, base64url, which
		// has a code challenge's shape.
		return none, oauthErr(CodeInvalidRequest, "dpop_jkt must be a base64url SHA-256 JWK thumbprint")
	}
	scopes, serr := p.grantableScopes(c, in.Scope)
	if serr != nil {
		return none, serr
	}
	prompt, perr := parsePrompt(in.Prompt)
	if perr != nil {
		return none, perr
	}
	maxAge := -1
	if in.MaxAge != "" {
		n, err := strconv.Atoi(in.MaxAge)
		if err != nil || n < 0 {
			return none, oauthErr(CodeInvalidRequest, "max_age must be a non-negative integer")
		}
		maxAge = n
	}
	return domain.AuthRequest{
		ClientID: c.ID, RedirectURI: in.RedirectURI, Scopes: scopes, State: in.State, Nonce: in.Nonce,
		CodeChallenge: in.CodeChallenge, CodeChallengeMethod: in.CodeChallengeMethod,
		Prompt: prompt, MaxAge: maxAge, LoginHint: in.LoginHint, DPoPJKT: in.DPoPJKT, Claims: rc.String(),
		ACRValues: acrValues,
	}, nil
}

// grantableScopes parses the requested scopes: each must be known and
// registered for the client, and an extended scope must be approved for it.
func (p *Provider) grantableScopes(c *domain.Client, raw string) ([]string, *Error) {
	scopes := domain.ParseScope(raw)
	if len(scopes) == 0 {
		return nil, oauthErr(CodeInvalidScope, "scope is required")
	}
	for _, s := range scopes {
		switch {
		case !domain.KnownScope(s):
			return nil, oauthErr(CodeInvalidScope, "scope %q is not supported", clip(s))
		case domain.IsExtendedScope(s) && !slices.Contains(c.ApprovedScopes, s):
			return nil, oauthErr(CodeInvalidScope, "scope %q needs approval by a Calimatic administrator", s)
		case !slices.Contains(c.Scopes, s) && !slices.Contains(c.ApprovedScopes, s):
			return nil, oauthErr(CodeInvalidScope, "scope %q is not registered for this client", s)
		}
	}
	return scopes, nil
}

func parsePrompt(raw string) ([]string, *Error) {
	prompt := strings.Fields(raw)
	for _, v := range prompt {
		switch v {
		case "none", "login", "consent", "select_account":
		default:
			return nil, oauthErr(CodeInvalidRequest, "prompt %q is not supported", clip(v))
		}
	}
	// OIDC Core §3.1.2.1: none may not be combined with another value.
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return nil, oauthErr(CodeInvalidRequest, "prompt=none cannot be combined with other values")
	}
	return prompt, nil
}

// needsConsent reports whether the user must approve this request's scopes.
func (p *Provider) needsConsent(ctx context.Context, c *domain.Client, r *domain.AuthRequest, userID string) (bool, error) {
	if r.HasPrompt("consent") {
		return true, nil
	}
	if c.FirstParty {
		return false, nil
	}
	consent, err := p.deps.Grants.GetConsent(ctx, userID, c.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fault.Store("get consent", err)
	}
	return !consent.Covers(consentScopes(c, r)), nil
}

// pend stores the request until the user has signed in or consented.
func (p *Provider) pend(ctx context.Context, r domain.AuthRequest, b Browser, step string) (Outcome, error) {
	now := p.now()
	r.ID = p.deps.Random.Token(32)
	r.CSRFToken = p.deps.Random.Token(32)
	r.BindingHash = domain.HashToken(b.Binding)
	r.CreatedAt, r.ExpiresAt = now, now.Add(p.cfg.AuthRequestTTL)
	if err := p.deps.AuthRequests.CreateAuthRequest(ctx, r); err != nil {
		return Outcome{}, fault.Store("create auth request", err)
	}
	return Outcome{Step: step, Interaction: r.ID}, nil
}

// issueCode stores a code for a completed request and returns the redirect
// that carries it (RFC 6749 §4.1.2, RFC 9207 iss).
func (p *Provider) issueCode(ctx context.Context, r *domain.AuthRequest) (string, error) {
	now := p.now()
	code := p.deps.Random.Token(32)
	err := p.deps.Grants.CreateAuthCode(ctx, domain.AuthCode{
		Hash: domain.HashToken(code), ClientID: r.ClientID, UserID: r.UserID, RedirectURI: r.RedirectURI,
		Scopes: r.Scopes, Nonce: r.Nonce, CodeChallenge: r.CodeChallenge,
		CodeChallengeMethod: r.CodeChallengeMethod, AuthTime: r.AuthTime, SessionID: r.SessionID,
		AMR: r.AMR, DPoPJKT: r.DPoPJKT, Claims: r.Claims, GrantID: p.deps.Random.Token(16), ExpiresAt: now.Add(p.cfg.CodeTTL), CreatedAt: now,
	})
	if err != nil {
		return "", fault.Store("create code", err)
	}
	return p.redirectWith(r.RedirectURI, url.Values{"code": {code}}, r.State), nil
}

// errorRedirect sends an error back to a verified redirect URI.
func (p *Provider) errorRedirect(redirectURI, state string, e *Error) string {
	v := url.Values{"error": {e.Code}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	return p.redirectWith(redirectURI, v, state)
}

// redirectWith adds the response parameters, state and iss to a redirect
// URI, keeping any query it was registered with.
func (p *Provider) redirectWith(redirectURI string, v url.Values, state string) string {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs were validated, so this cannot happen
		return redirectURI
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.cfg.Issuer)
	u.RawQuery = q.Encode()
	return u.String()
}
