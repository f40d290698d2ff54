package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Paths of the account pages that emailed links open.
const (
	PathAcceptInvite   = "/invite"
	PathForgotPassword = "/forgot-password"
	PathResetPassword  = "/reset-password"
)

// Password length bounds, in characters (NIST SP 800-63B §5.1.1.2: at
// least 8, and allow long passphrases).
const (
	MinPasswordLen = domain.MinPasswordLen
	MaxPasswordLen = domain.MaxPasswordLen
)

var errBadLink = &Error{Kind: NotFound, Code: "invalid_link", Message: "this link is invalid, expired or already used"}

// issueLink stores a fresh single-use token for the user and returns the
// page URL that carries it.
func (s *Service) issueLink(ctx context.Context, u domain.User, p domain.ActionPurpose, path string, ttl time.Duration, now time.Time) (string, error) {
	tok := s.deps.Random.Token(32)
	err := s.deps.ActionTokens.CreateActionToken(ctx, domain.ActionToken{
		Hash: domain.HashToken(tok), Purpose: p, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		return "", storeErr("create action token", err)
	}
	return s.cfg.BaseURL + path + "?" + url.Values{"token": {tok}}.Encode(), nil
}

// ErrMailNotSent wraps a mailer's failure. The change that wanted the mail
// stands; the edge logs the failure, which the core cannot.
var ErrMailNotSent = errors.New("mail not sent")

// sendInvite mails an invitation. A failed mail does not undo the
// provisioning: the caller sees inviteSent false and may provision again.
func (s *Service) sendInvite(ctx context.Context, u domain.User, now time.Time) error {
	link, err := s.issueLink(ctx, u, domain.PurposeInvite, PathAcceptInvite, s.cfg.InviteTTL, now)
	if err != nil {
		return err
	}
	if err := s.deps.Mailer.Send(ctx, inviteMail(u, link, s.cfg.InviteTTL)); err != nil {
		return fmt.Errorf("%w: invitation to user %s: %w", ErrMailNotSent, u.ID, err)
	}
	return nil
}

func inviteMail(u domain.User, link string, ttl time.Duration) domain.Mail {
	return domain.Mail{To: u.Email, Subject: "You are invited to Calimatic", Text: fmt.Sprintf(
		"Hello %s,\n\nAn account was made for you on Calimatic. To start using it, choose a password here:\n\n%s\n\nThe link works once and expires in %s.\nIf you did not expect this message, you can ignore it.\n",
		u.GivenName, link, humanDuration(ttl))}
}

func resetMail(u domain.User, link string, ttl time.Duration) domain.Mail {
	return domain.Mail{To: u.Email, Subject: "Reset your Calimatic password", Text: fmt.Sprintf(
		"Hello %s,\n\nSomeone asked to reset the password of your Calimatic account. To choose a new password, open:\n\n%s\n\nThe link works once and expires in %s.\nIf you did not ask for this, ignore this message: your password stays as it is.\n",
		u.GivenName, link, humanDuration(ttl))}
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
}

// sendReset issues a reset link by mail and emits user.password_reset.
func (s *Service) sendReset(ctx context.Context, u domain.User, orgID string, now time.Time) error {
	link, err := s.issueLink(ctx, u, domain.PurposeReset, PathResetPassword, s.cfg.ResetTTL, now)
	if err != nil {
		return err
	}
	if err := s.deps.Mailer.Send(ctx, resetMail(u, link, s.cfg.ResetTTL)); err != nil {
		return fmt.Errorf("%w: password reset for user %s: %w", ErrMailNotSent, u.ID, err)
	}
	aud, err := s.audienceOf(ctx, u.ID, nil)
	if err != nil {
		return err
	}
	return s.publish(ctx, s.userEvent(domain.EventUserPasswordReset, u, orgID, aud, now))
}

// ForgotPassword mails a reset link if an active account has this email.
// Its answer is nil whether or not an account exists, so the page tells no
// one which emails have accounts; an error wrapping ErrMailNotSent is for
// the edge to log, and to answer as if all went well.
//
// It does the lookup and the mail, which take as long as the mail relay
// does; the edge runs it after answering, with CheckEmail first, so that the
// answer's timing tells nothing either.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	if err := CheckEmail(email); err != nil {
		return err
	}
	email = domain.NormalizeEmail(email)
	u, err := s.deps.Users.GetUserByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr("get user", err)
	}
	if u.Status != domain.UserActive {
		return nil
	}
	return s.sendReset(ctx, u, "", s.now())
}

