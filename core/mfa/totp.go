package mfa

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// TOTP parameters: what every authenticator app supports, and what the
// otpauth URI's defaults are (RFC 6238 §4, the Key Uri Format).
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpSecretSize = 20 // 160 bits, RFC 4226 §4's recommendation
	totpSkew       = 1  // steps either side: a clock off by up to 30 s
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// b32 is the secret's encoding in otpauth URIs and for manual entry.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrolment is a TOTP enrolment shown to the user: the otpauth URI for a
// QR code, and the secret for typing in by hand.
type Enrolment struct {
	URI    string
	Secret string
}

// StartTOTP begins enrolling an authenticator for owner (where it is
// shown: a pending sign-in, an account page session; see Owner), or shows
// again the one under way there. An enrolment shown elsewhere is replaced,
// never shown: whoever else knows the password must not learn a secret
// the holder then confirms. An authenticator already confirmed stays until
// the new one is.
func (s *Service) StartTOTP(ctx context.Context, userID, owner string) (Enrolment, error) {
	var en Enrolment
	_, err := s.spend(ctx, userID, func(f *domain.Factors, u *domain.User, now time.Time) (change, error) {
		p := f.PendingTOTP
		if p != nil && now.Before(p.CreatedAt.Add(s.cfg.EnrolTTL)) && ownedBy(f, owner) {
			en = s.enrolment(u, p.Secret)
			return change{}, errUnchanged
		}
		f.PendingTOTP = &domain.TOTP{Secret: s.deps.Random.Bytes(totpSecretSize), CreatedAt: now}
		f.PendingTOTPOwner = owner
		en = s.enrolment(u, f.PendingTOTP.Secret)
		return change{}, nil
	})
	return en, err
}

func (s *Service) enrolment(u *domain.User, secret []byte) Enrolment {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.cfg.Issuer, AccountName: u.Email, Secret: secret, SecretSize: totpSecretSize,
		Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil { // only for an empty issuer or account name
		return Enrolment{Secret: b32.EncodeToString(secret)}
	}
	return Enrolment{URI: key.URL(), Secret: key.Secret()}
}

// ConfirmTOTP completes owner's enrolment with a code from the new
// authenticator. The account gets recovery codes with its first factor;
// those are returned, to be shown once (nil when it has some already).
func (s *Service) ConfirmTOTP(ctx context.Context, userID, owner, code string) ([]string, error) {
	if err := s.throttle(ctx, userID); err != nil {
		return nil, err
	}
	var codes []string
	_, err := s.update(ctx, userID, func(f *domain.Factors, _ *domain.User, now time.Time) (change, error) {
		p := f.PendingTOTP
		if p == nil || !now.Before(p.CreatedAt.Add(s.cfg.EnrolTTL)) || !ownedBy(f, owner) {
			return change{}, ErrNoEnrolment
		}
		step, ok := matchStep(p.Secret, code, now, -1)
		if !ok {
			return change{}, ErrWrongCode
		}
		f.TOTP = &domain.TOTP{Secret: p.Secret, LastStep: step, CreatedAt: now}
		f.PendingTOTP, f.PendingTOTPOwner = nil, ""
		if f.UnusedRecoveryCodes() == 0 {
			codes = s.newRecoveryCodes(f)
		}
		return change{
			event: domain.EventUserFactorAdded, factor: kindTOTP,
			subject: "An authenticator app was added to your Calimatic account",
			mail:    "An authenticator app was added to your Calimatic account. From now on, signing in asks for a code from it.",
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// VerifyTOTP checks a code from the user's authenticator. A code works
// once: its time step and every earlier one are spent (RFC 6238 §5.2).
func (s *Service) VerifyTOTP(ctx context.Context, userID, code string) error {
	if err := s.throttle(ctx, userID); err != nil {
		return err
	}
	_, err := s.spend(ctx, userID, func(f *domain.Factors, _ *domain.User, now time.Time) (change, error) {
		if f.TOTP == nil {
			return change{}, ErrNoFactor
		}
		step, ok := matchStep(f.TOTP.Secret, code, now, f.TOTP.LastStep)
		if !ok {
			return change{}, ErrWrongCode
		}
		f.TOTP.LastStep = step
		return change{}, nil
	})
	return err
}

// RemoveTOTP removes the user's authenticator, and a pending enrolment.
func (s *Service) RemoveTOTP(ctx context.Context, userID string) error {
	_, err := s.update(ctx, userID, func(f *domain.Factors, _ *domain.User, _ time.Time) (change, error) {
		if f.TOTP == nil {
			return change{}, ErrNoFactor
		}
		f.TOTP, f.PendingTOTP, f.PendingTOTPOwner = nil, nil, ""
		dropOrphanCodes(f)
		return change{
			event: domain.EventUserFactorRemoved, factor: kindTOTP,
			subject: "An authenticator app was removed from your Calimatic account",
			mail:    "The authenticator app of your Calimatic account was removed.",
		}, nil
	})
	return err
}

// matchStep finds the time step, within the skew of now and after
// lastStep, whose code is code. Every candidate is computed and compared
// in constant time, so timing tells nothing of which one matched.
func matchStep(secret []byte, code string, now time.Time, lastStep int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != int(totpDigits) || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	enc := b32.EncodeToString(secret)
	step := now.Unix() / totpPeriod
	var found int64
	ok := false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(enc, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step+d > lastStep {
			found, ok = step+d, true
		}
	}
	return found, ok
}

// throttle counts one code tried for the account.
func (s *Service) throttle(ctx context.Context, userID string) error {
	d, err := ratelimit.Allow(ctx, s.deps.Limiter, userID, s.cfg.Attempts, s.now())
	if err != nil {
		return err
	}
	if !d.Allowed {
		return ErrThrottled
	}
	return nil
}

// Owners of an enrolment: where it was shown. Either names a secret the
// browser holds (the pending sign-in's id, hashed; the session's public
// id, which only its cookie's holder reaches the account page with).
func SignInOwner(interaction string) string {
	return "sign-in:" + base64.RawURLEncoding.EncodeToString(domain.HashToken(interaction))
}

// SessionOwner is the owner of an enrolment shown on the account page.
func SessionOwner(sid string) string { return "session:" + sid }

// ownedBy reports, in constant time, whether f's pending enrolment was
// shown to owner.
func ownedBy(f *domain.Factors, owner string) bool {
	return owner != "" && subtle.ConstantTimeCompare([]byte(f.PendingTOTPOwner), []byte(owner)) == 1
}
