package directory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// allActions is every grant action: an organization's own directory may do
// anything within that organization.
var allActions = domain.GrantActions

// OrgCaller is an organization's own directory, such as its SCIM
// connection, as a caller: it holds every action on that one organization
// and nothing elsewhere, so the same tenancy rules apply as to a client.
// Changes to the account itself (its email, names or status) therefore need
// the organization to be the account's home. It has no client: it assigns
// no license, and its events reach the organization's audience only.
func OrgCaller(orgID string) *access.Caller {
	return &access.Caller{Grants: []domain.ClientGrant{{OrganizationID: orgID, Actions: allActions}}}
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
		return fault.New(fault.Invalid, "invalid_email", "email %q is not a valid address", clip(*ch.Email))
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
// write. Changing the account (email, names) is for the account's home
// organization; values equal to the stored ones change nothing and need no
// more than the organization's own profile does: the update action on the
// organization. An account change emits user.updated; a profile-only change
// emits nothing, as the events carry no profile fields. An email already
// taken is Taken "email_taken".
func (s *Service) UpdateAccount(ctx context.Context, c *access.Caller, userID string, ch AccountChange) (UserView, error) {
	if err := ch.check(); err != nil {
		return UserView{}, err
	}
	if ch.Profile != nil && len(c.Grants) != 1 {
		return UserView{}, fault.New(fault.Invalid, "invalid_request", "only an organization's directory keeps a profile")
	}
	return unitAs(s, ctx, c, func(ctx context.Context, c *access.Caller) (UserView, error) {
		return s.updateAccount(ctx, c, userID, ch)
	})
}

func (s *Service) updateAccount(ctx context.Context, c *access.Caller, userID string, ch AccountChange) (UserView, error) {
	sc, err := s.loadUser(ctx, c, userID, domain.ActionUpdate)
	if err != nil {
		return UserView{}, err
	}
	if ch.Email != nil {
		if err := s.checkEmailDomain(ctx, domain.NormalizeEmail(*ch.Email), sc.user); err != nil {
			return UserView{}, err
		}
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
		if accountChanged {
			if err := sc.requireHome(); err != nil {
				return err
			}
		}
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
		return UserView{}, fault.New(fault.Taken, "email_taken", "another user has that email")
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

// checkEmailDomain refuses to move an account to an address in a domain
// that an organization other than its home verified: as with creating one
// there (refuseForeignDomain), that organization alone puts accounts in
// its domain, and a verified domain links its accounts at once.
func (s *Service) checkEmailDomain(ctx context.Context, email string, u domain.User) error {
	if email == u.Email {
		return nil
	}
	owner, err := s.verifiedFor(ctx, domain.EmailDomain(email), map[string]string{})
	if err != nil {
		return err
	}
	if owner != "" && owner != u.HomeOrganizationID {
		return fault.New(fault.Forbidden, "domain_owned", "the domain of %q belongs to another organization", clip(email))
	}
	return nil
}

// Deprovision is an organization directory's removal of a user. The
// account's home organization ends the account: it is deleted
// (user.deleted), or deactivated (user.deactivated) when deactivate is
// set, whatever other organizations it is in. Any other organization only
// lets the user go (see leave).
func (s *Service) Deprovision(ctx context.Context, c *access.Caller, userID string, deactivate bool) error {
	if len(c.Grants) != 1 {
		return fault.New(fault.Invalid, "invalid_request", "only an organization's directory deprovisions")
	}
	return s.asCaller(ctx, c, func(ctx context.Context, c *access.Caller) error {
		sc, err := s.loadUser(ctx, c, userID, domain.ActionDelete)
		if err != nil {
			return err
		}
		switch {
		case !sc.home:
			return s.leave(ctx, sc)
		case deactivate:
			_, err := s.SetStatus(ctx, c, userID, Deactivate)
			return err
		}
		return s.deleteAccount(ctx, sc)
	})
}

// leave takes the user out of the organizations the caller acts on: their
// memberships and those organizations' profiles go, the oldest remaining
// membership becomes primary if the primary one left, and user.updated is
// emitted to the user's audience as it was (the leaving organizations hear
// of it too). The account is not the caller's to end.
func (s *Service) leave(ctx context.Context, sc scope) error {
	aud, err := s.audienceOf(ctx, sc.user.ID, sc.all)
	if err != nil {
		return err
	}
	now := s.now()
	u, err := s.deps.Users.UpdateUser(ctx, sc.user.ID, func(u *domain.User) error {
		u.Profiles = domain.CloneProfiles(u.Profiles)
		for _, m := range sc.acting {
			delete(u.Profiles, m.OrganizationID)
		}
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		return userStoreErr("update user", err)
	}
	ms := sc.all
	left := make([]string, 0, len(sc.acting))
	for _, m := range sc.acting {
		if err := s.leaveGroups(ctx, m.OrganizationID, u.ID); err != nil {
			return err
		}
		if err := s.deps.Orgs.DeleteMembership(ctx, m.OrganizationID, u.ID); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return fault.Store("delete membership", err)
		}
		if ms, err = s.keepPrimary(ctx, ms, m.OrganizationID); err != nil {
			return err
		}
		left = append(left, m.OrganizationID)
	}
	events, err := s.dropLicenses(ctx, u.ID, left, ms, now)
	if err != nil {
		return err
	}
	events = append(events, s.userEvent(domain.EventUserUpdated, u, sc.acting[0].OrganizationID, aud, now))
	return s.publish(ctx, events...)
}

// dropLicenses revokes the licenses that came with organizations a user
// left: those of applications granted one of the organizations left and
// none of the user's remaining visible ones. Such an application no longer
// reaches the user, so it must not keep hearing of them (a license is an
// event audience) nor admit them where it requires a license.
func (s *Service) dropLicenses(ctx context.Context, userID string, left []string, stays []domain.Membership, now time.Time) ([]domain.Event, error) {
	ls, err := s.deps.Licenses.ListUserLicenses(ctx, userID)
	if err != nil {
		return nil, fault.Store("list licenses", err)
	}
	var events []domain.Event
	for _, l := range ls {
		gs, err := s.deps.Grants.ListClientGrants(ctx, l.ClientID)
		if err != nil {
			return nil, fault.Store("list client grants", err)
		}
		granted := func(orgID string) bool {
			return slices.ContainsFunc(gs, func(g domain.ClientGrant) bool { return g.OrganizationID == orgID })
		}
		if !slices.ContainsFunc(left, granted) ||
			slices.ContainsFunc(stays, func(m domain.Membership) bool { return m.Visible() && granted(m.OrganizationID) }) {
			continue
		}
		if err := s.deps.Licenses.RevokeLicense(ctx, l.ClientID, userID); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return nil, fault.Store("revoke license", err)
		}
		events = append(events, s.licenseEvent(domain.EventLicenseRevoked, domain.License{ClientID: l.ClientID, UserID: userID}, now))
	}
	return events, nil
}

// keepPrimary makes the oldest remaining active membership primary when
// the one that left (of ms, the memberships before) was, and returns the
// memberships after.
func (s *Service) keepPrimary(ctx context.Context, ms []domain.Membership, left string) ([]domain.Membership, error) {
	var next *domain.Membership
	wasPrimary := false
	rest := make([]domain.Membership, 0, len(ms))
	for _, m := range ms {
		if m.OrganizationID == left {
			wasPrimary = m.Primary
			continue
		}
		rest = append(rest, m)
	}
	for i := range rest {
		if m := &rest[i]; m.Status == domain.MembershipActive && (next == nil || m.CreatedAt.Before(next.CreatedAt)) {
			next = m
		}
	}
	if !wasPrimary || next == nil {
		return rest, nil
	}
	next.Primary = true
	if err := s.deps.Orgs.PutMembership(ctx, *next); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return nil, fault.Store("put membership", err)
	}
	return rest, nil
}
