package domain

import "time"

// Event types from the integration guide, §5.
const (
	EventUserCreated         = "user.created"
	EventUserUpdated         = "user.updated"
	EventUserDeleted         = "user.deleted"
	EventUserSuspended       = "user.suspended"
	EventUserReactivated     = "user.reactivated"
	EventUserDeactivated     = "user.deactivated"
	EventUserPasswordReset   = "user.password_reset"
	EventUserInvited         = "user.invited"
	EventOrganizationCreated = "organization.created"
	EventOrganizationUpdated = "organization.updated"
	EventLicenseAssigned     = "license.assigned"
	EventLicenseRevoked      = "license.revoked"
	// Account security events, beyond the guide: an account's second
	// factors and password changed by its holder, or its factors reset by
	// a platform administrator.
	EventUserFactorAdded     = "user.factor_added"
	EventUserFactorRemoved   = "user.factor_removed"
	EventUserFactorsReset    = "user.factors_reset"
	EventUserPasswordChanged = "user.password_changed"
)

// EventTypes lists every event type, in the guide's order.
var EventTypes = []string{
	EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserSuspended,
	EventUserReactivated, EventUserDeactivated, EventUserPasswordReset, EventUserInvited,
	EventOrganizationCreated, EventOrganizationUpdated, EventLicenseAssigned, EventLicenseRevoked,
	EventUserFactorAdded, EventUserFactorRemoved, EventUserFactorsReset, EventUserPasswordChanged,
}

// Event is a domain event. Data is the payload's "data" object, as ordered
// key/value pairs so the webhook body is byte-stable.
type Event struct {
	ID             string
	Type           string
	OccurredAt     time.Time
	UserID         string // the user it concerns, if any
	OrganizationID string // the organization it concerns, if any
	Data           []Field
	// Audience is who may hear of the event, fixed when it happens (a
	// deleted user's memberships are gone by the time it is delivered).
	Audience Audience
}

// Audience says which clients' webhooks an event may reach (DESIGN
// "Tenancy"): clients granted one of OrganizationIDs, and the clients in
// LicenseClientIDs, whose license the user holds.
type Audience struct {
	OrganizationIDs  []string
	LicenseClientIDs []string
}

// Field is one key/value of an event's data, kept in order.
type Field struct {
	Key   string
	Value any
}
