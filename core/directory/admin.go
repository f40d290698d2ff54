package directory

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Admin is an authenticated platform administrator.
type Admin struct{ Key domain.AdminKey }

var errAdminAuth = &fault.Error{Kind: fault.Unauthorized, Code: "unauthorized", Message: "a valid admin key is required (Authorization: Bearer cak_...)"}

// AuthenticateAdmin checks an admin key. Keys are looked up by their
// SHA-256, so no comparison of the key itself ever happens.
func (s *Service) AuthenticateAdmin(ctx context.Context, key string) (*Admin, error) {
	if !strings.HasPrefix(key, domain.AdminKeyPrefix) || len(key) > 128 {
		return nil, errAdminAuth
	}
	k, err := s.deps.AdminKeys.GetAdminKey(ctx, domain.HashToken(key))
	if errors.Is(err, domain.ErrNotFound) {
		return nil, errAdminAuth
	}
	if err != nil {
		return nil, fault.Store("get admin key", err)
	}
	return &Admin{Key: k}, nil
}

// CreateAdminKey makes a new admin key and returns it; only its hash is
// stored, so this is the one time it is shown.
func (s *Service) CreateAdminKey(ctx context.Context, name string) (string, domain.AdminKey, error) {
	if err := checkText("name", name, 100); err != nil {
		return "", domain.AdminKey{}, err
	}
	key := domain.AdminKeyPrefix + s.deps.Random.Token(32)
	k, err := s.PutAdminKey(ctx, key, name)
	return key, k, err
}

// PutAdminKey stores a given key (the development seed's). It must carry
// the cak_ prefix and enough entropy to be a key.
func (s *Service) PutAdminKey(ctx context.Context, key, name string) (domain.AdminKey, error) {
	if !strings.HasPrefix(key, domain.AdminKeyPrefix) || len(key) < len(domain.AdminKeyPrefix)+32 || len(key) > 128 {
		return domain.AdminKey{}, fault.New(fault.Invalid, "invalid_key", "an admin key is cak_ followed by at least 32 characters")
	}
	k := domain.AdminKey{ID: s.deps.Random.UUID(), Hash: domain.HashToken(key), Name: name, CreatedAt: s.now()}
	if err := s.deps.AdminKeys.CreateAdminKey(ctx, k); err != nil {
		if errors.Is(err, domain.ErrAlreadyExists) {
			return k, nil // the same key again: nothing to do
		}
		return domain.AdminKey{}, fault.Store("create admin key", err)
	}
	return k, nil
}

// ListMembers lists any organization's users, for administrators.
func (s *Service) ListMembers(ctx context.Context, orgID, cursor string, limit int) (Page[domain.Member], error) {
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return Page[domain.Member]{}, err
	}
	return s.listMembers(ctx, orgID, cursor, limit)
}

// getClient returns a client for an administration call.
func (s *Service) getClient(ctx context.Context, id string) (domain.Client, error) {
	if id == "" || len(id) > 255 {
		return domain.Client{}, errNoClient
	}
	c, err := s.deps.Clients.GetClient(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return c, errNoClient
	}
	if err != nil {
		return c, fault.Store("get client", err)
	}
	return c, nil
}

// PutClientGrant lets a client act on an organization's users.
func (s *Service) PutClientGrant(ctx context.Context, clientID, orgID string, actions []string) (domain.ClientGrant, error) {
	if len(actions) == 0 {
		return domain.ClientGrant{}, fault.New(fault.Invalid, "invalid_request", "actions must list at least one of %s", strings.Join(domain.GrantActions, ", "))
	}
	for _, a := range actions {
		if !slices.Contains(domain.GrantActions, a) {
			return domain.ClientGrant{}, fault.New(fault.Invalid, "invalid_action", "unknown action %q; valid: %s", clip(a), strings.Join(domain.GrantActions, ", "))
		}
	}
	c, err := s.getClient(ctx, clientID)
	if err != nil {
		return domain.ClientGrant{}, err
	}
	if c.Public() {
		return domain.ClientGrant{}, fault.New(fault.Invalid, "public_client", "a public client has no secret, so it cannot call the user management API")
	}
	now := s.now()
	acts := slices.Clone(actions)
	slices.Sort(acts)
	g := domain.ClientGrant{ClientID: clientID, OrganizationID: orgID, Actions: slices.Compact(acts), CreatedAt: now, UpdatedAt: now}
	// In a unit, as every change to a grant is: a change that relies on the
	// grant (asCaller) is stored wholly before or wholly after it.
	if err := s.atomically(ctx, func(ctx context.Context) error { return s.deps.Grants.PutClientGrant(ctx, g) }); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return g, errNoOrg
		}
		return g, fault.Store("put client grant", err)
	}
	return g, nil
}

