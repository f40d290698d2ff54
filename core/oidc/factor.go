package oidc

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/mfa"
)

// The second step of a sign-in. After the right password, a user who has
// a second factor, whom an organization's policy covers, or whose client
// asked for acr "mfa" gives a code (or a recovery code) before any session
// exists; one who has no factor and needs one enrols an authenticator
// first. Until then the pending request holds who gave the password
// (AuthRequest.FactorUserID), and nothing else knows of it.

// requestedACR returns the classes a request asks for, of those this
// provider knows: an essential acr claim's values (OIDC Core §5.5.1.1),
// or else acr_values (§3.1.2.1). An essential acr none of whose values is
// known cannot be met, and fails the request.
func requestedACR(rc domain.RequestedClaims, acrValues string) ([]string, *Error) {
	asked := essentialACR(rc)
	essential := len(asked) > 0
	if !essential {
		asked = strings.Fields(acrValues)
	}
	var known []string
	for _, v := range asked {
		if slices.Contains(acrValuesSupported, v) && !slices.Contains(known, v) {
			known = append(known, v)
		}
	}
	if essential && len(known) == 0 {
		return nil, oauthErr(CodeAccessDenied, "the essential acr requested cannot be met: this provider signs users in at acr %s", strings.Join(acrValuesSupported, " or "))
	}
	return known, nil
}

// wantsMFA reports whether a request accepts only a sign-in of two factors.
func wantsMFA(r *domain.AuthRequest) bool {
	return len(r.ACRValues) > 0 && !slices.Contains(r.ACRValues, acrPassword)
}

// needsFactor reports whether a user who gave the right password must
// also give a second factor for this request.
func (p *Provider) needsFactor(ctx context.Context, r *domain.AuthRequest, user *domain.User) (bool, error) {
	if wantsMFA(r) {
		return true, nil
	}
	f, err := p.deps.MFA.Factors(ctx, user.ID)
	if err != nil {
		return false, err
	}
	if f.HasSecondFactor() {
		return true, nil
	}
	return p.deps.MFA.Required(ctx, user.ID)
}

// FactorPrompt is what the second-factor page shows.
type FactorPrompt struct {
	Prompt
	// The factors the user has: an authenticator, passkeys, and how many
	// recovery codes are left.
	TOTP          bool
	Passkeys      bool
	RecoveryCodes int
	// Enrol is the authenticator to set up, when the user has no factor
	// and this sign-in needs one.
	Enrol *mfa.Enrolment
}

// factorPending loads a pending request waiting for a second factor.
func (p *Provider) factorPending(ctx context.Context, id string, b Browser) (*domain.AuthRequest, Prompt, *Error, error) {
	r, pr, page, err := p.pendingPrompt(ctx, id, b)
	if err != nil || page != nil {
		return nil, pr, page, err
	}
	if r.FactorUserID == "" {
		return nil, Prompt{}, pageExpired, nil
	}
	return r, pr, nil, nil
}

// FactorPrompt returns what the second-factor page shows for a pending
// request. A user with no factor is given an enrolment.
func (p *Provider) FactorPrompt(ctx context.Context, id string, b Browser) (FactorPrompt, *Error, error) {
	r, pr, page, err := p.factorPending(ctx, id, b)
	if err != nil || page != nil {
		return FactorPrompt{}, page, err
	}
	f, err := p.deps.MFA.Factors(ctx, r.FactorUserID)
	if err != nil {
		return FactorPrompt{}, nil, err
	}
	fp := FactorPrompt{Prompt: pr, TOTP: f.TOTP != nil, Passkeys: len(f.Passkeys) > 0, RecoveryCodes: f.UnusedRecoveryCodes()}
	if !f.HasSecondFactor() {
		en, err := p.deps.MFA.StartTOTP(ctx, r.FactorUserID, mfa.SignInOwner(r.ID))
		if err != nil {
			return FactorPrompt{}, nil, err
		}
		fp.Enrol = &en
	}
	return fp, nil, nil
}

// Second-factor methods a form submits.
const (
	FactorTOTP     = "totp"
	FactorRecovery = "recovery"
	FactorEnrol    = "enrol"
	// FactorPasskey's Code is the browser's answer to PasskeyOptions.
	FactorPasskey = "passkey"
)

// FactorInput is a submitted second-factor form.
type FactorInput struct {
	Interaction string
	CSRFToken   string
	Method      string
	Code        string
}

