package domain

import (
	"bytes"
	"slices"
	"time"
)

// Factors are a user's second factors: an authenticator app (TOTP, RFC
// 6238), recovery codes and passkeys (WebAuthn). A store keeps them as one
// record per user and changes it atomically (ports.FactorStore), so a TOTP
// step or a recovery code is spent once however many sign-ins race for it.
type Factors struct {
	UserID string
	// TOTP is the confirmed authenticator; nil for none.
	TOTP *TOTP
	// PendingTOTP is an enrolment shown to the user and not yet confirmed
	// with a code; it never signs anyone in. PendingTOTPOwner names where
	// it was shown (a pending sign-in, an account page session): only
	// there may it be confirmed, and shown again, so whoever else knows
	// the password cannot plant a secret they know.
	PendingTOTP      *TOTP
	PendingTOTPOwner string
	// RecoveryCodes are the current set; regenerating replaces them all.
	RecoveryCodes []RecoveryCode
	Passkeys      []Passkey
	// Ceremony is a WebAuthn registration under way on the account page:
	// the library's session data, opaque here, until CeremonyExpires.
	Ceremony        []byte
	CeremonyExpires time.Time
	UpdatedAt       time.Time
}

// TOTP is a time-based one-time password authenticator.
type TOTP struct {
	// Secret is the shared key (RFC 6238's K). Stores seal it at rest.
	Secret []byte
	// LastStep is the time step (RFC 6238's T) of the last code accepted;
	// a code of that step or an earlier one is refused, so a code works
	// once (RFC 6238 §5.2).
	LastStep  int64
	CreatedAt time.Time
}

// RecoveryCode is one single-use recovery code, kept as its SHA-256 hash:
// the codes carry 80 random bits, so a fast hash does not let a stolen
// table be reversed.
type RecoveryCode struct {
	Hash   []byte
	UsedAt time.Time // zero while unused
}

// Passkey is a registered WebAuthn credential.
type Passkey struct {
	// ID is the credential id the authenticator chose.
	ID   []byte
	Name string
	// PublicKey is the credential's COSE key.
	PublicKey       []byte
	AttestationType string
	AAGUID          []byte
	// SignCount is the authenticator's signature counter as last seen.
	SignCount uint32
	// BackupEligible and BackupState are the authenticator data's BE and BS
	// flags: an eligible credential may be synced between devices.
	BackupEligible bool
	BackupState    bool
	Transports     []string
	CreatedAt      time.Time
	LastUsedAt     time.Time
}

// MaxPasskeys bounds the passkeys of one account.
const MaxPasskeys = 20

// HasSecondFactor reports whether the user has a factor to sign in with
// besides the password: an authenticator or a passkey. Recovery codes
// alone do not count; they stand in for a lost factor.
func (f *Factors) HasSecondFactor() bool { return f.TOTP != nil || len(f.Passkeys) > 0 }

// UnusedRecoveryCodes counts the recovery codes still usable.
func (f *Factors) UnusedRecoveryCodes() int {
	n := 0
	for _, c := range f.RecoveryCodes {
		if c.UsedAt.IsZero() {
			n++
		}
	}
	return n
}

// Passkey returns the passkey with credential id, or nil.
func (f *Factors) Passkey(id []byte) *Passkey {
	for i := range f.Passkeys {
		if bytes.Equal(f.Passkeys[i].ID, id) {
			return &f.Passkeys[i]
		}
	}
	return nil
}

// Clone returns a copy that shares no memory with f.
func (f Factors) Clone() Factors {
	cloneTOTP := func(t *TOTP) *TOTP {
		if t == nil {
			return nil
		}
		c := *t
		c.Secret = bytes.Clone(t.Secret)
		return &c
	}
	f.TOTP, f.PendingTOTP = cloneTOTP(f.TOTP), cloneTOTP(f.PendingTOTP)
	f.RecoveryCodes = slices.Clone(f.RecoveryCodes)
	for i := range f.RecoveryCodes {
		f.RecoveryCodes[i].Hash = bytes.Clone(f.RecoveryCodes[i].Hash)
	}
	f.Passkeys = slices.Clone(f.Passkeys)
	for i := range f.Passkeys {
		p := &f.Passkeys[i]
		p.ID, p.PublicKey, p.AAGUID = bytes.Clone(p.ID), bytes.Clone(p.PublicKey), bytes.Clone(p.AAGUID)
		p.Transports = slices.Clone(p.Transports)
	}
	f.Ceremony = bytes.Clone(f.Ceremony)
	return f
}

// MFAPolicy is what an organization asks of its members' sign-in.
type MFAPolicy string

// MFA policies. Under off and optional the organization asks nothing
// (optional offers enrolment after sign-in); required_for_admins asks a
// second factor of its owners and admins; required asks it of every
// active member. A member the policy covers who has no factor enrols
// during the next sign-in before it completes.
const (
	MFAOff               MFAPolicy = "off"
	MFAOptional          MFAPolicy = "optional"
	MFARequiredForAdmins MFAPolicy = "required_for_admins"
	MFARequired          MFAPolicy = "required"
)

// ValidMFAPolicy reports whether p is one of the policies.
func ValidMFAPolicy(p MFAPolicy) bool {
	return p == MFAOff || p == MFAOptional || p == MFARequiredForAdmins || p == MFARequired
}

// Covers reports whether the policy asks a second factor of a member;
// manages says whether the member's roles manage users or the
// organization (an owner's or an admin's powers, whatever the roles'
// names, groups' roles included: access.Tier).
func (p MFAPolicy) Covers(manages bool) bool {
	switch p {
	case MFARequired:
		return true
	case MFARequiredForAdmins:
		return manages
	}
	return false
}
