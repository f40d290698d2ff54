package mfa

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Passkeys are WebAuthn (Level 2) credentials, registered on the account
// page and used to sign in: alone, as a discoverable credential that
// names its user, or after the password as a second factor. The library
// github.com/go-webauthn/webauthn runs the ceremonies; this file keeps
// what it needs between them and what an account holder is told.
//
// Every passkey is discoverable (a resident key) and verifies its user (a
// PIN or a biometric): registration requires both, so any passkey can
// sign in without a password, and signing in with one is two factors.

// passkeyCeremonyTTL bounds a ceremony, registration or sign-in, and is
// also the timeout the browser is given.
const passkeyCeremonyTTL = 5 * time.Minute

// passkeyChallengeSize is 256 bits, twice WebAuthn's minimum (§13.4.3).
const passkeyChallengeSize = 32

// maxPasskeyName bounds a passkey's name, in characters.
const maxPasskeyName = 64

// newRelyingParty builds the WebAuthn relying party once, or says why
// passkeys are off.
func newRelyingParty(cfg Config, deps Deps) (*webauthn.WebAuthn, error) {
	if cfg.RPID == "" {
		return nil, ErrPasskeysOff
	}
	if deps.Replay == nil {
		return nil, fmt.Errorf("%w: no replay cache to spend sign-in challenges with", ErrPasskeysOff)
	}
	timeouts := webauthn.TimeoutConfig{Timeout: passkeyCeremonyTTL, TimeoutUVD: passkeyCeremonyTTL}
	rp, err := webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.RPName, RPOrigins: cfg.RPOrigins,
		// No attestation: the account holder picks their authenticator,
		// and no policy here depends on its make.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeouts, Registration: timeouts},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPasskeysOff, err)
	}
	return rp, nil
}

// PasskeysOn reports whether this server offers passkeys.
func (s *Service) PasskeysOn() bool { return s.rp != nil }

// relyingParty returns the relying party, or ErrPasskeysOff (with the
// reason) when there is none.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if s.rp == nil {
		return nil, s.rpOff
	}
	return s.rp, nil
}

// challenge is a new ceremony's challenge, from Random rather than the
// library's own source, as every secret of the core is.
func (s *Service) challenge() protocol.URLEncodedBase64 {
	return s.deps.Random.Bytes(passkeyChallengeSize)
}

// passkeyUser is a user as the library sees one. The user handle is the
// user's id: it is stable, names no one (a random UUID) and fits WebAuthn's
// 64 bytes, so a discoverable sign-in finds the user from it directly.
type passkeyUser struct {
	u     *domain.User
	creds []webauthn.Credential
}

func newPasskeyUser(u *domain.User, f *domain.Factors) *passkeyUser {
	pu := &passkeyUser{u: u, creds: make([]webauthn.Credential, len(f.Passkeys))}
	for i := range f.Passkeys {
		pu.creds[i] = toCredential(&f.Passkeys[i])
	}
	return pu
}

func (p *passkeyUser) WebAuthnID() []byte   { return []byte(p.u.ID) }
func (p *passkeyUser) WebAuthnName() string { return p.u.Email }
func (p *passkeyUser) WebAuthnDisplayName() string {
	if n := p.u.Name(); n != "" {
		return n
	}
	return p.u.Email
}
func (p *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// toCredential is a stored passkey as the library's credential record.
// The flags are rebuilt from what is stored: UP and UV, which registration
// required, and BE and BS as last seen, so that the library can tell when
// an assertion's BE differs from the registration's.
func toCredential(p *domain.Passkey) webauthn.Credential {
	flags := protocol.FlagUserPresent | protocol.FlagUserVerified
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: p.ID, PublicKey: p.PublicKey, AttestationType: p.AttestationType, Transport: transports,
		Flags:         webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// fromCredential is a newly registered credential as a stored passkey.
func fromCredential(c *webauthn.Credential, name string, now time.Time) domain.Passkey {
	transports := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		transports[i] = string(t)
	}
	return domain.Passkey{
		ID: c.ID, Name: name, PublicKey: c.PublicKey, AttestationType: c.AttestationType,
		AAGUID: c.Authenticator.AAGUID, SignCount: c.Authenticator.SignCount,
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState,
		Transports: transports, CreatedAt: now,
	}
}

// passkeyName is a passkey's name as typed, trimmed, or ErrBadName. The
// name goes into mails and pages, so it must be printable text: no
// control characters, and no bidirectional ones that would make a name
// read as another (domain.PrintableText).
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !domain.PrintableText(name, maxPasskeyName) {
		return "", ErrBadName
	}
	return name, nil
}