// DeleteClientGrant withdraws a client's grant on an organization.
func (s *Service) DeleteClientGrant(ctx context.Context, clientID, orgID string) error {
	err := s.atomically(ctx, func(ctx context.Context) error { return s.deps.Grants.DeleteClientGrant(ctx, clientID, orgID) })
	if errors.Is(err, domain.ErrNotFound) {
		return fault.New(fault.NotFound, "grant_not_found", "this client has no grant on this organization")
	}
	if err != nil {
		return fault.Store("delete client grant", err)
	}
	return nil
}

// ListClientGrants lists a client's grants.
func (s *Service) ListClientGrants(ctx context.Context, clientID string) ([]domain.ClientGrant, error) {
	if _, err := s.getClient(ctx, clientID); err != nil {
		return nil, err
	}
	gs, err := s.deps.Grants.ListClientGrants(ctx, clientID)
	if err != nil {
		return nil, fault.Store("list client grants", err)
	}
	return gs, nil
}

// ClientSettings are what an administrator sets on a client; nil fields stay.
type ClientSettings struct {
	ApprovedScopes  *[]string
	FirstParty      *bool
	LicenseRequired *bool
	// PKCERequired makes PKCE mandatory for the client even where the
	// server's policy (oidc.pkce_required: public) leaves it optional.
	PKCERequired *bool
}

// GetClient returns a client, for administrators.
func (s *Service) GetClient(ctx context.Context, clientID string) (domain.Client, error) {
	return s.getClient(ctx, clientID)
}

// UpdateClientSettings approves or withdraws extended scopes, marks a
// client first-party (no consent screen), and sets its license policy.
// A withdrawal takes effect at once in userinfo and at the next token: the
// provider drops unapproved extended scopes whenever it mints tokens.
func (s *Service) UpdateClientSettings(ctx context.Context, clientID string, in ClientSettings) (domain.Client, error) {
	if in.ApprovedScopes != nil {
		for _, sc := range *in.ApprovedScopes {
			if !domain.IsExtendedScope(sc) {
				return domain.Client{}, fault.New(fault.Invalid, "invalid_scope", "scope %q needs no approval; only %s do", clip(sc), strings.Join(domain.ExtendedScopes, " and "))
			}
		}
	}
	now := s.now()
	c, err := s.deps.Clients.UpdateClient(ctx, clientID, func(c *domain.Client) error {
		if in.ApprovedScopes != nil {
			approved := slices.Clone(*in.ApprovedScopes)
			slices.Sort(approved)
			c.ApprovedScopes = slices.Compact(approved)
		}
		if in.FirstParty != nil {
			c.FirstParty = *in.FirstParty
		}
		if in.LicenseRequired != nil {
			c.LicenseRequired = *in.LicenseRequired
		}
		if in.PKCERequired != nil {
			c.PKCERequired = *in.PKCERequired
		}
		c.UpdatedAt = now
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return c, errNoClient
	}
	if err != nil {
		return c, fault.Store("update client", err)
	}
	return c, nil
}

// AssignLicense gives a user an application's license and emits
// license.assigned when it is new.
func (s *Service) AssignLicense(ctx context.Context, clientID, userID string) (bool, error) {
	if _, err := s.getClient(ctx, clientID); err != nil {
		return false, err
	}
	return unit(s, ctx, func(ctx context.Context) (bool, error) {
		now := s.now()
		l := domain.License{ClientID: clientID, UserID: userID, AssignedAt: now}
		assigned, err := s.deps.Licenses.AssignLicense(ctx, l)
		if errors.Is(err, domain.ErrNotFound) {
			return false, errNoUser
		}
		if err != nil {
			return false, fault.Store("assign license", err)
		}
		if !assigned {
			return false, nil
		}
		return true, s.publish(ctx, s.licenseEvent(domain.EventLicenseAssigned, l, now))
	})
}

// RevokeLicense takes a license away and emits license.revoked.
func (s *Service) RevokeLicense(ctx context.Context, clientID, userID string) error {
	return s.atomically(ctx, func(ctx context.Context) error {
		err := s.deps.Licenses.RevokeLicense(ctx, clientID, userID)
		if errors.Is(err, domain.ErrNotFound) {
			return fault.New(fault.NotFound, "license_not_found", "the user does not hold this license")
		}
		if err != nil {
			return fault.Store("revoke license", err)
		}
		now := s.now()
		return s.publish(ctx, s.licenseEvent(domain.EventLicenseRevoked, domain.License{ClientID: clientID, UserID: userID}, now))
	})
}

// ListLicenses lists a user's licenses.
func (s *Service) ListLicenses(ctx context.Context, userID string) ([]domain.License, error) {
	if _, err := s.deps.Users.GetUser(ctx, userID); err != nil {
		return nil, userStoreErr("get user", err)
	}
	ls, err := s.deps.Licenses.ListUserLicenses(ctx, userID)
	if err != nil {
		return nil, fault.Store("list licenses", err)
	}
	return ls, nil
}

// RoleView is a role as it applies in an organization.
type RoleView struct {
	domain.Role
	BuiltIn bool
}

// ListRoles lists the roles of an organization: the built-in ones (with the
// organization's own permissions where it set them) and its custom roles.
func (s *Service) ListRoles(ctx context.Context, orgID string) ([]RoleView, error) {
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return nil, err
	}
	stored, err := s.deps.Roles.ListRoles(ctx, orgID)
	if err != nil {
		return nil, fault.Store("list roles", err)
	}
	var out []RoleView
	for _, name := range []string{domain.RoleMember, domain.RoleAdmin, domain.RoleOwner} {
		if !slices.ContainsFunc(stored, func(r domain.Role) bool { return r.Name == name }) {
			out = append(out, RoleView{Role: domain.Role{OrganizationID: orgID, Name: name, Permissions: domain.BuiltInRoles[name]}, BuiltIn: true})
		}
	}
	for _, r := range stored {
		out = append(out, RoleView{Role: r, BuiltIn: domain.IsBuiltInRole(r.Name)})
	}
	slices.SortFunc(out, func(a, b RoleView) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// PutRole creates a custom role or sets a role's permissions in one
// organization.
func (s *Service) PutRole(ctx context.Context, orgID, name string, perms []string) (RoleView, error) {
	if !domain.ValidName(name) {
		return RoleView{}, fault.New(fault.Invalid, "invalid_role", "a role name is 1 to 64 lower-case letters, digits and . _ : -")
	}
	for _, p := range perms {
		if !domain.ValidName(p) {
			return RoleView{}, fault.New(fault.Invalid, "invalid_permission", "permission %q is not 1 to 64 lower-case letters, digits and . _ : -", clip(p))
		}
	}
	if len(perms) > 100 {
		return RoleView{}, fault.New(fault.Invalid, "invalid_request", "a role has at most 100 permissions")
	}
	now := s.now()
	ps := slices.Clone(perms)
	slices.Sort(ps)
	r := domain.Role{OrganizationID: orgID, Name: name, Permissions: slices.Compact(ps), CreatedAt: now, UpdatedAt: now}
	if err := s.deps.Roles.PutRole(ctx, r); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return RoleView{}, errNoOrg
		}
		return RoleView{}, fault.Store("put role", err)
	}
	return RoleView{Role: r, BuiltIn: domain.IsBuiltInRole(name)}, nil
}

