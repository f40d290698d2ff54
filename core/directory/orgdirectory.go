package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// allActions is every grant action: an organization's own directory may do
// anything within that organization.
var allActions = []string{
	domain.ActionProvision, domain.ActionRead, domain.ActionUpdate, domain.ActionSuspend,
	domain.ActionDeactivate, domain.ActionDelete, domain.ActionResetPassword,
}

// OrgCaller is an organization's own directory, such as its SCIM
// connection, as a caller: it holds every action on that one organization
// and nothing elsewhere, so the same tenancy rules apply as to a client.
// Changes to the account itself (its email, names or status) therefore need
// the user to belong to no other organization. It has no client: it assigns
// no license, and its events reach the organization's audience only.
func OrgCaller(orgID string) *Caller {
	return &Caller{Grants: []domain.ClientGrant{{OrganizationID: orgID, Actions: allActions}}}
}

// AccountChange is an organization directory's change to a user; nil fields
// stay as they are.
type AccountChange struct {
	Email     *string
	FirstName *string
	LastName  *string
	// Profile replaces what the caller's organization records about the
	// user (domain.User.Profiles); it must be an OrgCaller.
	Profile *domain.OrgProfile
	// Precondition, if set, runs on the stored user inside the atomic
	// update; its error aborts the write and is returned (SCIM's If-Match).
	Precondition func(domain.User) error
}

// Empty reports whether the change changes nothing.
func (ch AccountChange) Empty() bool { return !ch.account() && ch.Profile == nil }

func (ch AccountChange) account() bool {
	return ch.Email != nil || ch.FirstName != nil || ch.LastName != nil
}

func (ch AccountChange) check() error {
	if ch.Email != nil && !domain.ValidEmail(domain.NormalizeEmail(*ch.Email)) {
		return newErr(Invalid, "invalid_email", "email %q is not a valid address", clip(*ch.Email))
	}
	// A provider may clear a name: an organization's directory may know
	// only an email.
	if ch.FirstName != nil && strings.TrimSpace(*ch.FirstName) != "" {
		if err := checkName("firstName", strings.TrimSpace(*ch.FirstName)); err != nil {
			return err
		}
	}
	if ch.LastName != nil && strings.TrimSpace(*ch.LastName) != "" {
		if err := checkName("lastName", strings.TrimSpace(*ch.LastName)); err != nil {
			return err
		}
	}
	return nil
}

// UpdateAccount applies an organization directory's change in one atomic
// write. Changing the account (email, names) needs the update action on
// every organization the user is in; changing only the organization's
// profile needs it on that organization. An account change emits
// user.updated; a profile-only change emits nothing, as the events carry no
// profile fields. An email already taken is a Conflict "email_taken".
func (s *Service) UpdateAccount(ctx context.Context, c *Caller, userID string, ch AccountChange) (UserView, error) {
	if err := ch.check(); err != nil {
		return UserView{}, err
	}
	if ch.Profile != nil && len(c.Grants) != 1 {
		return UserView{}, newErr(Invalid, "invalid_request", "only an organization's directory keeps a profile")
	}
	r := anyOrg
	if ch.account() {
		r = everyOrg
	}
	sc, err := s.loadUser(ctx, c, userID, domain.ActionUpdate, r)
	if err != nil {
		return UserView{}, err
	}
	now := s.now()
	accountChanged := false
	u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
		if ch.Precondition != nil {
			if err := ch.Precondition(*u); err != nil {
				return err
			}
		}
		before := *u
		if ch.Email != nil {
			if e := domain.NormalizeEmail(*ch.Email); e != u.Email {
				// A new address is not verified by the old one's proof.
				u.Email, u.EmailVerified = e, false
			}
		}
		set(&u.GivenName, ch.FirstName)
		set(&u.FamilyName, ch.LastName)
		accountChanged = u.Email != before.Email || u.GivenName != before.GivenName || u.FamilyName != before.FamilyName
		if ch.Profile != nil {
			u.Profiles = domain.CloneProfiles(u.Profiles)
			if ch.Profile.IsZero() {
				delete(u.Profiles, c.Grants[0].OrganizationID)
			} else {
				if u.Profiles == nil {
					u.Profiles = map[string]domain.OrgProfile{}
				}
				u.Profiles[c.Grants[0].OrganizationID] = ch.Profile.Clone()
			}
		}
		u.UpdatedAt = now
		return nil
	})
	if errors.Is(err, domain.ErrAlreadyExists) {
		return UserView{}, newErr(Conflict, "email_taken", "another user has that email")
	}
	if err != nil {
		return UserView{}, userStoreErr("update user", err)
	}
	view := UserView{User: u, Memberships: sc.visible}
	if !accountChanged {
		return view, nil
	}
	aud, err := s.audienceOf(ctx, u.ID, sc.all)
	if err != nil {
		return UserView{}, err
	}
	return view, s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, sc.primaryOrg(), aud, now))
}

// Deprovision is an organization directory's removal of a user. A user in
// no other organization is deleted (user.deleted), or deactivated
// (user.deactivated) when deactivate is set. A user who is also in other
// organizations only leaves the caller's: the membership and the
// organization's profile go and user.updated is emitted, as the account is
// not the caller's alone to end.
func (s *Service) Deprovision(ctx context.Context, c *Caller, userID string, deactivate bool) error {
	if len(c.Grants) != 1 {
		return newErr(Invalid, "invalid_request", "only an organization's directory deprovisions")
	}
	orgID := c.Grants[0].OrganizationID
	sc, err := s.loadUser(ctx, c, userID, domain.ActionDelete, anyOrg)
	if err != nil {
		return err
	}
	if len(sc.all) == 1 {
		if deactivate {
			_, err := s.SetStatus(ctx, c, userID, Deactivate)
			return err
		}
		return s.DeleteUser(ctx, c, userID)
	}
	aud, err := s.audienceOf(ctx, userID, sc.all) // the leaving organization hears of it too
	if err != nil {
		return err
	}
	now := s.now()
	u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
		if _, ok := u.Profiles[orgID]; ok {
			u.Profiles = domain.CloneProfiles(u.Profiles)
			delete(u.Profiles, orgID)
		}
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		return userStoreErr("update user", err)
	}
	if err := s.deps.Orgs.DeleteMembership(ctx, orgID, userID); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return storeErr("delete membership", err)
	}
	if err := s.keepPrimary(ctx, sc.all, orgID); err != nil {
		return err
	}
	return s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, orgID, aud, now))
}

// keepPrimary makes the oldest remaining membership primary when the one
// that left (of ms, the memberships before) was.
func (s *Service) keepPrimary(ctx context.Context, ms []domain.Membership, left string) error {
	var next *domain.Membership
	for i := range ms {
		m := &ms[i]
		switch {
		case m.OrganizationID == left:
			if !m.Primary {
				return nil
			}
		case next == nil || m.CreatedAt.Before(next.CreatedAt):
			next = m
		}
	}
	if next == nil {
		return nil
	}
	p := *next
	p.Primary = true
	if err := s.deps.Orgs.PutMembership(ctx, p); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return storeErr("put membership", err)
	}
	return nil
}
