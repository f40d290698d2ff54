package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// EndSessionParams are an RP-initiated logout request's parameters (OpenID
// Connect RP-Initiated Logout 1.0 §2).
type EndSessionParams struct {
	IDTokenHint           string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

// EndSessionOutcome tells the adapter what to do. Exactly one of
// RedirectTo, Confirm, SignedOut and Page is set. ClearSession asks it to
// delete the session cookie.
type EndSessionOutcome struct {
	RedirectTo   string
	Confirm      bool // show the "Sign out?" form, carrying CSRFToken
	CSRFToken    string
	SignedOut    bool // show the signed-out page
	Page         *Error
	ClearSession bool
	ClientName   string
}

type idTokenHint struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience any    `json:"aud"`
	SID      string `json:"sid"`
}

// EndSession ends the browser's session. With a valid id_token_hint for the
// current session it signs out at once; without one it asks the user first
// (confirmed by a CSRF-protected form), so another site cannot sign users
// out, nor bounce them through here to an app's post-logout page
// (RP-Initiated Logout §2, §3). A valid hint for a session this browser no
// longer carries (its cookie expired, or was blocked) ends that session:
// the app that holds the ID token asked for it. It redirects only to a
// post_logout_redirect_uri registered for the client.
func (p *Provider) EndSession(ctx context.Context, in EndSessionParams, b Browser, confirmed bool, csrf string) (EndSessionOutcome, error) {
	var hint *idTokenHint
	if in.IDTokenHint != "" {
		var h idTokenHint
		err := p.verifyJWT(ctx, in.IDTokenHint, typIDToken, &h)
		if err != nil && !errors.Is(err, errBadToken) {
			return EndSessionOutcome{}, err
		}
		// Expired hints are fine: logout often comes long after sign-in.
		if err != nil || h.Issuer != p.cfg.Issuer {
			return EndSessionOutcome{Page: oauthErr(CodeInvalidRequest, "The id_token_hint is not valid.")}, nil
		}
		hint = &h
	}
	client, page, err := p.logoutClient(ctx, in, hint)
	if err != nil || page != nil {
		return EndSessionOutcome{Page: page}, err
	}
	var out EndSessionOutcome
	if client != nil {
		out.ClientName = client.Name
	}
	sess, _, err := p.currentSession(ctx, b)
	if err != nil {
		return EndSessionOutcome{}, err
	}
	matches := sess != nil && hint != nil && (hint.SID == sess.SID || hint.SID == "" && hint.Subject == sess.UserID)
	if !matches && (sess != nil || hint == nil && in.PostLogoutRedirectURI != "") {
		token := logoutCSRF(b)
		if !confirmed || subtle.ConstantTimeCompare([]byte(csrf), []byte(token)) != 1 {
			out.Confirm, out.CSRFToken = true, token
			return out, nil
		}
	}
	if sess != nil {
		if err := p.endSession(ctx, sess.Hash); err != nil {
			return EndSessionOutcome{}, err
		}
	}
	if hint != nil && !matches {
		if err := p.endHintedSession(ctx, hint); err != nil {
			return EndSessionOutcome{}, err
		}
	}
	// Only a browser that brought a session cookie has one to clear: a
	// cross-site request without cookies must not touch them.
	out.ClearSession = b.SessionCookie != ""
	if in.PostLogoutRedirectURI != "" {
		out.RedirectTo = logoutRedirect(in.PostLogoutRedirectURI, in.State)
		return out, nil
	}
	out.SignedOut = true
	return out, nil
}

// endHintedSession ends the live session a valid id_token_hint names, when
// it is still the hint subject's.
func (p *Provider) endHintedSession(ctx context.Context, hint *idTokenHint) error {
	if hint.SID == "" || len(hint.SID) > maxIDLen {
		return nil
	}
	s, err := p.deps.Sessions.GetSessionBySID(ctx, hint.SID, p.now())
	if errors.Is(err, domain.ErrNotFound) || err == nil && s.UserID != hint.Subject {
		return nil
	}
	if err != nil {
		return fault.Store("get session by sid", err)
	}
	return p.endSession(ctx, s.Hash)
}

// logoutClient finds the client named by client_id or the hint's audience,
// and checks post_logout_redirect_uri against its registration.
func (p *Provider) logoutClient(ctx context.Context, in EndSessionParams, hint *idTokenHint) (*domain.Client, *Error, error) {
	id := in.ClientID
	if hint != nil {
		aud := audience(hint.Audience)
		if id != "" && id != aud {
			return nil, oauthErr(CodeInvalidRequest, "client_id does not match the id_token_hint."), nil
		}
		id = aud
	}
	if id == "" {
		if in.PostLogoutRedirectURI != "" {
			return nil, oauthErr(CodeInvalidRequest, "post_logout_redirect_uri needs a client_id or an id_token_hint."), nil
		}
		return nil, nil, nil
	}
	if len(id) > maxIDLen {
		return nil, oauthErr(CodeInvalidClient, "The application is unknown."), nil
	}
	c, err := p.deps.Clients.GetClient(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, oauthErr(CodeInvalidClient, "The application is unknown."), nil
	}
	if err != nil {
		return nil, nil, fault.Store("get client", err)
	}
	if in.PostLogoutRedirectURI != "" && !c.HasPostLogoutRedirectURI(in.PostLogoutRedirectURI) {
		return nil, oauthErr(CodeInvalidRequest, "The post_logout_redirect_uri is not registered for this application."), nil
	}
	return &c, nil, nil
}

func audience(aud any) string {
	switch v := aud.(type) {
	case string:
		return v
	case []any:
		if len(v) == 1 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}

func logoutRedirect(uri, state string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	if state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	return u.String()
}
