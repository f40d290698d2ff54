// Package access resolves what a membership lets its user do in an
// organization: its effective role, the highest of the membership's own
// (direct) role and the roles its groups map to, with that role's
// permissions. The directory and the OpenID provider's claims both use it,
// so the two never disagree.
package access

import (
	"context"
	"errors"
	"fmt"

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

// Effective is a membership's effective role (domain.EffectiveRole). A
// mapped role the organization has since deleted counts for nothing.
func Effective(ctx context.Context, roles Roles, groups Groups, m domain.Membership) (domain.Role, error) {
	direct, _, err := Role(ctx, roles, m.OrganizationID, m.Role)
	if err != nil {
		return domain.Role{}, err
	}
	gs, err := groups.ListUserGroups(ctx, m.OrganizationID, m.UserID)
	if err != nil {
		return domain.Role{}, fmt.Errorf("list user groups: %w", err)
	}
	var mapped []domain.Role
	for _, name := range domain.MappedRoles(gs) {
		r, ok, err := Role(ctx, roles, m.OrganizationID, name)
		if err != nil {
			return domain.Role{}, err
		}
		if ok {
			mapped = append(mapped, r)
		}
	}
	return domain.EffectiveRole(direct, mapped), nil
}
