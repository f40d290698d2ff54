package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Signing in with a passkey. The ceremony is kept by the caller, in the
// pending sign-in request, and not in the user's factors: a discoverable
// sign-in does not know its user until the answer names them. The caller
// must keep it on the server, where the browser cannot change it, and
// drop it once finished; the challenge is spent here as well, so a
// ceremony answers once even if the caller keeps it.
//
// User verification is required in both kinds of sign-in. Every passkey
// verified its user when it was registered, so requiring it costs no one
// anything, and a sign-in with a passkey is then two factors (something
// held and something known or been) whichever way it is used.
//
// The authenticator data's flags are checked as the library advises: BE
// (backup eligible) must be what it was at registration, which the
// library checks, and BS (backup state) may change, so it is written back.
// The signature counter must go up when it is used at all (when it or the
// stored value is not zero); an answer whose counter does not is refused,
// as WebAuthn §6.1.1 leaves to the relying party: a counter that goes back
// means a cloned authenticator or a replayed answer, and either way the
// sign-in is not one to trust. Synced passkeys keep their counter at zero
// and are not affected.

// BeginPasskeyLogin starts a passkey sign-in. With userID "" it is a
// discoverable sign-in: the browser offers every passkey it holds for this
// server. With a userID (a second factor, after the password) only that
// user's passkeys are allowed, and a user with none gets ErrNoFactor.
//
// It returns the options for navigator.credentials.get (the library's
// protocol.CredentialAssertion as JSON) and the ceremony to hand back to
// FinishPasskeyLogin, which refuses it after passkeyCeremonyTTL.
func (s *Service) BeginPasskeyLogin(ctx context.Context, userID string) (options, ceremony []byte, err error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	challenge := webauthn.WithChallenge(s.challenge())
	if userID == "" {
		assertion, session, err = rp.BeginDiscoverableLogin(challenge)
	} else {
		f, ferr := s.Factors(ctx, userID)
		if ferr != nil {
			return nil, nil, ferr
		}
		if len(f.Passkeys) == 0 {
			return nil, nil, ErrNoFactor
		}
		assertion, session, err = rp.BeginLogin(newPasskeyUser(&domain.User{ID: userID}, &f), challenge)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	session.Expires = s.now().Add(passkeyCeremonyTTL)
	if ceremony, err = json.Marshal(session); err != nil {
		return nil, nil, err
	}
	if options, err = json.Marshal(assertion); err != nil {
		return nil, nil, err
	}
	return options, ceremony, nil
}

// FinishPasskeyLogin checks the browser's answer (the PublicKeyCredential
// as JSON) to a ceremony from BeginPasskeyLogin, and returns the user it
// signs in and the authentication methods (RFC 8176) it proves:
//
//   - "hwk" for a passkey that is not backup eligible: it is bound to one
//     device, and its key never leaves it; "swk" for one that is, as a
//     synced passkey's key lives in software that copies it between
//     devices;
//   - then "mfa" when the authenticator verified its user (the UV flag).
//
// A second factor's caller adds "pwd" for the password given before.
//
// userID is the one BeginPasskeyLogin was given: "" finds the user from
// the answer's user handle; otherwise the passkey must be that user's.
// The caller checks that the user may sign in (domain.User.CanSignIn).
//
// A wrong or invalid answer, an unknown passkey and an unknown user are
// all ErrWrongCode, so an answer tells nothing of which accounts exist; an
// expired or already finished ceremony is ErrNoEnrolment. A second
// factor's tries count against the account's attempts, as codes do; a
// discoverable sign-in's do not, as its user handle is the sender's to
// choose and counting it would let anyone lock an account's second factor.
func (s *Service) FinishPasskeyLogin(ctx context.Context, ceremony []byte, userID string, response []byte) (string, []string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	var session webauthn.SessionData
	if len(ceremony) == 0 || json.Unmarshal(ceremony, &session) != nil || !now.Before(session.Expires) {
		return "", nil, ErrNoEnrolment
	}
	if string(session.UserID) != userID {
		return "", nil, fmt.Errorf("%w: the ceremony was begun for another user", ErrWrongCode)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrWrongCode, err)
	}
	uid := userID
	if uid == "" {
		// WebAuthn bounds user handles at 64 bytes (§5.4.3).
		if uid = string(parsed.Response.UserHandle); uid == "" || len(uid) > 64 {
			return "", nil, fmt.Errorf("%w: no user handle", ErrWrongCode)
		}
	} else if err := s.throttle(ctx, uid); err != nil {
		return "", nil, err
	}
	first, err := s.deps.Replay.Remember(ctx, "webauthn:"+session.Challenge, now, session.Expires)
	if err != nil {
		return "", nil, fault.Store("remember challenge", err)
	}
	if !first {
		return "", nil, ErrNoEnrolment
	}
	// The expiry was checked against the service's clock; the library
	// would check it against the system's.
	session.Expires = time.Time{}

	var amr []string
	_, err = s.spend(ctx, uid, func(f *domain.Factors, u *domain.User, now time.Time) (change, error) {
		pu := newPasskeyUser(u, f)
		var cred *webauthn.Credential
		var err error
		if userID == "" {
			_, cred, err = rp.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return pu, nil }, session, parsed)
		} else {
			cred, err = rp.ValidateLogin(pu, session, parsed)
		}
		if err != nil {
			return change{}, fmt.Errorf("%w: %w", ErrWrongCode, err)
		}
		if cred.Authenticator.CloneWarning {
			return change{}, fmt.Errorf("%w: the passkey's signature counter did not go up", ErrWrongCode)
		}
		p := f.Passkey(cred.ID)
		if p == nil { // the library found it among pu's, which are f's
			return change{}, ErrWrongCode
		}
		p.SignCount, p.BackupState, p.LastUsedAt = cred.Authenticator.SignCount, cred.Flags.BackupState, now
		amr = passkeyAMR(p.BackupEligible, parsed.Response.AuthenticatorData.Flags.HasUserVerified())
		return change{}, nil
	})
	if errors.Is(err, domain.ErrNotFound) { // no user has that handle
		return "", nil, fmt.Errorf("%w: unknown user handle", ErrWrongCode)
	}
	if err != nil {
		return "", nil, err
	}
	return uid, amr, nil
}

// passkeyAMR is what a passkey sign-in proves, as RFC 8176 names it.
func passkeyAMR(backupEligible, userVerified bool) []string {
	key := "hwk"
	if backupEligible {
		key = "swk"
	}
	if userVerified {
		return []string{key, "mfa"}
	}
	return []string{key}
}
