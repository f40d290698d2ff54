package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Changes the account holder makes on the account page, signed in. They
// change the account itself, which is theirs whatever organization made
// it, and report it as the API's changes do.

// ErrWrongPassword is the current password given for a change that was
// not right.
var ErrWrongPassword = fault.New(fault.Invalid, "wrong_password", "the current password is not right")

// UpdateOwnName changes the holder's given and family names and emits
// user.updated.
func (s *Service) UpdateOwnName(ctx context.Context, userID, given, family string) (domain.User, error) {
	given, family = strings.TrimSpace(given), strings.TrimSpace(family)
	if err := checkName("firstName", given); err != nil {
		return domain.User{}, err
	}
	if err := checkText("lastName", family, maxNameLen); err != nil {
		return domain.User{}, err
	}
	return unit(s, ctx, func(ctx context.Context) (domain.User, error) {
		now := s.now()
		u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
			u.GivenName, u.FamilyName, u.UpdatedAt = given, family, now
			return nil
		})
		if err != nil {
			return domain.User{}, userStoreErr("update user", err)
		}
		aud, err := s.audienceOf(ctx, u.ID, nil)
		if err != nil {
			return domain.User{}, err
		}
		return u, s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, "", aud, now))
	})
}

// ChangeOwnPassword sets a new password once the current one proves the
// holder, emits user.password_changed and mails the holder; an error
// wrapping ErrMailNotSent means the password changed but the mail failed.
// Sessions stay as they are; the caller may end the others.
func (s *Service) ChangeOwnPassword(ctx context.Context, userID, current, next string) error {
	if err := CheckPassword(next); err != nil {
		return err
	}
	if len(current) > MaxPasswordLen {
		return ErrWrongPassword
	}
	// Both hashes are worked out before the write, so no row waits on
	// argon2id; a password changed meanwhile fails the check below.
	old, err := s.deps.Users.GetUser(ctx, userID)
	if err != nil {
		return userStoreErr("get user", err)
	}
	if ok, _, err := domain.CheckPassword(current, old.PasswordHash, s.cfg.Password); err != nil || !ok {
		return ErrWrongPassword
	}
	hash := domain.HashPassword(next, s.deps.Random.Bytes(int(s.cfg.Password.SaltLen)), s.cfg.Password)
	u, err := unit(s, ctx, func(ctx context.Context) (domain.User, error) {
		now := s.now()
		u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
			if u.PasswordHash != old.PasswordHash {
				return ErrWrongPassword
			}
			u.PasswordHash, u.UpdatedAt = hash, now
			return nil
		})
		if errors.Is(err, ErrWrongPassword) {
			return domain.User{}, err
		}
		if err != nil {
			return domain.User{}, userStoreErr("update user", err)
		}
		aud, err := s.audienceOf(ctx, u.ID, nil)
		if err != nil {
			return domain.User{}, err
		}
		e := s.event(domain.EventUserPasswordChanged, now, u.ID, "", aud,
			f("userId", u.ID), f("email", u.Email), f("changedAt", timestamp(now)))
		return u, s.publish(ctx, e)
	})
	if err != nil {
		return err
	}
	m := domain.Mail{To: u.Email, Subject: "Your Calimatic password was changed", Text: "Hello " + u.GivenName +
		",\n\nThe password of your Calimatic account was changed just now.\n\nIf this was not you, reset your password at once and tell your school's administrator.\n"}
	if err := s.deps.Mailer.Send(ctx, m); err != nil {
		// The password is changed; the edge logs the mail's failure.
		return fmt.Errorf("%w: password change notice for user %s: %w", ErrMailNotSent, u.ID, err)
	}
	return nil
}