// DeleteRole deletes a custom role, or resets a built-in role to its
// default permissions. Members who hold a deleted custom role keep its name
// and get no permissions from it.
func (s *Service) DeleteRole(ctx context.Context, orgID, name string) error {
	err := s.deps.Roles.DeleteRole(ctx, orgID, name)
	if errors.Is(err, domain.ErrNotFound) {
		return fault.New(fault.NotFound, "role_not_found", "this organization stores no role %q", clip(name))
	}
	if err != nil {
		return fault.Store("delete role", err)
	}
	return nil
}

// PutMember adds a user to an organization or changes their role there,
// and emits user.updated. It is the platform administrator's immediate
// link: a pending membership becomes active, a suspended one stays
// suspended, and a new one is active.
func (s *Service) PutMember(ctx context.Context, orgID, userID, role string) (domain.Membership, error) {
	return unit(s, ctx, func(ctx context.Context) (domain.Membership, error) {
		return s.putMember(ctx, orgID, userID, role)
	})
}

func (s *Service) putMember(ctx context.Context, orgID, userID, role string) (domain.Membership, error) {
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return domain.Membership{}, err
	}
	if err := s.checkRole(ctx, orgID, role); err != nil {
		return domain.Membership{}, err
	}
	u, err := s.deps.Users.GetUser(ctx, userID)
	if err != nil {
		return domain.Membership{}, userStoreErr("get user", err)
	}
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, userID)
	if err != nil {
		return domain.Membership{}, fault.Store("list memberships", err)
	}
	now := s.now()
	m := domain.Membership{OrganizationID: orgID, UserID: userID, Role: role, Status: domain.MembershipActive, UserName: u.Email, CreatedAt: now}
	existing := slices.IndexFunc(ms, func(m domain.Membership) bool { return m.OrganizationID == orgID })
	if i := existing; i >= 0 {
		m.Primary, m.CreatedAt, m.UserName = ms[i].Primary, ms[i].CreatedAt, ms[i].UserName
		if ms[i].Status == domain.MembershipSuspended {
			m.Status = domain.MembershipSuspended
		}
	}
	if !m.Primary && m.Status == domain.MembershipActive {
		m.Primary = !slices.ContainsFunc(ms, func(m domain.Membership) bool { return m.Primary })
	}
	err = s.deps.Orgs.PutMembership(ctx, m)
	if errors.Is(err, domain.ErrAlreadyExists) && existing < 0 {
		// Another member is named after this email: a new member is
		// named by its id instead, as provisioning does.
		m.UserName = userID
		err = s.deps.Orgs.PutMembership(ctx, m)
	}
	if err != nil {
		return m, fault.Store("put membership", err)
	}
	aud, err := s.audienceOf(ctx, userID, nil)
	if err != nil {
		return m, err
	}
	return m, s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, orgID, aud, now))
}

