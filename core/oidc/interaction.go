package oidc

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Prompt is what a login or consent page shows.
type Prompt struct {
	Interaction string
	CSRFToken   string
	Client      domain.Client
	LoginHint   string
	UserEmail   string   // consent only
	Scopes      []string // consent only
}

var (
	pageExpired = oauthErr(CodeInvalidRequest, "This sign-in request has expired or was already completed. Return to the application and try again.")
	pageForeign = oauthErr(CodeInvalidRequest, "This sign-in request was started in another browser or the form is stale. Return to the application and try again.")
)

// loadPending finds a pending request made in this browser.
func (p *Provider) loadPending(ctx context.Context, id string, b Browser) (*domain.AuthRequest, *Error, error) {
	if id == "" || len(id) > 128 {
		return nil, pageExpired, nil
	}
	r, err := p.deps.AuthRequests.GetAuthRequest(ctx, id, p.now())
	if errors.Is(err, domain.ErrNotFound) {
		return nil, pageExpired, nil
	}
	if err != nil {
		return nil, nil, fault.Store("get auth request", err)
	}
	if !boundTo(&r, b, r.CSRFToken) {
		return nil, pageForeign, nil
	}
	return &r, nil, nil
}

// pendingPrompt loads a pending request and what its pages show.
func (p *Provider) pendingPrompt(ctx context.Context, id string, b Browser) (*domain.AuthRequest, Prompt, *Error, error) {
	r, page, err := p.loadPending(ctx, id, b)
	if err != nil || page != nil {
		return nil, Prompt{}, page, err
	}
	if r.ReturnTo != "" {
		// The account page's own sign-in: no client to show.
		return r, Prompt{Interaction: r.ID, CSRFToken: r.CSRFToken, LoginHint: r.LoginHint}, nil, nil
	}
	c, err := p.deps.Clients.GetClient(ctx, r.ClientID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, Prompt{}, pageExpired, nil
	}
	if err != nil {
		return nil, Prompt{}, nil, fault.Store("get client", err)
	}
	return r, Prompt{Interaction: r.ID, CSRFToken: r.CSRFToken, Client: c, LoginHint: r.LoginHint, Scopes: consentScopes(&c, r)}, nil, nil
}

// LoginPrompt returns what the login page shows for a pending request.
func (p *Provider) LoginPrompt(ctx context.Context, id string, b Browser) (Prompt, *Error, error) {
	_, pr, page, err := p.pendingPrompt(ctx, id, b)
	return pr, page, err
}

// ConsentPrompt returns what the consent page shows. The browser must be
// signed in as the request's user.
func (p *Provider) ConsentPrompt(ctx context.Context, id string, b Browser) (Prompt, *Error, error) {
	r, pr, page, err := p.pendingPrompt(ctx, id, b)
	if err != nil || page != nil {
		return pr, page, err
	}
	if r.DeviceCodeHash != nil { // approved on the device page, never here
		return Prompt{}, pageExpired, nil
	}
	user, err := p.requestUser(ctx, r, b)
	if err != nil || user == nil {
		return Prompt{}, pageExpired, err
	}
	pr.UserEmail = user.Email
	return pr, nil, nil
}

// requestUser returns the signed-in user when the browser's session is the
// one the pending request was completed with, else nil.
func (p *Provider) requestUser(ctx context.Context, r *domain.AuthRequest, b Browser) (*domain.User, error) {
	sess, user, err := p.currentSession(ctx, b)
	if err != nil || sess == nil || r.UserID == "" || sess.UserID != r.UserID || sess.SID != r.SessionID {
		return nil, err
	}
	return user, nil
}

// complete finishes a pending request exactly once: deleting it is the
// atomic step, so a double-submitted form issues one code.
func (p *Provider) complete(ctx context.Context, r *domain.AuthRequest, redirect func() (string, error)) (Outcome, error) {
	deleted, err := p.deps.AuthRequests.DeleteAuthRequest(ctx, r.ID)
	if err != nil {
		return Outcome{}, fault.Store("delete auth request", err)
	}
	if !deleted {
		return Outcome{Page: pageExpired}, nil
	}
	to, err := redirect()
	return Outcome{RedirectTo: to}, err
}
