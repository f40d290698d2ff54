package console

import (
	"context"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

var (
	// errOwnerRoles: an owner gives the roles the organization's own
	// directory may (never owner), and the console offers the built-in ones.
	errOwnerRoles = fault.New(fault.Invalid, "invalid_role", "an owner makes a member an admin or a member; ask a platform administrator for another role")
)

// SearchMembers lists the members of an organization v sees who match
// query, by page (directory.SearchMembers); a blank query lists them all.
func (s *Service) SearchMembers(ctx context.Context, v *Viewer, orgID, query, cursor string, limit int) (directory.Page[domain.Member], error) {
	if !v.Sees(orgID) {
		return directory.Page[domain.Member]{}, ErrForbidden
	}
	return s.deps.Directory.SearchMembers(ctx, orgID, query, cursor, limit)
}

// ownerGives are the roles an organization's owner gives and takes back
// in the console: those its own directory (directory.OrgCaller) may give,
// owner never, admin with ActionAssignAdmin, which an owner's caller keeps.
var ownerGives = []string{domain.RoleMember, domain.RoleAdmin}

// RolesFor returns the roles v may give member m of organization orgID,
// none when v may not change m's role: a platform administrator gives the
// built-in roles to anyone but themselves; an owner moves a member or an
// admin between those two roles, never an owner (an organization's own
// directory makes and unmakes no owners) nor a platform administrator, and
// never themselves; an admin changes no roles, as it may not make admins.
func (v *Viewer) RolesFor(orgID string, m domain.Member) []string {
	switch {
	case m.User.ID == v.User.ID || m.Membership.Status == domain.MembershipPending:
		return nil
	case v.Platform:
		return []string{domain.RoleMember, domain.RoleAdmin, domain.RoleOwner}
	case v.Roles[orgID] != domain.RoleOwner || m.User.PlatformAdmin || !slices.Contains(ownerGives, m.Membership.Role):
		return nil
	}
	return ownerGives
}

// Outranks reports, by m's direct role alone, whether v may act on m in
// orgID: whether the organization's member list offers the buttons. The
// member's own page, and every change, ask mayManage, which counts the
// roles m's groups give too; a custom role, whose permissions the list
// does not read, sends the viewer there.
func (v *Viewer) Outranks(orgID string, m domain.Member) bool {
	switch {
	case m.User.ID == v.User.ID || !v.Manages(orgID):
		return false
	case v.Platform:
		return true
	case m.User.PlatformAdmin:
		return false
	}
	perms, builtIn := domain.BuiltInRoles[m.Membership.Role]
	return builtIn && access.RoleTier(domain.Role{Name: m.Membership.Role, Permissions: perms}) < viewerTier(v, orgID)
}

// ChangeMemberRole gives a member of an organization another role, as the
// admin API's PutMember does (user.updated), within RolesFor and the rule
// of SetMemberStatus. A role the member has already changes nothing.
func (s *Service) ChangeMemberRole(ctx context.Context, v *Viewer, orgID, userID, role string) (domain.Membership, error) {
	c, err := s.caller(v, orgID)
	if err != nil {
		return domain.Membership{}, err
	}
	if err := s.mayManage(ctx, v, orgID, userID); err != nil {
		return domain.Membership{}, err
	}
	m, err := s.member(ctx, orgID, userID)
	if err != nil {
		return domain.Membership{}, err
	}
	gives := v.RolesFor(orgID, m)
	switch {
	case len(gives) == 0:
		return domain.Membership{}, ErrForbidden
	case !v.Platform && role == domain.RoleOwner:
		return domain.Membership{}, ErrForbidden
	case !v.Platform && !slices.Contains(gives, role):
		return domain.Membership{}, errOwnerRoles
	}
	// Making or unmaking an admin is what the directory lets only a caller
	// with ActionAssignAdmin do (an owner's, not an admin's: see caller).
	if role == domain.RoleAdmin || m.Membership.Role == domain.RoleAdmin {
		if g := c.Grant(orgID); g == nil || !g.Allows(domain.ActionAssignAdmin) {
			return domain.Membership{}, ErrForbidden
		}
	}
	if role == m.Membership.Role {
		return m.Membership, nil
	}
	return s.deps.Directory.PutMember(ctx, orgID, userID, role)
}

// RemoveMember takes a member out of an organization v administers, the
// way the organization's own directory removes a user when its SCIM
// connection deletes one (directory.Deprovision, as OrgCaller), and with
// the rule of SetMemberStatus. The deactivating variant, because a school
// administrator removing someone from their school should not be able to
// destroy an account by one click of a form:
//   - a member whose home is another organization leaves this one: the
//     membership, this organization's profile and the licenses that came
//     with it go (user.updated, license.revoked), and the account is
//     untouched;
//   - a member this organization made (its home) has the account
//     deactivated (user.deactivated): it signs in nowhere, and a Reactivate
//     brings it back. Deleting an account stays with platform
//     administrators (the admin API).
//
// The admin API's RemoveMember is not used: it is a platform
// administrator's act with no tenancy of its own, and it refuses the home
// organization outright.
func (s *Service) RemoveMember(ctx context.Context, v *Viewer, orgID, userID string) error {
	c, err := s.caller(v, orgID)
	if err != nil {
		return err
	}
	if err := s.mayManage(ctx, v, orgID, userID); err != nil {
		return err
	}
	return s.deps.Directory.Deprovision(ctx, c, userID, true)
}

// member returns a member of an organization: ErrForbidden when userID
// names none (pending memberships are not members yet).
func (s *Service) member(ctx context.Context, orgID, userID string) (domain.Member, error) {
	if userID == "" || len(userID) > 64 {
		return domain.Member{}, ErrForbidden
	}
	m, err := s.deps.Orgs.GetMembership(ctx, orgID, userID)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Member{}, ErrForbidden
	}
	if err != nil {
		return domain.Member{}, fault.Store("get membership", err)
	}
	if m.Status == domain.MembershipPending {
		return domain.Member{}, ErrForbidden
	}
	u, err := s.deps.Users.GetUser(ctx, userID)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Member{}, ErrForbidden
	}
	if err != nil {
		return domain.Member{}, fault.Store("get user", err)
	}
	return domain.Member{User: u, Membership: m}, nil
}