// SubmitFactor checks a second factor and, when it is right, signs the
// user in. An enrolment confirmed here answers StepRecoveryCodes with the
// new codes, which the user sees once before going on (Continue).
func (p *Provider) SubmitFactor(ctx context.Context, in FactorInput, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	if !boundTo(r, b, in.CSRFToken) || r.FactorUserID == "" {
		return Outcome{Page: pageForeign}, nil
	}
	if strings.TrimSpace(in.Code) == "" {
		return Outcome{LoginError: "Enter the code."}, nil
	}
	if len(in.Code) > maxPasskeyAnswer {
		return Outcome{LoginError: "That code is not right. Try again."}, nil
	}
	uid := r.FactorUserID
	var codes []string
	amr := append(firstStep(r), "otp", "mfa")
	switch in.Method {
	case FactorTOTP:
		err = p.deps.MFA.VerifyTOTP(ctx, uid, in.Code)
	case FactorRecovery:
		err = p.deps.MFA.UseRecoveryCode(ctx, uid, in.Code)
	case FactorEnrol:
		codes, err = p.deps.MFA.ConfirmTOTP(ctx, uid, mfa.SignInOwner(r.ID), in.Code)
	case FactorPasskey:
		amr, err = p.passkeyFactor(ctx, r, in.Code)
	default:
		return Outcome{LoginError: "Choose how to confirm it is you."}, nil
	}
	switch {
	case errors.Is(err, mfa.ErrThrottled):
		return Outcome{LoginError: "Too many codes were tried for this account. Wait a few minutes and try again.", Throttled: true}, nil
	case errors.Is(err, mfa.ErrNoEnrolment) && in.Method == FactorPasskey:
		return Outcome{LoginError: "The passkey request expired. Try again."}, nil
	case errors.Is(err, mfa.ErrNoEnrolment):
		return Outcome{LoginError: "The setup expired. Scan the new code and try again."}, nil
	case errors.Is(err, mfa.ErrWrongCode), errors.Is(err, mfa.ErrNoFactor), errors.Is(err, mfa.ErrPasskeysOff):
		return p.loginFailed(ctx, r, "That code is not right. Try again.")
	case err != nil:
		return Outcome{}, err
	}
	user, err := p.deps.Users.GetUser(ctx, uid)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !user.CanSignIn() {
		return Outcome{Page: oauthErr(CodeAccessDenied, "This account is not active. Contact your organization's administrator.")}, nil
	}
	if err != nil {
		return Outcome{}, fault.Store("get user", err)
	}
	if codes != nil {
		out, err := p.signIn(ctx, r, &user, amr, b, false)
		if err == nil && out.Page == nil {
			out.Step, out.Interaction, out.RecoveryCodes = StepRecoveryCodes, r.ID, codes
		}
		return out, err
	}
	return p.signIn(ctx, r, &user, amr, b, true)
}

// Continue goes on with a request whose user signed in and was shown
// something first (new recovery codes): to consent, or to the client.
func (p *Provider) Continue(ctx context.Context, id, csrf string, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, id, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	if !boundTo(r, b, csrf) {
		return Outcome{Page: pageForeign}, nil
	}
	user, err := p.requestUser(ctx, r, b)
	if err != nil || user == nil {
		return Outcome{Page: pageExpired}, err
	}
	return p.afterLogin(ctx, r, user)
}

// firstStep returns the methods of the first step of a sign-in that owes
// a second factor: the password's, or the upstream's for a federated one
// (recorded with FactorUserID).
func firstStep(r *domain.AuthRequest) []string {
	if len(r.AMR) == 0 {
		return []string{"pwd"}
	}
	return slices.Clone(r.AMR)
}

// passkeyFactor checks a passkey as the second factor of the request's
// user and returns the sign-in's methods: the password's and the
// passkey's.
func (p *Provider) passkeyFactor(ctx context.Context, r *domain.AuthRequest, answer string) ([]string, error) {
	ceremony, page, err := p.spendCeremony(ctx, r)
	if err != nil {
		return nil, err
	}
	if page != nil {
		return nil, mfa.ErrNoEnrolment
	}
	_, methods, err := p.deps.MFA.FinishPasskeyLogin(ctx, ceremony, r.FactorUserID, []byte(answer))
	if err != nil {
		return nil, err
	}
	amr := firstStep(r)
	for _, m := range methods {
		if m != "mfa" {
			amr = append(amr, m)
		}
	}
	return append(amr, "mfa"), nil
}
