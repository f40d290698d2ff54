package domain

import (
	"slices"
	"strings"
	"time"
)

// Group is one of an organization's groups: a named set of its members, as
// its identity provider pushes them (Entra ID's "Sales Team", Okta's "Test
// SCIMv2"). A user is in any number of groups. An administrator may map a
// group to a role: its members then hold that role in the organization too
// (see EffectiveRole).
type Group struct {
	ID             string
	OrganizationID string
	// DisplayName is free text, unique within the organization by
	// GroupNameKey.
	DisplayName string
	// ExternalID is the provider's id for the group, kept as sent.
	ExternalID string
	// Role is the role the group's members hold through it; "" for none.
	Role      string
	CreatedAt time.Time
	// UpdatedAt moves with every change of the group, its members
	// included.
	UpdatedAt time.Time
}

// GroupNameKey is the form in which an organization's group names are
// unique: names that differ only in case are one name.
func GroupNameKey(name string) string { return strings.ToLower(name) }

// OwnerPermissions make a role an owner's, whatever its name: a group
// never grants them (see Mappable).
var OwnerPermissions = []string{"organization:manage", "roles:manage"}

// Mappable reports whether a group may grant the role: neither owner nor
// any role carrying an owner's permissions, so an organization's identity
// provider never decides who manages the organization. It is checked when
// a group is mapped and again whenever roles are resolved, as a role's
// permissions can change after the mapping.
func Mappable(r Role) bool {
	return r.Name != RoleOwner && !slices.ContainsFunc(r.Permissions, func(p string) bool {
		return slices.Contains(OwnerPermissions, p)
	})
}

// RoleRank orders roles for EffectiveRole: owner, then admin, then the
// custom roles (the more permissions, the higher; then by name), then
// member. A positive result means a ranks above b.
func RoleRank(a, b Role) int {
	tier := func(r Role) int {
		switch r.Name {
		case RoleOwner:
			return 3
		case RoleAdmin:
			return 2
		case RoleMember:
			return 0
		}
		return 1
	}
	if d := tier(a) - tier(b); d != 0 {
		return d
	}
	if d := len(a.Permissions) - len(b.Permissions); d != 0 {
		return d
	}
	return strings.Compare(b.Name, a.Name) // the earlier name ranks higher
}

// EffectiveRole is the highest (by RoleRank) of a member's direct role and
// the roles its groups map to. Each role is given with its permissions.
func EffectiveRole(direct Role, mapped []Role) Role {
	best := direct
	for _, r := range mapped {
		if r.Name != "" && RoleRank(r, best) > 0 {
			best = r
		}
	}
	return best
}

// HeldPermissions is the union of the roles' permissions, in the order
// they first appear: a group adds to what a member may do, never takes
// away what their own role gives.
func HeldPermissions(roles []Role) []string {
	var out []string
	for _, r := range roles {
		for _, p := range r.Permissions {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// MappedRoles is the distinct roles a user's groups map to, by name.
func MappedRoles(groups []Group) []string {
	var out []string
	for _, g := range groups {
		if g.Role != "" && !slices.Contains(out, g.Role) {
			out = append(out, g.Role)
		}
	}
	slices.Sort(out)
	return out
}
