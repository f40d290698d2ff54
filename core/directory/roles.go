package directory

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Permissions resolves a role in an organization: the organization's stored
// version if it has one, else the built-in default. ok is false for a role
// that does not exist there.
func Permissions(ctx context.Context, roles interface {
	GetRole(ctx context.Context, organizationID, name string) (domain.Role, error)
}, orgID, name string) (perms []string, ok bool, err error) {
	r, err := roles.GetRole(ctx, orgID, name)
	switch {
	case err == nil:
		return r.Permissions, true, nil
	case !errors.Is(err, domain.ErrNotFound):
		return nil, false, fault.Store("get role", err)
	}
	perms, ok = domain.BuiltInRoles[name]
	return perms, ok, nil
}

// checkRole refuses a role that does not exist in the organization.
func (s *Service) checkRole(ctx context.Context, orgID, role string) error {
	if !domain.ValidName(role) {
		return fault.New(fault.Invalid, "invalid_role", "role %q is not a valid role name", clip(role))
	}
	_, ok, err := Permissions(ctx, s.deps.Roles, orgID, role)
	if err != nil {
		return err
	}
	if !ok {
		return fault.New(fault.Invalid, "invalid_role", "role %q does not exist in this organization", clip(role))
	}
	return nil
}
