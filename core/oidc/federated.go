package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/federation"
)

// Federated sign-in: the pending request sends the browser to the
// organization's upstream provider (core/federation), keeps the attempt
// (AuthRequest.Upstream), and takes the browser back at the callback,
// which must come to the browser that left, with the attempt's state.
// The sign-in that results is like a password's, with amr "fed": the
// second factor, the policies, consent and the client's rules follow.

// FederationFailure is a federated sign-in that did not happen: the page
// says why and leads back to the sign-in page of the request.
type FederationFailure struct {
	Message     string
	Interaction string // "" when the request is gone: back to the app
}

// ProviderButton is an upstream provider the sign-in page offers.
type ProviderButton struct{ ID, Name string }

// FederationOn reports whether sign-in through upstream providers is
// wired.
func (p *Provider) FederationOn() bool { return p.deps.Federation != nil }

// EmailFirst reports whether the sign-in page asks for the email alone
// first (federation.InUse).
func (p *Provider) EmailFirst(ctx context.Context) (bool, error) {
	if p.deps.Federation == nil {
		return false, nil
	}
	return p.deps.Federation.InUse(ctx)
}

// LoginButtons returns the providers offered on a pending request's
// sign-in page: those of its client's organizations (federation.ForClient).
func (p *Provider) LoginButtons(ctx context.Context, pr Prompt) ([]ProviderButton, error) {
	if p.deps.Federation == nil || pr.Client.ID == "" {
		return nil, nil
	}
	ps, err := p.deps.Federation.ForClient(ctx, pr.Client.ID)
	out := make([]ProviderButton, 0, len(ps))
	for _, x := range ps {
		out = append(out, ProviderButton{ID: x.ID, Name: x.Name})
	}
	return out, err
}

// IdentifyInput is the sign-in page's first step: the email alone.
type IdentifyInput struct {
	Interaction string
	CSRFToken   string
	Email       string
}

// Identify takes the email of the first step. When its domain's
// organization signs its users in upstream, the browser goes there;
// otherwise the request remembers the email and the password step
// follows (StepLogin).
func (p *Provider) Identify(ctx context.Context, in IdentifyInput, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	if !boundTo(r, b, in.CSRFToken) {
		return Outcome{Page: pageForeign}, nil
	}
	email := domain.NormalizeEmail(in.Email)
	if !utf8.ValidString(email) || !domain.ValidEmail(email) {
		return Outcome{LoginError: "Enter your email address, such as name@school.edu."}, nil
	}
	if out, ok, err := p.homeRealm(ctx, r, email); ok || err != nil {
		return out, err
	}
	if _, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.LoginHint = email
		return nil
	}); err != nil {
		return p.gone(err)
	}
	return Outcome{Step: StepLogin, Interaction: r.ID}, nil
}

// HomeRealm sends a pending request whose login_hint (or identified email)
// belongs to an organization with an upstream provider there, once: a
// request that has tried an upstream already stays on the sign-in page,
// so a failure doesn't loop. ok is false when the page should be shown.
func (p *Provider) HomeRealm(ctx context.Context, id string, b Browser) (Outcome, bool, error) {
	r, page, err := p.loadPending(ctx, id, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, page != nil, err
	}
	if r.Upstream != nil || r.LoginHint == "" {
		return Outcome{}, false, nil
	}
	return p.homeRealm(ctx, r, r.LoginHint)
}

func (p *Provider) homeRealm(ctx context.Context, r *domain.AuthRequest, email string) (Outcome, bool, error) {
	if p.deps.Federation == nil {
		return Outcome{}, false, nil
	}
	idp, ok, err := p.deps.Federation.ForEmail(ctx, email)
	if err != nil || !ok {
		return Outcome{}, false, err
	}
	out, err := p.federate(ctx, r, &idp, email)
	return out, true, err
}

// StartFederatedInput is a press of a provider's button.
type StartFederatedInput struct {
	Interaction string
	CSRFToken   string
	ProviderID  string
}

// StartFederated sends the browser to the provider whose button was
// pressed.
func (p *Provider) StartFederated(ctx context.Context, in StartFederatedInput, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	if !boundTo(r, b, in.CSRFToken) {
		return Outcome{Page: pageForeign}, nil
	}
	if p.deps.Federation == nil {
		return Outcome{LoginError: "That sign-in service is not available. Sign in with your email."}, nil
	}
	idp, ok, err := p.deps.Federation.Provider(ctx, in.ProviderID)
	if err != nil {
		return Outcome{}, err
	}
	if !ok || !p.offered(ctx, r, idp.ID) {
		return Outcome{LoginError: "That sign-in service is not available. Sign in with your email."}, nil
	}
	return p.federate(ctx, r, &idp, r.LoginHint)
}

