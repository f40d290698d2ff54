// Package console decides what the web console shows to whom, and runs
// its changes through the directory's own use cases, never a second copy
// of their rules.
//
// Platform administrators (domain.User.PlatformAdmin) see every
// organization, and alone create and rename them: no organization role
// reaches an organization's own settings (directory.UpdateOrganization).
// An organization's owners and admins see that organization only.
// Everyone else sees nothing (ErrForbidden).
package console

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/scim"
	"github.com/calimatic/calimatic-auth/core/webhooks"
	"github.com/calimatic/calimatic-auth/ports"
)

// ErrForbidden: the account may not use the console, or not this part of
// it.
var ErrForbidden = fault.New(fault.Forbidden, "forbidden", "your account may not see this in the console")

// Deps are what the console drives.
type Deps struct {
	Directory *directory.Service
	Orgs      ports.OrganizationStore
	Users     ports.UserStore
	// SCIM keeps the organizations' SCIM tokens.
	SCIM *scim.Service
	// Webhooks keeps the apps' webhook subscriptions and deliveries.
	Webhooks *webhooks.Service
	// Clients holds the console's own registration, for Issuer.
	Clients ports.ClientStore
	Issuer  string
	Clock   ports.Clock
	// Grants lists the grants on the organizations a viewer administers.
	Grants ports.ClientGrantStore
	// Events is the event log the activity pages read.
	Events ports.EventLog
	// KeyList and KeyRotation list and rotate the signing keys (keys.go).
	KeyList     KeyLister
	KeyRotation KeyRotator
	// Roles and Groups resolve what a membership holds (access.Resolve):
	// its direct role and its groups' roles, by permission.
	Roles  access.Roles
	Groups access.Groups
	// Licenses and Grants tell which of a member's licenses a viewer may
	// know of.
	Licenses ports.LicenseStore
}

// Service runs the console's use cases.
type Service struct{ deps Deps }

// New returns a console service.
func New(deps Deps) *Service { return &Service{deps: deps} }

// Viewer is a signed-in account and what it may see.
type Viewer struct {
	User domain.User
	// Platform is set for platform administrators, who see everything.
	Platform bool
	// Roles holds, per organization the account administers, what it may
	// do there: owner or admin as a built-in role's name, or RoleReader
	// (reads users, changes none). A custom role, or a group's, counts by
	// its permissions (access.Tier).
	Roles map[string]string
}

// RoleReader is, in Viewer.Roles, an account whose roles read the
// organization's users (users:read) but do not manage them: it sees what
// an admin sees and changes nothing.
const RoleReader = "reader"

// permUsersManage is the permission that changes an organization's users.
const permUsersManage = "users:manage"

// Manages reports whether v may change organization orgID's members: a
// platform administrator, or an owner or admin there (not a reader).
func (v *Viewer) Manages(orgID string) bool {
	r := v.Roles[orgID]
	return v.Platform || r == domain.RoleOwner || r == domain.RoleAdmin
}

// Sees reports whether v may see organization orgID.
func (v *Viewer) Sees(orgID string) bool {
	_, ok := v.Roles[orgID]
	return v.Platform || ok
}

// ViewerOf returns what u may see, or ErrForbidden when nothing: an
// inactive account, or one that is neither a platform administrator nor
// an active owner or admin anywhere.
func (s *Service) ViewerOf(ctx context.Context, u domain.User) (*Viewer, error) {
	if !u.CanSignIn() {
		return nil, ErrForbidden
	}
	v := &Viewer{User: u, Platform: u.PlatformAdmin, Roles: map[string]string{}}
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return nil, fault.Store("list memberships", err)
	}
	for _, m := range ms {
		if m.Status != domain.MembershipActive {
			continue
		}
		h, err := access.Resolve(ctx, s.deps.Roles, s.deps.Groups, m)
		if err != nil {
			return nil, fault.Store("resolve roles", err)
		}
		switch h.Tier() {
		case access.TierOwner:
			v.Roles[m.OrganizationID] = domain.RoleOwner
		case access.TierAdmin:
			v.Roles[m.OrganizationID] = RoleReader
			if slices.Contains(h.Permissions(), permUsersManage) {
				v.Roles[m.OrganizationID] = domain.RoleAdmin
			}
		}
	}
	if !v.Platform && len(v.Roles) == 0 {
		return nil, ErrForbidden
	}
	return v, nil
}

// Organizations lists what v sees: every organization, by page, for a
// platform administrator; the ones v administers otherwise.
func (s *Service) Organizations(ctx context.Context, v *Viewer, cursor string, limit int) (directory.Page[domain.Organization], error) {
	if v.Platform {
		return s.deps.Directory.ListOrganizations(ctx, cursor, limit)
	}
	var out directory.Page[domain.Organization]
	ids := make([]string, 0, len(v.Roles))
	for id := range v.Roles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o, err := s.deps.Directory.GetOrganization(ctx, id)
		if e, ok := fault.As(err); ok && e.Kind == fault.NotFound {
			continue
		}
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, o)
	}
	return out, nil
}

