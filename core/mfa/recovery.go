package mfa

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Recovery codes: ten, each 80 random bits written as sixteen characters
// of Crockford's base32 in groups of four ("7kq2-m9xd-4hpa-0wz3"). Typing
// is forgiving: case, spaces and dashes don't matter, and o, i and l read
// as 0, 1 and 1.
const recoveryCodeCount = 10

var crockford = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newRecoveryCodes replaces f's recovery codes with a new set and returns
// them in the clear, to be shown once.
func (s *Service) newRecoveryCodes(f *domain.Factors) []string {
	codes := make([]string, recoveryCodeCount)
	f.RecoveryCodes = make([]domain.RecoveryCode, recoveryCodeCount)
	for i := range codes {
		raw := crockford.EncodeToString(s.deps.Random.Bytes(10))
		codes[i] = raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
		f.RecoveryCodes[i] = domain.RecoveryCode{Hash: domain.HashToken(raw)}
	}
	return codes
}

// normalizeRecoveryCode is a typed code as it was generated, or "" when
// it cannot be one.
func normalizeRecoveryCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		switch {
		case r == '-' || r == ' ':
		case r == 'o':
			b.WriteByte('0')
		case r == 'i' || r == 'l':
			b.WriteByte('1')
		case strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != 16 {
		return ""
	}
	return b.String()
}

// RegenerateRecoveryCodes replaces the user's recovery codes, voiding the
// old ones, and returns the new ones to be shown once. Only an account
// with a second factor has recovery codes.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	var codes []string
	_, err := s.update(ctx, userID, func(f *domain.Factors, _ *domain.User, _ time.Time) (change, error) {
		if !f.HasSecondFactor() {
			return change{}, ErrNoFactor
		}
		codes = s.newRecoveryCodes(f)
		return change{
			event: domain.EventUserFactorAdded, factor: kindRecovery,
			subject: "New recovery codes for your Calimatic account",
			mail:    "New recovery codes were made for your Calimatic account. The old ones no longer work.",
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// UseRecoveryCode spends one of the user's recovery codes in place of a
// second factor, and tells the holder how many are left.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) error {
	if err := s.throttle(ctx, userID); err != nil {
		return err
	}
	norm := normalizeRecoveryCode(code)
	_, err := s.spend(ctx, userID, func(f *domain.Factors, _ *domain.User, now time.Time) (change, error) {
		if norm == "" || !f.HasSecondFactor() {
			return change{}, ErrWrongCode
		}
		h := domain.HashToken(norm)
		hit := -1
		for i, c := range f.RecoveryCodes {
			if subtle.ConstantTimeCompare(c.Hash, h) == 1 && c.UsedAt.IsZero() {
				hit = i
			}
		}
		if hit < 0 {
			return change{}, ErrWrongCode
		}
		f.RecoveryCodes[hit].UsedAt = now
		left := f.UnusedRecoveryCodes()
		return change{
			subject: "A recovery code was used to sign in to your Calimatic account",
			mail: "A recovery code was used to sign in to your Calimatic account. " + plural(left, "recovery code is", "recovery codes are") +
				" left; you can make new ones on your account page.",
		}, nil
	})
	return err
}

// dropOrphanCodes clears the recovery codes of an account left with no
// second factor: they stand in for a factor, and there is none.
func dropOrphanCodes(f *domain.Factors) {
	if !f.HasSecondFactor() {
		f.RecoveryCodes = nil
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}