// MemberDetail is one member of an organization as a viewer may see them.
type MemberDetail struct {
	domain.Member
	// Home names the account's home organization when the viewer sees it;
	// HomeElsewhere is set when the home is an organization they do not
	// see, which stays unnamed.
	Home          *domain.Organization
	HomeElsewhere bool
	// Memberships are the account's memberships in the organizations the
	// viewer sees (all of them, for a platform administrator): another
	// school's would tell a school's administrators of a tenant they have no
	// business with.
	Memberships []OrgMembership
	// Licenses are the account's licenses a viewer may know of: all, for a
	// platform administrator; else those of apps granted this organization.
	Licenses []AppLicense
	// Manages: the viewer may suspend, reactivate and remove the member.
	Manages bool
	// Roles are the roles the viewer may give the member (RolesFor).
	Roles []string
}

// OrgMembership is a membership with its organization.
type OrgMembership struct {
	Organization domain.Organization
	Membership   domain.Membership
}

// AppLicense is a license with its app's name.
type AppLicense struct {
	License domain.License
	App     string // the client's name, or its id when it has none (or is gone)
}

// Member returns one member of an organization v sees, with what v may
// know of their account (see MemberDetail). An id that names no member,
// like an organization v does not see, is ErrForbidden.
func (s *Service) Member(ctx context.Context, v *Viewer, orgID, userID string) (MemberDetail, error) {
	if !v.Sees(orgID) {
		return MemberDetail{}, ErrForbidden
	}
	m, err := s.member(ctx, orgID, userID)
	if err != nil {
		return MemberDetail{}, err
	}
	d := MemberDetail{Member: m, Roles: v.RolesFor(orgID, m)}
	if d.Memberships, err = s.seenMemberships(ctx, v, userID); err != nil {
		return MemberDetail{}, err
	}
	if home := m.User.HomeOrganizationID; home != "" {
		i := slices.IndexFunc(d.Memberships, func(om OrgMembership) bool { return om.Organization.ID == home })
		switch {
		case i >= 0:
			d.Home = &d.Memberships[i].Organization
		case v.Sees(home):
			if o, err := s.deps.Directory.GetOrganization(ctx, home); err == nil {
				d.Home = &o
			}
		default:
			d.HomeElsewhere = true
		}
	}
	if d.Licenses, err = s.seenLicenses(ctx, v, orgID, userID); err != nil {
		return MemberDetail{}, err
	}
	switch err := s.mayManage(ctx, v, orgID, userID); {
	case err == nil:
		d.Manages = true
	case !IsForbidden(err):
		return MemberDetail{}, err
	}
	return d, nil
}

// seenMemberships returns a user's memberships in the organizations v
// sees, with their organizations, in the order the store keeps them.
func (s *Service) seenMemberships(ctx context.Context, v *Viewer, userID string) ([]OrgMembership, error) {
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, userID)
	if err != nil {
		return nil, fault.Store("list memberships", err)
	}
	var out []OrgMembership
	for _, m := range ms {
		if !v.Sees(m.OrganizationID) {
			continue
		}
		o, err := s.deps.Directory.GetOrganization(ctx, m.OrganizationID)
		if e, ok := fault.As(err); ok && e.Kind == fault.NotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, OrgMembership{Organization: o, Membership: m})
	}
	return out, nil
}

// seenLicenses returns a user's licenses v may know of: every one for a
// platform administrator; for an organization's owners and admins, those
// of apps granted that organization, which reach its members anyway.
func (s *Service) seenLicenses(ctx context.Context, v *Viewer, orgID, userID string) ([]AppLicense, error) {
	ls, err := s.deps.Licenses.ListUserLicenses(ctx, userID)
	if err != nil {
		return nil, fault.Store("list licenses", err)
	}
	var granted map[string]bool // the apps granted to orgID, for a viewer who sees that organization only
	if !v.Platform && len(ls) > 0 {
		gs, err := s.deps.Grants.ListOrganizationGrants(ctx, orgID)
		if err != nil {
			return nil, fault.Store("list organization grants", err)
		}
		granted = make(map[string]bool, len(gs))
		for _, g := range gs {
			granted[g.ClientID] = true
		}
	}
	var out []AppLicense
	for _, l := range ls {
		if granted != nil && !granted[l.ClientID] {
			continue
		}
		app := l.ClientID
		c, err := s.deps.Clients.GetClient(ctx, l.ClientID)
		switch {
		case err == nil && c.Name != "":
			app = c.Name
		case err != nil && !errors.Is(err, domain.ErrNotFound):
			return nil, fault.Store("get client", err)
		}
		out = append(out, AppLicense{License: l, App: app})
	}
	return out, nil
}
