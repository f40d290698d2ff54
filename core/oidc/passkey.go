package oidc

import (
	"context"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/mfa"
)

// Passkeys at sign-in. A passkey that verified its user is a sign-in of
// its own ("Sign in with a passkey": a discoverable credential names the
// account), or the second factor after a password. Either way the
// ceremony waits in the pending request (AuthRequest.Ceremony), bound to
// this browser like the request itself, and is spent by the first answer.

// maxPasskeyAnswer bounds the browser's answer; a real one is a few KiB.
const maxPasskeyAnswer = 16 << 10

// PasskeysOn reports whether this server offers passkeys (its issuer's
// host can be a WebAuthn relying party).
func (p *Provider) PasskeysOn() bool { return p.deps.MFA.PasskeysOn() }

// PasskeyOptions begins a passkey ceremony for a pending request and
// returns the options for navigator.credentials.get. With second, it is
// the second factor of the user who gave the password; otherwise a
// sign-in with the passkey alone.
func (p *Provider) PasskeyOptions(ctx context.Context, id, csrf string, b Browser, second bool) ([]byte, *Error, error) {
	r, page, err := p.loadPending(ctx, id, b)
	if err != nil || page != nil {
		return nil, page, err
	}
	if !boundTo(r, b, csrf) || second && r.FactorUserID == "" {
		return nil, pageForeign, nil
	}
	uid := ""
	if second {
		uid = r.FactorUserID
	}
	options, ceremony, err := p.deps.MFA.BeginPasskeyLogin(ctx, uid)
	switch {
	case errors.Is(err, mfa.ErrPasskeysOff), errors.Is(err, mfa.ErrNoFactor):
		return nil, oauthErr(CodeInvalidRequest, "Passkeys are not available for this sign-in."), nil
	case err != nil:
		return nil, nil, err
	}
	_, err = p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.Ceremony = ceremony
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, pageExpired, nil
	}
	if err != nil {
		return nil, nil, fault.Store("update auth request", err)
	}
	return options, nil, nil
}

// PasskeyInput is a submitted passkey answer.
type PasskeyInput struct {
	Interaction string
	CSRFToken   string
	// Credential is the browser's PublicKeyCredential as JSON.
	Credential string
}

// spendCeremony takes the pending request's ceremony out of it, so that
// an answer is checked against it once.
func (p *Provider) spendCeremony(ctx context.Context, r *domain.AuthRequest) ([]byte, *Error, error) {
	var ceremony []byte
	_, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ceremony, ar.Ceremony = ar.Ceremony, nil
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return nil, pageExpired, nil
	}
	if err != nil {
		return nil, nil, fault.Store("update auth request", err)
	}
	return ceremony, nil, nil
}

// PasskeySignIn signs a user in with a passkey alone: the passkey names
// the account, and its user verification makes it two factors in one.
func (p *Provider) PasskeySignIn(ctx context.Context, in PasskeyInput, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	if !boundTo(r, b, in.CSRFToken) {
		return Outcome{Page: pageForeign}, nil
	}
	if in.Credential == "" || len(in.Credential) > maxPasskeyAnswer {
		return Outcome{LoginError: "The passkey's answer was not received. Try again."}, nil
	}
	ceremony, page, err := p.spendCeremony(ctx, r)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	uid, amr, err := p.deps.MFA.FinishPasskeyLogin(ctx, ceremony, "", []byte(in.Credential))
	switch {
	case errors.Is(err, mfa.ErrNoEnrolment):
		return Outcome{LoginError: "The passkey request expired. Try again."}, nil
	case errors.Is(err, mfa.ErrWrongCode), errors.Is(err, mfa.ErrPasskeysOff):
		return p.loginFailed(ctx, r, "That passkey could not sign you in. Try again, or use your password.")
	case err != nil:
		return Outcome{}, err
	}
	if !slices.Contains(amr, "mfa") {
		// Only a passkey that verified its user stands alone.
		return p.loginFailed(ctx, r, "That passkey could not sign you in. Try again, or use your password.")
	}
	user, err := p.deps.Users.GetUser(ctx, uid)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !user.CanSignIn() {
		return p.loginFailed(ctx, r, "That passkey could not sign you in. Try again, or use your password.")
	}
	if err != nil {
		return Outcome{}, fault.Store("get user", err)
	}
	return p.signIn(ctx, r, &user, amr, b, true)
}