// Organization returns one organization v sees; another is ErrForbidden,
// whether it exists or not.
func (s *Service) Organization(ctx context.Context, v *Viewer, id string) (domain.Organization, error) {
	if !v.Sees(id) {
		return domain.Organization{}, ErrForbidden
	}
	return s.deps.Directory.GetOrganization(ctx, id)
}

// CreateOrganization makes an organization: platform administrators only.
func (s *Service) CreateOrganization(ctx context.Context, v *Viewer, name string) (domain.Organization, error) {
	if !v.Platform {
		return domain.Organization{}, ErrForbidden
	}
	return s.deps.Directory.CreateOrganization(ctx, directory.OrganizationInput{Name: &name})
}

// RenameOrganization renames an organization: platform administrators
// only, as the directory has it.
func (s *Service) RenameOrganization(ctx context.Context, v *Viewer, id, name string) (domain.Organization, error) {
	if !v.Platform {
		return domain.Organization{}, ErrForbidden
	}
	return s.deps.Directory.UpdateOrganization(ctx, id, directory.OrganizationInput{Name: &name})
}

// IsForbidden reports whether err is ErrForbidden.
func IsForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// ClientID is the console's client id: it signs in through this provider
// like any other app, with the authorization code flow and PKCE, so the
// sign-in page, its throttles and the MFA policies apply.
const ClientID = "cca_console"

// PathCallback is the console's redirect URI, under the issuer.
const PathCallback = "/console/callback"