// offered reports whether the sign-in page of r offers provider id: the
// button can't be pressed for any other.
func (p *Provider) offered(ctx context.Context, r *domain.AuthRequest, id string) bool {
	ps, err := p.deps.Federation.ForClient(ctx, r.ClientID)
	return err == nil && slices.ContainsFunc(ps, func(x domain.IdentityProvider) bool { return x.ID == id })
}

// federate records a new attempt in the pending request and sends the
// browser to the upstream.
func (p *Provider) federate(ctx context.Context, r *domain.AuthRequest, idp *domain.IdentityProvider, hint string) (Outcome, error) {
	to, attempt, err := p.deps.Federation.Begin(ctx, idp, r.ID, hint, freshness(r))
	var f *federation.Failure
	if errors.As(err, &f) {
		return Outcome{Federation: &FederationFailure{Message: f.Message, Interaction: r.ID}}, p.markTried(ctx, r.ID)
	}
	if err != nil {
		return Outcome{}, err
	}
	if _, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.Upstream = &attempt
		return nil
	}); err != nil {
		return p.gone(err)
	}
	return Outcome{RedirectTo: to}, nil
}

// freshness is how recent the request wants the sign-in, in seconds, for
// the upstream to honour: 0 for prompt=login, its max_age, or -1 when any
// sign-in will do.
func freshness(r *domain.AuthRequest) int {
	if r.HasPrompt("login") {
		return 0
	}
	return max(r.MaxAge, -1)
}

// markTried leaves a spent attempt in the request, so home-realm discovery
// does not send it upstream again by itself.
func (p *Provider) markTried(ctx context.Context, id string) error {
	_, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, id, p.now(), func(ar *domain.AuthRequest) error {
		if ar.Upstream == nil {
			ar.Upstream = &domain.UpstreamAttempt{}
		}
		ar.Upstream.State = ""
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	return err
}

// gone answers a failed update of a pending request.
func (p *Provider) gone(err error) (Outcome, error) {
	if errors.Is(err, domain.ErrNotFound) {
		return Outcome{Page: pageExpired}, nil
	}
	return Outcome{}, fault.Store("update auth request", err)
}

// FederatedCallback takes the browser back from the upstream with its
// answer. The state names the pending request, which must be this
// browser's, and must be its attempt's: spent once checked, so the answer
// can't be replayed. Then the attempt is finished (federation.Finish) and
// the user signed in as after a password.
func (p *Provider) FederatedCallback(ctx context.Context, state string, cb federation.Callback, b Browser) (Outcome, error) {
	id, random, ok := federation.SplitState(state)
	if !ok || p.deps.Federation == nil {
		return Outcome{Federation: &FederationFailure{Message: "This sign-in answer does not belong to a sign-in under way. Return to the application and try again."}}, nil
	}
	r, page, err := p.loadPending(ctx, id, b)
	if err != nil {
		return Outcome{}, err
	}
	if page != nil {
		// Another browser's request, or none: nothing to go back to.
		return Outcome{Federation: &FederationFailure{Message: "This sign-in answer belongs to a sign-in that expired or was started in another browser. Return to the application and try again."}}, nil
	}
	var attempt domain.UpstreamAttempt
	_, err = p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		if ar.Upstream == nil || ar.Upstream.State == "" || subtle.ConstantTimeCompare([]byte(ar.Upstream.State), []byte(random)) != 1 {
			return errStateMismatch
		}
		attempt = *ar.Upstream
		ar.Upstream.State = ""
		return nil
	})
	if errors.Is(err, errStateMismatch) {
		return Outcome{Federation: &FederationFailure{Message: "This sign-in answer is not the one this sign-in is waiting for (it was used already, or a newer one was started). Try again.", Interaction: r.ID}}, nil
	}
	if err != nil {
		return p.gone(err)
	}
	res, err := p.deps.Federation.Finish(ctx, &attempt, cb)
	var f *federation.Failure
	if errors.As(err, &f) {
		return Outcome{Federation: &FederationFailure{Message: f.Message, Interaction: r.ID}}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	user := res.User
	if !slices.Contains(res.AMR, "mfa") {
		need, err := p.needsFactor(ctx, r, &user)
		if err != nil {
			return Outcome{}, err
		}
		if need {
			return p.owesFactor(ctx, r, user.ID, res.AMR)
		}
	}
	return p.signIn(ctx, r, &user, res.AMR, b, true)
}

var errStateMismatch = errors.New("state mismatch")

// owesFactor records that userID proved the first step by amr and still
// owes a second factor, and goes on to the factor page.
func (p *Provider) owesFactor(ctx context.Context, r *domain.AuthRequest, userID string, amr []string) (Outcome, error) {
	_, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.FactorUserID, ar.AMR = userID, amr
		return nil
	})
	if err != nil {
		return p.gone(err)
	}
	return Outcome{Step: StepFactor, Interaction: r.ID}, nil
}