// BeginPasskeyRegistration starts registering a passkey for a signed-in
// user. It returns the options for navigator.credentials.create (the
// library's protocol.CredentialCreation as JSON), which exclude the user's
// passkeys so an authenticator is not registered twice. The ceremony waits
// in the user's factors for passkeyCeremonyTTL, replacing any earlier one.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, userID string) ([]byte, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	var options []byte
	_, err = s.spend(ctx, userID, func(f *domain.Factors, u *domain.User, now time.Time) (change, error) {
		if len(f.Passkeys) >= domain.MaxPasskeys {
			return change{}, ErrTooManyPasskeys
		}
		pu := newPasskeyUser(u, f)
		challenge := s.challenge()
		creation, session, err := rp.BeginRegistration(pu,
			webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
			func(o *protocol.PublicKeyCredentialCreationOptions) error { o.Challenge = challenge; return nil },
		)
		if err != nil {
			return change{}, fmt.Errorf("begin passkey registration: %w", err)
		}
		session.Expires = now.Add(passkeyCeremonyTTL)
		if f.Ceremony, err = json.Marshal(session); err != nil {
			return change{}, err
		}
		f.CeremonyExpires = session.Expires
		options, err = json.Marshal(creation)
		return change{}, err
	})
	if err != nil {
		return nil, err
	}
	return options, nil
}

// FinishPasskeyRegistration completes a registration with the browser's
// answer (the PublicKeyCredential as JSON) and stores the passkey under
// name. The account gets recovery codes with its first second factor, as
// with an authenticator app; those are returned, to be shown once.
//
// The ceremony is spent by the first answer, right or wrong, so an answer
// cannot be tried again. A bad name is refused before that: the
// authenticator has made its credential already, and the holder may send
// it again under a better name.
//
// A credential id is refused when this account has it. Another account's
// passkeys are not searched (the store has no index by credential id):
// an authenticator makes a new random id for each credential, and a
// sign-in looks a credential up within the account its user handle names,
// so one account's id in another's list signs no one into the first.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, userID, name string, response []byte) ([]string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	if name, err = passkeyName(name); err != nil {
		return nil, err
	}
	parsed, parseErr := protocol.ParseCredentialCreationResponseBytes(response)
	var codes []string
	var refused error // the answer's fault; the spent ceremony is still written
	_, err = s.update(ctx, userID, func(f *domain.Factors, u *domain.User, now time.Time) (change, error) {
		raw, expires := f.Ceremony, f.CeremonyExpires
		if len(raw) == 0 {
			return change{}, ErrNoEnrolment
		}
		f.Ceremony, f.CeremonyExpires = nil, time.Time{}
		var session webauthn.SessionData
		switch {
		case !now.Before(expires) || json.Unmarshal(raw, &session) != nil:
			refused = ErrNoEnrolment
		case parseErr != nil:
			refused = fmt.Errorf("%w: %w", ErrWrongCode, parseErr)
		}
		if refused != nil {
			return change{}, nil
		}
		// The expiry was checked against the service's clock; the library
		// would check it against the system's.
		session.Expires = time.Time{}
		cred, err := rp.CreateCredential(newPasskeyUser(u, f), session, parsed)
		switch {
		case err != nil:
			refused = fmt.Errorf("%w: %w", ErrWrongCode, err)
		case f.Passkey(cred.ID) != nil:
			refused = ErrPasskeyExists
		case len(f.Passkeys) >= domain.MaxPasskeys:
			refused = ErrTooManyPasskeys
		}
		if refused != nil {
			return change{}, nil
		}
		first := !f.HasSecondFactor()
		f.Passkeys = append(f.Passkeys, fromCredential(cred, name, now))
		if first && f.UnusedRecoveryCodes() == 0 {
			codes = s.newRecoveryCodes(f)
		}
		return change{
			event: domain.EventUserFactorAdded, factor: kindPasskey, name: name,
			subject: "A passkey was added to your Calimatic account",
			mail:    "A passkey named \"" + name + "\" was added to your Calimatic account. It can now be used to sign in.",
		}, nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RemovePasskey removes one of the user's passkeys, by credential id. The
// recovery codes go with the last second factor.
func (s *Service) RemovePasskey(ctx context.Context, userID string, id []byte) error {
	_, err := s.update(ctx, userID, func(f *domain.Factors, _ *domain.User, _ time.Time) (change, error) {
		p := f.Passkey(id)
		if p == nil {
			return change{}, ErrNoFactor
		}
		name := p.Name
		f.Passkeys = slices.DeleteFunc(f.Passkeys, func(p domain.Passkey) bool { return bytes.Equal(p.ID, id) })
		dropOrphanCodes(f)
		return change{
			event: domain.EventUserFactorRemoved, factor: kindPasskey, name: name,
			subject: "A passkey was removed from your Calimatic account",
			mail:    "The passkey named \"" + name + "\" was removed from your Calimatic account. It no longer signs you in.",
		}, nil
	})
	return err
}

// RenamePasskey changes the name of one of the user's passkeys. It is no
// event and sends no mail: a name is the holder's label, and changes no
// way into the account.
func (s *Service) RenamePasskey(ctx context.Context, userID string, id []byte, name string) error {
	name, err := passkeyName(name)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, userID, func(f *domain.Factors, _ *domain.User, _ time.Time) (change, error) {
		p := f.Passkey(id)
		if p == nil {
			return change{}, ErrNoFactor
		}
		if p.Name == name {
			return change{}, errUnchanged
		}
		p.Name = name
		return change{}, nil
	})
	return err
}
