package directory

import (
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// timestamp writes times as the integration guide's §5 payloads do:
// "2025-01-15T10:30:00.000Z" (JavaScript's Date.toISOString).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// event makes one §5 event about a user, an organization or both.
func (s *Service) event(typ string, now time.Time, userID, orgID string, data ...domain.Field) domain.Event {
	return domain.Event{
		ID: s.deps.Random.UUID(), Type: typ, OccurredAt: now,
		UserID: userID, OrganizationID: orgID, Data: data,
	}
}

func f(k string, v any) domain.Field { return domain.Field{Key: k, Value: v} }

// userFields are the user part of a §5 payload, in the guide's order.
func userFields(u domain.User) []domain.Field {
	return []domain.Field{
		f("userId", u.ID), f("email", u.Email), f("firstName", u.GivenName), f("lastName", u.FamilyName),
	}
}

// userEvent is a lifecycle event (user.updated, user.suspended, ...).
func (s *Service) userEvent(typ string, u domain.User, orgID string, now time.Time) domain.Event {
	data := append(userFields(u), f("status", string(u.Status)))
	if orgID != "" {
		data = append(data, f("organizationId", orgID))
	}
	data = append(data, f("updatedAt", timestamp(now)))
	return s.event(typ, now, u.ID, orgID, data...)
}

// createdEvent is user.created exactly as the guide's example payload.
func (s *Service) createdEvent(u domain.User, orgID string, isNew bool, now time.Time) domain.Event {
	data := append(userFields(u),
		f("organizationId", orgID), f("isNewUser", isNew), f("createdAt", timestamp(u.CreatedAt)))
	return s.event(domain.EventUserCreated, now, u.ID, orgID, data...)
}

func (s *Service) licenseEvent(typ string, l domain.License, now time.Time) domain.Event {
	return s.event(typ, now, l.UserID, "",
		f("userId", l.UserID), f("clientId", l.ClientID), f("timestamp", timestamp(now)))
}

func (s *Service) orgEvent(typ string, o domain.Organization, now time.Time) domain.Event {
	return s.event(typ, now, "", o.ID,
		f("organizationId", o.ID), f("name", o.Name), f("slug", o.Slug),
		f("createdAt", timestamp(o.CreatedAt)), f("updatedAt", timestamp(o.UpdatedAt)))
}
