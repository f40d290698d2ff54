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
)

// EventTypes lists every event type, in the guide's order.
var EventTypes = []string{
	EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserSuspended,
	EventUserReactivated, EventUserDeactivated, EventUserPasswordReset, EventUserInvited,
	EventOrganizationCreated, EventOrganizationUpdated, EventLicenseAssigned, EventLicenseRevoked,
}

// Event is a domain event. Data is the payload's "data" object, as ordered
// key/value pairs so the webhook body is byte-stable.
type Event struct {
	ID             string
	Type           string
	OccurredAt     time.Time
	UserID         string // the user it concerns, if any: used for tenancy
	OrganizationID string // the organization it concerns, if any
	Data           []Field
}

// Field is one key/value of an event's data, kept in order.
type Field struct {
	Key   string
	Value any
}
