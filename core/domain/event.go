package domain

import (
	"context"
	"slices"
	"time"
)

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
	// Actor is who made the change. It is kept in the event log only:
	// the webhook payload is the guide's §5 format, which has no such
	// field, and an app need not learn which administrator acted.
	Actor Actor
}

// ActorKind says what kind of credential made a change.
type ActorKind string

// Actor kinds.
const (
	// ActorUser is an account acting for itself (the account pages, an
	// emailed link) or through the console.
	ActorUser ActorKind = "user"
	// ActorClient is an app, through the user management API.
	ActorClient ActorKind = "client"
	// ActorSCIM is an organization's SCIM token.
	ActorSCIM ActorKind = "scim"
	// ActorAdmin is a platform admin API key.
	ActorAdmin ActorKind = "admin"
	// ActorSystem is the provider itself (a federated sign-in's
	// provisioning, a background job).
	ActorSystem ActorKind = "system"
)

// Actor names who made a change: a kind, its id (an account, a client, a
// SCIM token or an admin key id) and a name to show (an email, a client
// id, a token's or key's name). OrganizationID is the organization the
// actor belongs to or acted as, when it is one organization's (its SCIM
// token, one of its administrators in the console); "" otherwise. The
// zero Actor is "not recorded", as for events stored before actors were.
type Actor struct {
	Kind           ActorKind
	ID             string
	Name           string
	OrganizationID string
}

type actorKey struct{}

// WithActor returns ctx naming a as the actor of the changes made under
// it. The adapters set it where they authenticate a request, so that the
// use cases need not carry it in their signatures.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor set, or the zero Actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// EventQuery selects one organization's events from the event log, newest
// first. An organization's events are those whose audience includes it,
// those about it (OrganizationID), and those its own actors made
// (Actor.OrganizationID): what its administrators expect to see, a
// member's account-wide changes included.
type EventQuery struct {
	// OrganizationID is required.
	OrganizationID string
	// UserID, Type and ActorKind, when set, keep only the events about
	// that user, of that type, or made by that kind of actor.
	UserID    string
	Type      string
	ActorKind ActorKind
	// ActorOrganizationID, when set, keeps only the events whose actor
	// acted as that organization.
	ActorOrganizationID string
	// Before is a page's Next: only events older than the page's last.
	// The zero cursor starts at the newest.
	Before EventCursor
	// Limit bounds the page; the store caps it at MaxEventPage.
	Limit int
}

// MaxEventPage is the most events one ListEvents call returns.
const MaxEventPage = 200

// EventCursor is a place in the event log: Seq is the store's
// publication number of the event (a PostgreSQL row's seq, the memory
// log's position from 1) or of its batch (a MongoDB batch's number), and
// Pos the event's place in that batch (0 where each event has its own
// number). The zero cursor is "from the newest".
type EventCursor struct {
	Seq int64
	Pos int
}

// IsZero reports whether c is the zero cursor.
func (c EventCursor) IsZero() bool { return c == EventCursor{} }

// EventPage is one page of the event log, newest first. Next reads the
// next (older) page; the zero cursor on the last.
type EventPage struct {
	Events []Event
	Next   EventCursor
}

// Matches reports whether e is one of q's events (every field but the
// cursor and limit). Stores that cannot filter fully in their query
// finish with it.
func (q EventQuery) Matches(e Event) bool {
	org := q.OrganizationID
	if org == "" {
		return false
	}
	if e.OrganizationID != org && e.Actor.OrganizationID != org && !slices.Contains(e.Audience.OrganizationIDs, org) {
		return false
	}
	return (q.UserID == "" || e.UserID == q.UserID) && (q.Type == "" || e.Type == q.Type) &&
		(q.ActorKind == "" || e.Actor.Kind == q.ActorKind) &&
		(q.ActorOrganizationID == "" || e.Actor.OrganizationID == q.ActorOrganizationID)
}

// LogOrganizations are the organizations whose event log holds e: its
// audience's, its own and its actor's, each once.
func (e Event) LogOrganizations() []string {
	var out []string
	add := func(id string) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, id := range e.Audience.OrganizationIDs {
		add(id)
	}
	add(e.OrganizationID)
	add(e.Actor.OrganizationID)
	return out
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
