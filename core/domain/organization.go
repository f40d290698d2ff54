package domain

import "time"

// Built-in organization roles. Custom roles are plain strings.
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
	RoleOwner  = "owner"
)

// Organization is a school or other tenant that users belong to.
type Organization struct {
	ID        string
	Name      string
	Slug      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Membership ties a user to an organization with a role.
type Membership struct {
	OrganizationID string
	UserID         string
	Role           string
	Primary        bool
	CreatedAt      time.Time
}
