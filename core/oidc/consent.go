package oidc

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// ConsentInput is a submitted consent form.
type ConsentInput struct {
	Interaction string
	CSRFToken   string
	Allow       bool
}

// Consent records the user's decision on a pending request and sends the
// browser back to the client with a code, or with access_denied.
func (p *Provider) Consent(ctx context.Context, in ConsentInput, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	// Device requests are decided on the device page; the account page's
	// sign-in has no client to consent to.
	if !boundTo(r, b, in.CSRFToken) || r.DeviceCodeHash != nil || r.ReturnTo != "" {
		return Outcome{Page: pageForeign}, nil
	}
	user, err := p.requestUser(ctx, r, b)
	if err != nil {
		return Outcome{}, err
	}
	if user == nil {
		return Outcome{Page: pageExpired}, nil
	}
	if !in.Allow {
		return p.complete(ctx, r, func() (string, error) {
			return p.errorRedirect(r.RedirectURI, r.State, oauthErr(CodeAccessDenied, "the user denied the request")), nil
		})
	}
	client, err := p.deps.Clients.GetClient(ctx, r.ClientID)
	if err != nil {
		return Outcome{}, fault.Store("get client", err)
	}
	now := p.now()
	// The scopes shown on the page: the request's, and those of the claims
	// it asks for by name (OIDC Core §5.5).
	err = p.deps.Grants.PutConsent(ctx, domain.Consent{
		UserID: user.ID, ClientID: r.ClientID, Scopes: consentScopes(&client, r), CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return Outcome{}, fault.Store("put consent", err)
	}
	return p.complete(ctx, r, func() (string, error) { return p.issueCode(ctx, r) })
}