// RemoveMember takes a user out of an organization as a platform
// administrator: a pending membership (an invitation the holder can no
// longer answer, say) or an active or suspended one. The home organization's
// membership is the account's own: delete the account instead (Conflict).
// Leaving drops the licenses that came with the organization, and a
// visible membership's removal emits user.updated to the user's audience as
// it was.
func (s *Service) RemoveMember(ctx context.Context, orgID, userID string) error {
	return s.atomically(ctx, func(ctx context.Context) error { return s.removeMember(ctx, orgID, userID) })
}

func (s *Service) removeMember(ctx context.Context, orgID, userID string) error {
	sc, err := s.adminScope(ctx, userID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(sc.all, func(m domain.Membership) bool { return m.OrganizationID == orgID })
	switch {
	case i < 0:
		return fault.New(fault.NotFound, "membership_not_found", "the user is not a member of this organization")
	case orgID == sc.user.HomeOrganizationID:
		return fault.New(fault.Conflict, "home_membership", "this is the account's home organization; delete the account instead")
	case !sc.all[i].Visible():
		if err := s.deps.Orgs.DeleteMembership(ctx, orgID, userID); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return fault.Store("delete membership", err)
		}
		return nil // nobody heard of a pending membership, so nobody hears it go
	}
	sc.acting = []domain.Membership{sc.all[i]}
	return s.leave(ctx, sc)
}

// PutDomain records a mail domain as verified for an organization and
// says whether it is new there: on a platform administrator's word
// (VerifyByAdmin), or once the domain's DNS holds the organization's TXT
// record (VerifyByDNS, see DomainChallenge). A domain another organization
// verified is Taken "domain_taken".
func (s *Service) PutDomain(ctx context.Context, a *Admin, orgID, name string, method DomainVerification) (domain.VerifiedDomain, bool, error) {
	name = domain.NormalizeDomain(name)
	if !domain.ValidDomain(name) {
		return domain.VerifiedDomain{}, false, fault.New(fault.Invalid, "invalid_domain", "%q is not a domain name such as school.edu", clip(name))
	}
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return domain.VerifiedDomain{}, false, err
	}
	before, err := s.deps.Domains.GetDomain(ctx, name)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return domain.VerifiedDomain{}, false, fault.Store("get domain", err)
	}
	by, err := s.verifyDomain(ctx, a, orgID, name, method, before)
	if err != nil {
		return domain.VerifiedDomain{}, false, err
	}
	d, err := s.deps.Domains.PutDomain(ctx, domain.VerifiedDomain{
		Domain: name, OrganizationID: orgID, VerifiedBy: by, CreatedAt: s.now(),
	})
	switch {
	case errors.Is(err, domain.ErrAlreadyExists):
		return domain.VerifiedDomain{}, false, fault.New(fault.Taken, "domain_taken", "another organization has verified %q", name)
	case errors.Is(err, domain.ErrNotFound):
		return domain.VerifiedDomain{}, false, errNoOrg
	case err != nil:
		return domain.VerifiedDomain{}, false, fault.Store("put domain", err)
	}
	return d, before.OrganizationID != orgID, nil
}

// ListDomains lists an organization's verified domains.
func (s *Service) ListDomains(ctx context.Context, orgID string) ([]domain.VerifiedDomain, error) {
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return nil, err
	}
	ds, err := s.deps.Domains.ListDomains(ctx, orgID)
	if err != nil {
		return nil, fault.Store("list domains", err)
	}
	return ds, nil
}

// DeleteDomain withdraws an organization's verified domain. Accounts
// already linked through it stay members.
func (s *Service) DeleteDomain(ctx context.Context, orgID, name string) error {
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return err
	}
	err := s.deps.Domains.DeleteDomain(ctx, orgID, domain.NormalizeDomain(name))
	if errors.Is(err, domain.ErrNotFound) {
		return fault.New(fault.NotFound, "domain_not_found", "this organization has no verified domain %q", clip(name))
	}
	if err != nil {
		return fault.Store("delete domain", err)
	}
	return nil
}