// Client is the console's registration: a public first-party client
// (no secret for a browser's backend to keep; PKCE S256 required) that
// may only come back to the console.
func Client(issuer string) domain.Client {
	return domain.Client{
		ID: ClientID, Name: "Calimatic console",
		RedirectURIs: []string{issuer + PathCallback}, PostLogoutRedirectURIs: []string{issuer + "/console"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{domain.ResponseTypeCode},
		Scopes: []string{"openid", "profile", "email"}, TokenEndpointAuthMethod: domain.AuthMethodNone,
		FirstParty: true, PKCERequired: true,
	}
}

// EnsureClient registers the console's client, or brings a registration
// made for another issuer up to date, so that every instance agrees. A
// registration already as it should be costs one read and no write, so
// the console calls it before each sign-in: an instance that started
// while the database was away still gets its client.
func EnsureClient(ctx context.Context, clients ports.ClientStore, issuer string, now func() time.Time) error {
	want := Client(issuer)
	if got, err := clients.GetClient(ctx, ClientID); err == nil && sameRegistration(&got, &want) {
		return nil
	}
	_, err := clients.UpdateClient(ctx, ClientID, func(c *domain.Client) error {
		created := c.CreatedAt
		*c = want
		c.CreatedAt, c.UpdatedAt = created, now()
		return nil
	})
	if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	want.CreatedAt, want.UpdatedAt = now(), now()
	err = clients.CreateClient(ctx, want)
	if errors.Is(err, domain.ErrAlreadyExists) { // another instance, just now
		return nil
	}
	return err
}

// caller is what v acts as in an organization's directory: the
// organization's own directory (directory.OrgCaller), so the directory's
// tenancy rules apply as they do to its SCIM connection. An admin may not
// make admins or owners; an owner and a platform administrator may.
func (s *Service) caller(v *Viewer, orgID string) (*access.Caller, error) {
	if !v.Manages(orgID) {
		return nil, ErrForbidden
	}
	c := directory.OrgCaller(orgID)
	if !v.Platform && v.Roles[orgID] != domain.RoleOwner {
		g := &c.Grants[0]
		g.Actions = slices.DeleteFunc(slices.Clone(g.Actions), func(a string) bool { return a == domain.ActionAssignAdmin })
	}
	return c, nil
}

// Invitation is a member to invite from the console.
type Invitation struct {
	Email, FirstName, LastName, Role string
}

// Invite provisions a member into an organization v administers and mails
// them an invitation, as the provisioning API does.
func (s *Service) Invite(ctx context.Context, v *Viewer, orgID string, in Invitation) (directory.Provisioned, error) {
	c, err := s.caller(v, orgID)
	if err != nil {
		return directory.Provisioned{}, err
	}
	return s.deps.Directory.Provision(ctx, c, directory.ProvisionInput{
		Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, OrganizationID: orgID, Role: in.Role,
		SendInviteEmail: true, NamesOptional: true,
	})
}

// SetMemberStatus suspends or reactivates a member of an organization v
// administers, as the user management API does: the account when the
// organization is its home, else the membership. Nobody acts on
// themselves, on an account above them (a platform administrator, for
// anyone but another), or on a peer or superior in the organization: an
// admin acts on members only, an owner on admins and members, never on
// another owner (no organization role makes owners, so none unmakes
// them). Tiers count what the roles may do, groups' roles included.
func (s *Service) SetMemberStatus(ctx context.Context, v *Viewer, orgID, userID string, l directory.Lifecycle) (directory.UserView, error) {
	c, err := s.caller(v, orgID)
	if err != nil {
		return directory.UserView{}, err
	}
	if err := s.mayManage(ctx, v, orgID, userID); err != nil {
		return directory.UserView{}, err
	}
	if v.Platform && l == directory.Reactivate {
		// A platform suspension (the admin API's) is lifted by a platform
		// administrator as the platform, not as the organization.
		u, err := s.deps.Users.GetUser(ctx, userID)
		if errors.Is(err, domain.ErrNotFound) {
			return directory.UserView{}, ErrForbidden // deleted meanwhile
		}
		if err != nil {
			return directory.UserView{}, fault.Store("get user", err)
		}
		if u.PlatformLocked {
			return s.deps.Directory.AdminSetStatus(ctx, userID, l)
		}
	}
	return s.deps.Directory.SetStatus(ctx, c, userID, l)
}

// mayManage refuses v acting on member userID of orgID, by the rule of
// SetMemberStatus. An id that names no member is refused the same way.
func (s *Service) mayManage(ctx context.Context, v *Viewer, orgID, userID string) error {
	if userID == "" || len(userID) > 64 || userID == v.User.ID || !v.Manages(orgID) {
		return ErrForbidden
	}
	m, err := s.deps.Orgs.GetMembership(ctx, orgID, userID)
	if errors.Is(err, domain.ErrNotFound) {
		return ErrForbidden
	}
	if err != nil {
		return fault.Store("get membership", err)
	}
	u, err := s.deps.Users.GetUser(ctx, userID)
	if errors.Is(err, domain.ErrNotFound) {
		return ErrForbidden
	}
	if err != nil {
		return fault.Store("get user", err)
	}
	if v.Platform {
		return nil
	}
	if u.PlatformAdmin {
		return ErrForbidden
	}
	tier, err := s.tierOf(ctx, m)
	if err != nil {
		return err
	}
	if tier >= viewerTier(v, orgID) {
		return ErrForbidden
	}
	return nil
}

// tierOf is how far membership m reaches in its organization: the highest
// tier of its direct role and its groups' roles, by their permissions, so
// a custom role or a group mapping counts as what it may do, not by name.
func (s *Service) tierOf(ctx context.Context, m domain.Membership) (access.Tier, error) {
	h, err := access.Resolve(ctx, s.deps.Roles, s.deps.Groups, m)
	if err != nil {
		return access.TierMember, fault.Store("resolve roles", err)
	}
	return h.Tier(), nil
}

// viewerTier is v's tier in orgID, as ViewerOf found it.
func viewerTier(v *Viewer, orgID string) access.Tier {
	switch v.Roles[orgID] {
	case domain.RoleOwner:
		return access.TierOwner
	case domain.RoleAdmin, RoleReader:
		return access.TierAdmin
	}
	return access.TierMember
}

// ManagesSCIM reports whether v keeps an organization's SCIM tokens: a
// token is the organization's own directory, which may make admins, so
// platform administrators and the organization's owners only.
func (v *Viewer) ManagesSCIM(orgID string) bool {
	return v.Platform || v.Roles[orgID] == domain.RoleOwner
}

// SCIMTokens lists an organization's SCIM tokens (never the tokens).
func (s *Service) SCIMTokens(ctx context.Context, v *Viewer, orgID string) ([]domain.SCIMToken, error) {
	if !v.ManagesSCIM(orgID) {
		return nil, ErrForbidden
	}
	return s.deps.SCIM.ListTokens(ctx, orgID)
}

// CreateSCIMToken makes an organization's SCIM token and returns it, the
// one time it is shown.
func (s *Service) CreateSCIMToken(ctx context.Context, v *Viewer, orgID, name string) (string, domain.SCIMToken, error) {
	if !v.ManagesSCIM(orgID) {
		return "", domain.SCIMToken{}, ErrForbidden
	}
	return s.deps.SCIM.CreateToken(ctx, orgID, name, "")
}

// RevokeSCIMToken deletes one of an organization's SCIM tokens.
func (s *Service) RevokeSCIMToken(ctx context.Context, v *Viewer, orgID, id string) error {
	if !v.ManagesSCIM(orgID) {
		return ErrForbidden
	}
	if id == "" || len(id) > 64 {
		return ErrForbidden
	}
	return s.deps.SCIM.RevokeToken(ctx, orgID, id)
}

// Register makes sure the console's client is registered for this
// issuer (EnsureClient).
func (s *Service) Register(ctx context.Context) error {
	if err := EnsureClient(ctx, s.deps.Clients, s.deps.Issuer, s.deps.Clock.Now); err != nil {
		return fault.Store("register the console's client", err)
	}
	return nil
}

// sameRegistration reports whether a stored registration is the console's
// as Client makes it.
func sameRegistration(got, want *domain.Client) bool {
	return got.Name == want.Name && slices.Equal(got.RedirectURIs, want.RedirectURIs) &&
		slices.Equal(got.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) && slices.Equal(got.GrantTypes, want.GrantTypes) &&
		slices.Equal(got.ResponseTypes, want.ResponseTypes) && slices.Equal(got.Scopes, want.Scopes) &&
		got.TokenEndpointAuthMethod == want.TokenEndpointAuthMethod && got.FirstParty == want.FirstParty &&
		got.PKCERequired == want.PKCERequired && !got.Disabled && got.SecretHash == nil
}
