package mfa

import (
	"context"
	"errors"
	"strconv"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Required reports whether an organization's policy asks the user for a
// second factor: the strictest policy among the organizations where the
// user is an active member, applied to the role held there.
func (s *Service) Required(ctx context.Context, userID string) (bool, error) {
	required, _, err := s.Policy(ctx, userID)
	return required, err
}

// Policy reports whether an organization where the user is an active
// member requires a second factor of them (required, or
// required_for_admins for a member whose roles, groups' included, have an
// owner's or an admin's powers, whatever their names), and whether one merely
// invites them to set one up (optional).
func (s *Service) Policy(ctx context.Context, userID string) (required, invited bool, err error) {
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, userID)
	if err != nil {
		return false, false, fault.Store("list memberships", err)
	}
	for _, m := range ms {
		if m.Status != domain.MembershipActive {
			continue
		}
		org, err := s.deps.Orgs.GetOrganization(ctx, m.OrganizationID)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, false, fault.Store("get organization", err)
		}
		manages := false
		if org.MFAPolicy == domain.MFARequiredForAdmins {
			h, err := access.Resolve(ctx, s.deps.Roles, s.deps.Groups, m)
			if err != nil {
				return false, false, fault.Store("resolve roles", err)
			}
			manages = h.Tier() >= access.TierAdmin
		}
		if org.MFAPolicy.Covers(manages) {
			return true, false, nil
		}
		invited = invited || org.MFAPolicy == domain.MFAOptional
	}
	return false, invited, nil
}

// ErrNoUser is a reset asked for a user who does not exist.
var ErrNoUser = fault.New(fault.NotFound, "user_not_found", "no user has this id")

// Reset removes every factor of a user, at a platform administrator's
// request (the holder lost them all): the next sign-in enrols afresh where
// a policy asks for a factor. The event names the administrator's key
// (actorKeyID) as the actor.
func (s *Service) Reset(ctx context.Context, userID, actorKeyID string) error {
	var user domain.User
	err := s.deps.Units.Atomically(ctx, func(ctx context.Context) error {
		u, err := s.deps.Users.GetUser(ctx, userID)
		if errors.Is(err, domain.ErrNotFound) {
			return ErrNoUser
		}
		if err != nil {
			return fault.Store("get user", err)
		}
		user = u
		if err := s.deps.Factors.DeleteFactors(ctx, userID); err != nil {
			return fault.Store("delete factors", err)
		}
		return s.publish(ctx, &u, change{event: domain.EventUserFactorsReset, actor: "admin_key:" + actorKeyID}, s.now())
	})
	if err != nil {
		return err
	}
	s.mail(ctx, &user, change{
		event: domain.EventUserFactorsReset, subject: "The sign-in factors of your Calimatic account were reset",
		mail: "A Calimatic administrator removed the authenticator apps, passkeys and recovery codes of your account. " +
			"The next sign-in may ask you to set up a new one.",
	})
	return nil
}
