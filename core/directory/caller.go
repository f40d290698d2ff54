package directory

import (
	"context"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

var errClientAuth = &fault.Error{Kind: fault.Unauthorized, Code: "invalid_client", Message: "client authentication failed"}

// dummySecretHash is compared against when the client does not exist, so a
// wrong id costs what a wrong secret costs.
var dummySecretHash = domain.HashToken("ccas_not-a-secret")

// AuthenticateClient checks the x-client-id and x-client-secret headers.
// Every failure is the same Unauthorized, so the caller learns nothing about
// which part was wrong. Public clients have no secret and cannot call.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (*access.Caller, error) {
	if id == "" || secret == "" {
		return nil, &fault.Error{Kind: fault.Unauthorized, Code: "invalid_client", Message: "the x-client-id and x-client-secret headers are required"}
	}
	if len(id) > 255 || len(secret) > 512 {
		return nil, errClientAuth
	}
	c, err := s.deps.Clients.GetClient(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		domain.VerifyTokenHash(secret, dummySecretHash)
		return nil, errClientAuth
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	if !c.VerifySecret(secret) || !c.Active() {
		return nil, errClientAuth
	}
	grants, err := s.deps.Grants.ListClientGrants(ctx, c.ID)
	if err != nil {
		return nil, fault.Store("list client grants", err)
	}
	return &access.Caller{Client: c, Grants: grants}, nil
}

// authorizeOrg checks that the caller may do action in an organization.
func authorizeOrg(c *access.Caller, orgID, action string) error {
	if len(c.Grants) == 0 {
		return errNoGrants
	}
	g := c.Grant(orgID)
	if g == nil {
		return fault.New(fault.Forbidden, "forbidden", "this client has no grant on organization %q", clip(orgID))
	}
	if !g.Allows(action) {
		return fault.New(fault.Forbidden, "forbidden", "this client's grant on organization %q does not include %q", clip(orgID), action)
	}
	return nil
}

// scope is a user as a caller may see them.
type scope struct {
	user domain.User
	// visible are the memberships, other than pending, in organizations
	// granted to the caller: what the caller sees of the user.
	visible []domain.Membership
	// acting are the visible memberships whose grant includes the action.
	acting []domain.Membership
	// all are every membership of the user, pending ones included.
	all []domain.Membership
	// home: the caller's grant on the account's home organization includes
	// the action, so the caller may change the account itself.
	home bool
	// platform: a platform administrator acts (adminScope), above every
	// organization.
	platform bool
}

// loadUser fetches a user the caller may act on with action. A user the
// caller cannot see (no membership other than pending in its
// organizations) is NotFound; one it sees but without the action anywhere,
// Forbidden.
func (s *Service) loadUser(ctx context.Context, c *access.Caller, userID, action string) (scope, error) {
	if len(c.Grants) == 0 {
		return scope{}, errNoGrants
	}
	if userID == "" || len(userID) > 64 {
		return scope{}, errNoUser
	}
	u, err := s.deps.Users.GetUser(ctx, userID)
	if errors.Is(err, domain.ErrNotFound) {
		return scope{}, errNoUser
	}
	if err != nil {
		return scope{}, fault.Store("get user", err)
	}
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, userID)
	if err != nil {
		return scope{}, fault.Store("list memberships", err)
	}
	sc := scope{user: u, all: ms}
	for _, m := range ms {
		g := c.Grant(m.OrganizationID)
		if g == nil || !m.Visible() {
			continue
		}
		sc.visible = append(sc.visible, m)
		if g.Allows(action) {
			sc.acting = append(sc.acting, m)
			sc.home = sc.home || m.OrganizationID == u.HomeOrganizationID
		}
	}
	// A platform administrator's account is the platform's: no
	// organization's directory (an app's grant, its SCIM connection, its
	// console) changes the account itself, even from its home; they act
	// on its memberships only.
	sc.home = sc.home && !u.PlatformAdmin
	switch {
	case len(sc.visible) == 0:
		return scope{}, errNoUser
	case len(sc.acting) == 0:
		return scope{}, fault.New(fault.Forbidden, "forbidden", "this client's grants do not include %q for this user", action)
	}
	return sc, nil
}

// errPlatformLocked refuses an organization's reactivation or deletion of
// an account a platform administrator suspended or deactivated
// (domain.User.PlatformLocked).
var errPlatformLocked = fault.New(fault.Forbidden, "platform_locked",
	"a platform administrator suspended this account; only a platform administrator can reactivate or delete it")

// errNotHome refuses an account-wide change to a caller outside the
// account's home organization.
var errNotHome = &fault.Error{Kind: fault.Forbidden, Code: "forbidden", Message: "this change is the account's own, which only its home organization makes; " +
	"another organization suspends or removes its membership instead"}

// requireHome refuses an account-wide change unless the caller acts for the
// account's home organization.
func (sc scope) requireHome() error {
	if !sc.home {
		return errNotHome
	}
	return nil
}

// primaryOrg is the organization an event about the user names: the primary
// membership among those the caller sees, else the first.
func (sc scope) primaryOrg() string {
	if i := slices.IndexFunc(sc.visible, func(m domain.Membership) bool { return m.Primary }); i >= 0 {
		return sc.visible[i].OrganizationID
	}
	if len(sc.visible) > 0 {
		return sc.visible[0].OrganizationID
	}
	return ""
}

// clip shortens request values echoed in messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
