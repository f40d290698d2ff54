package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func role(name string, perms ...string) domain.Role {
	return domain.Role{Name: name, Permissions: perms}
}

func TestEffectiveRoleIsTheHighest(t *testing.T) {
	member := role(domain.RoleMember, domain.BuiltInRoles[domain.RoleMember]...)
	admin := role(domain.RoleAdmin, domain.BuiltInRoles[domain.RoleAdmin]...)
	owner := role(domain.RoleOwner, domain.BuiltInRoles[domain.RoleOwner]...)
	teacher := role("teacher", "grades:write")
	head := role("head-teacher", "grades:write", "classes:manage", "reports:read", "staff:read")

	for _, c := range []struct {
		name   string
		direct domain.Role
		mapped []domain.Role
		want   string
	}{
		{"no groups: the direct role", member, nil, domain.RoleMember},
		{"a mapped role above the direct one", member, []domain.Role{admin}, domain.RoleAdmin},
		{"a mapped role below the direct one", owner, []domain.Role{admin}, domain.RoleOwner},
		{"the highest of several", member, []domain.Role{teacher, admin}, domain.RoleAdmin},
		{"admin outranks any custom role", head, []domain.Role{admin}, domain.RoleAdmin},
		{"owner is never outranked, however many permissions a group's role has", owner, []domain.Role{head, admin}, domain.RoleOwner},
		{"any custom role outranks member", member, []domain.Role{teacher}, "teacher"},
		{"among custom roles, more permissions rank higher", teacher, []domain.Role{head}, "head-teacher"},
		{"at equal counts, the earlier name", role("zeta", "x"), []domain.Role{role("alpha", "y")}, "alpha"},
		{"an unnamed mapping counts for nothing", member, []domain.Role{{}}, domain.RoleMember},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, domain.EffectiveRole(c.direct, c.mapped).Name)
		})
	}
}

func TestMappedRolesAreDistinctAndSorted(t *testing.T) {
	gs := []domain.Group{{Role: "teacher"}, {}, {Role: "admin"}, {Role: "teacher"}}
	assert.Equal(t, []string{"admin", "teacher"}, domain.MappedRoles(gs))
}

func TestHeldPermissionsAreTheUnion(t *testing.T) {
	got := domain.HeldPermissions([]domain.Role{role("owner", "a", "b"), role("teacher", "b", "c")})
	assert.Equal(t, []string{"a", "b", "c"}, got)
}

func TestMappableRefusesAnOwnersPermissions(t *testing.T) {
	assert.False(t, domain.Mappable(role(domain.RoleOwner)))
	assert.False(t, domain.Mappable(role("superadmin", "users:manage", "roles:manage")))
	assert.False(t, domain.Mappable(role(domain.RoleAdmin, "organization:manage")), "a redefined admin too")
	assert.True(t, domain.Mappable(role(domain.RoleAdmin, domain.BuiltInRoles[domain.RoleAdmin]...)))
	assert.True(t, domain.Mappable(role("teacher", "grades:write")))
}
