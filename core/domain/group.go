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

// RoleRank orders roles for EffectiveRole: the more permissions a role
// grants, the higher it ranks; at equal counts owner, then admin, then any
// other role, then member; then by name, so the order is total.
func RoleRank(a, b Role) int {
	if d := len(a.Permissions) - len(b.Permissions); d != 0 {
		return d
	}
	builtIn := func(n string) int {
		switch n {
		case RoleOwner:
			return 3
		case RoleAdmin:
			return 2
		case RoleMember:
			return 0
		}
		return 1
	}
	if d := builtIn(a.Name) - builtIn(b.Name); d != 0 {
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
