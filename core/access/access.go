// Package access says who may do what in an organization. For a user, it
// resolves what a membership lets them do: the effective role, the highest
// of the membership's own (direct) role and the roles its groups map to,
// with that role's permissions. The directory and the OpenID provider's
// claims both use it, so the two never disagree. For a client of the APIs,
// it is the Caller: the client and the organizations it was granted, which
// the directory, the webhooks and SCIM all act as.
//
// It is core: it imports only core/domain.
package access

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Roles reads an organization's stored roles (ports.RoleStore).
type Roles interface {
	GetRole(ctx context.Context, organizationID, name string) (domain.Role, error)
}

// Groups reads a user's groups (ports.GroupStore).
type Groups interface {
	ListUserGroups(ctx context.Context, organizationID, userID string) ([]domain.Group, error)
}

// Role resolves a role of an organization: its stored version, else the
// built-in default. ok is false for a role that does not exist there.
func Role(ctx context.Context, roles Roles, orgID, name string) (domain.Role, bool, error) {
	r, err := roles.GetRole(ctx, orgID, name)
	switch {
	case err == nil:
		return r, true, nil
	case !errors.Is(err, domain.ErrNotFound):
		return domain.Role{}, false, fmt.Errorf("get role: %w", err)
	}
	perms, ok := domain.BuiltInRoles[name]
	return domain.Role{OrganizationID: orgID, Name: name, Permissions: perms}, ok, nil
}

// Held is what a membership gives its user: the effective role, and every
// role held (the effective one first, then the others by rank), whose
// permissions together are what the user may do.
type Held struct {
	Effective domain.Role
	Roles     []domain.Role
}

// Names is the held roles' names, the effective one first.
func (h Held) Names() []string {
	out := make([]string, 0, len(h.Roles))
	for _, r := range h.Roles {
		out = append(out, r.Name)
	}
	return out
}

// Permissions is the union of the held roles' permissions.
func (h Held) Permissions() []string { return domain.HeldPermissions(h.Roles) }

// Resolve is what a membership holds: its direct role and the roles its
// groups map to. A mapped role the organization has since deleted, or that
// has come to carry an owner's permissions (domain.Mappable), counts for
// nothing.
func Resolve(ctx context.Context, roles Roles, groups Groups, m domain.Membership) (Held, error) {
	direct, _, err := Role(ctx, roles, m.OrganizationID, m.Role)
	if err != nil {
		return Held{}, err
	}
	gs, err := groups.ListUserGroups(ctx, m.OrganizationID, m.UserID)
	if err != nil {
		return Held{}, fmt.Errorf("list user groups: %w", err)
	}
	held := []domain.Role{direct}
	for _, name := range domain.MappedRoles(gs) {
		if name == direct.Name {
			continue
		}
		r, ok, err := Role(ctx, roles, m.OrganizationID, name)
		if err != nil {
			return Held{}, err
		}
		if ok && domain.Mappable(r) {
			held = append(held, r)
		}
	}
	slices.SortStableFunc(held, func(a, b domain.Role) int { return domain.RoleRank(b, a) })
	return Held{Effective: held[0], Roles: held}, nil // held[0] is domain.EffectiveRole's pick
}

// Tier is how far a role reaches in its organization, by what it may
// manage: permissions decide, so renaming a role or mapping it through a
// group gives no way around a rule written in tiers.
type Tier int

// Tiers, lowest first.
const (
	// TierMember manages nothing.
	TierMember Tier = iota
	// TierAdmin manages users: the admin role, or one with users:read or
	// users:manage.
	TierAdmin
	// TierOwner manages the organization: the owner role, or one with
	// organization:manage or roles:manage.
	TierOwner
)

// adminPermissions make a role an admin's, whatever its name, as
// domain.OwnerPermissions make one an owner's.
var adminPermissions = []string{"users:read", "users:manage"}

// RoleTier is the tier of one role.
func RoleTier(r domain.Role) Tier {
	has := func(want []string) bool {
		return slices.ContainsFunc(r.Permissions, func(p string) bool { return slices.Contains(want, p) })
	}
	switch {
	case r.Name == domain.RoleOwner || has(domain.OwnerPermissions):
		return TierOwner
	case r.Name == domain.RoleAdmin || has(adminPermissions):
		return TierAdmin
	}
	return TierMember
}

// Tier is the highest tier of the roles h holds.
func (h Held) Tier() Tier {
	t := TierMember
	for _, r := range h.Roles {
		t = max(t, RoleTier(r))
	}
	return t
}