// CheckEmail refuses what is not an email address.
func CheckEmail(email string) error {
	if !domain.ValidEmail(domain.NormalizeEmail(email)) {
		return newErr(Invalid, "invalid_email", "enter a valid email address")
	}
	return nil
}

// CheckPassword applies the password rules.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return newErr(Invalid, "invalid_password", "the password is not valid text")
	case n < MinPasswordLen:
		return newErr(Invalid, "invalid_password", "the password must have at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return newErr(Invalid, "invalid_password", "the password must have at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// AcceptInvite spends an invitation link and sets the user's first
// password, which activates the account and verifies its email (the link
// reached that inbox).
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (domain.User, error) {
	return s.spendLink(ctx, token, password, domain.PurposeInvite)
}

// ResetPassword spends a reset link and sets a new password. It ends every
// session and revokes every refresh token of the user, and moves NotBefore
// so that access tokens from earlier sign-ins stop introspecting as active.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (domain.User, error) {
	return s.spendLink(ctx, token, password, domain.PurposeReset)
}

func (s *Service) spendLink(ctx context.Context, token, password string, p domain.ActionPurpose) (domain.User, error) {
	if token == "" || len(token) > 128 {
		return domain.User{}, errBadLink
	}
	if err := CheckPassword(password); err != nil {
		return domain.User{}, err // checked first, so a typo does not spend the link
	}
	now := s.now()
	t, err := s.deps.ActionTokens.ConsumeActionToken(ctx, domain.HashToken(token), p, now)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, errBadLink
	}
	if err != nil {
		return domain.User{}, storeErr("consume action token", err)
	}
	hash := domain.HashPassword(password, s.deps.Random.Bytes(int(s.cfg.Password.SaltLen)), s.cfg.Password)
	u, err := s.deps.Users.UpdateUser(ctx, t.UserID, func(u *domain.User) error {
		// A link made before the last reset is void: a newer reset wins.
		if t.CreatedAt.Before(u.NotBefore) {
			return errBadLink
		}
		if !linkAllowed(u.Status, p) {
			return newErr(Conflict, "account_unavailable", "this account cannot be used; contact your organization")
		}
		u.PasswordHash, u.EmailVerified, u.Status, u.UpdatedAt = hash, true, domain.UserActive, now
		if p == domain.PurposeReset {
			u.NotBefore = now
		}
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, errBadLink
	}
	if err != nil {
		if _, ok := AsError(err); ok {
			return domain.User{}, err
		}
		return domain.User{}, storeErr("update user", err)
	}
	if p == domain.PurposeReset {
		if err := s.endSignIns(ctx, u.ID, now); err != nil {
			return domain.User{}, err
		}
	}
	aud, err := s.audienceOf(ctx, u.ID, nil)
	if err != nil {
		return domain.User{}, err
	}
	return u, s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, "", aud, now))
}

// linkAllowed reports whether a user in status may use a link: an
// invitation while invited, a reset while active or invited (a reset proves
// the inbox as an invitation does). Suspended and deactivated accounts stay
// locked.
func linkAllowed(st domain.UserStatus, p domain.ActionPurpose) bool {
	if p == domain.PurposeInvite {
		return st == domain.UserInvited
	}
	return st == domain.UserActive || st == domain.UserInvited
}
