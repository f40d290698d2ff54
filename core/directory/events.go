package directory

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// timestamp writes times as the integration guide's §5 payloads do:
// "2025-01-15T10:30:00.000Z" (JavaScript's Date.toISOString).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// event makes one §5 event about a user, an organization or both, for the
// clients aud names.
func (s *Service) event(typ string, now time.Time, userID, orgID string, aud domain.Audience, data ...domain.Field) domain.Event {
	return domain.Event{
		ID: s.deps.Random.UUID(), Type: typ, OccurredAt: now,
		UserID: userID, OrganizationID: orgID, Audience: aud, Data: data,
	}
}

// withActor names the request's actor (domain.ActorFrom) on the events
// that name none, so every use case's events say who acted without the
// actor in its signature.
func withActor(ctx context.Context, events []domain.Event) {
	a := domain.ActorFrom(ctx)
	for i := range events {
		if events[i].Actor == (domain.Actor{}) {
			events[i].Actor = a
		}
	}
}

// asSelf names u as the actor of the changes made under ctx when the
// request named nobody: a person following a link mailed to them (an
// invitation, a reset, a join) acts as their own account.
func asSelf(ctx context.Context, u domain.User) context.Context {
	if domain.ActorFrom(ctx) != (domain.Actor{}) {
		return ctx
	}
	return domain.WithActor(ctx, domain.Actor{Kind: domain.ActorUser, ID: u.ID, Name: u.Email})
}

// audienceOf is who may hear of a user: the clients granted one of their
// organizations (other than pending) (ms, or the stored memberships when ms is nil) and the
// clients whose license they hold. Read before a deletion, it outlives it.
func (s *Service) audienceOf(ctx context.Context, userID string, ms []domain.Membership) (domain.Audience, error) {
	if ms == nil {
		var err error
		if ms, err = s.deps.Orgs.ListUserMemberships(ctx, userID); err != nil {
			return domain.Audience{}, fault.Store("list memberships", err)
		}
	}
	ls, err := s.deps.Licenses.ListUserLicenses(ctx, userID)
	if err != nil {
		return domain.Audience{}, fault.Store("list licenses", err)
	}
	var a domain.Audience
	for _, m := range ms {
		// A pending membership's organization hears nothing until the
		// account holder accepts.
		if m.Visible() {
			a.OrganizationIDs = append(a.OrganizationIDs, m.OrganizationID)
		}
	}
	for _, l := range ls {
		a.LicenseClientIDs = append(a.LicenseClientIDs, l.ClientID)
	}
	return a, nil
}

// provisionAudience is who hears of one provisioning: the organization it
// was into and the provisioning client. Other organizations of an existing
// user learn nothing from another organization's provisioning.
func provisionAudience(orgID, clientID string) domain.Audience {
	a := domain.Audience{OrganizationIDs: []string{orgID}}
	if clientID != "" { // an OrgCaller has no client
		a.LicenseClientIDs = []string{clientID}
	}
	return a
}

func f(k string, v any) domain.Field { return domain.Field{Key: k, Value: v} }

// userFields are the user part of a §5 payload, in the guide's order.
func userFields(u domain.User) []domain.Field {
	return []domain.Field{
		f("userId", u.ID), f("email", u.Email), f("firstName", u.GivenName), f("lastName", u.FamilyName),
	}
}

// userEvent is a lifecycle event (user.updated, user.suspended, ...).
func (s *Service) userEvent(typ string, u domain.User, orgID string, aud domain.Audience, now time.Time) domain.Event {
	data := append(userFields(u), f("status", string(u.Status)))
	if orgID != "" {
		data = append(data, f("organizationId", orgID))
	}
	data = append(data, f("updatedAt", timestamp(now)))
	return s.event(typ, now, u.ID, orgID, aud, data...)
}

// createdEvent is user.created exactly as the guide's example payload.
func (s *Service) createdEvent(u domain.User, orgID string, isNew bool, aud domain.Audience, now time.Time) domain.Event {
	data := append(userFields(u),
		f("organizationId", orgID), f("isNewUser", isNew), f("createdAt", timestamp(u.CreatedAt)))
	return s.event(domain.EventUserCreated, now, u.ID, orgID, aud, data...)
}

func (s *Service) licenseEvent(typ string, l domain.License, now time.Time) domain.Event {
	// Only the licensed application hears of its own licenses.
	return s.event(typ, now, l.UserID, "", domain.Audience{LicenseClientIDs: []string{l.ClientID}},
		f("userId", l.UserID), f("clientId", l.ClientID), f("timestamp", timestamp(now)))
}

// orgEvent is organization.created or organization.updated: the
// organization as it is after the change. mfaPolicy follows the guide's
// keys, so that the organization's applications learn its policy with the
// rest.
func (s *Service) orgEvent(typ string, o domain.Organization, now time.Time) domain.Event {
	return s.event(typ, now, "", o.ID, domain.Audience{OrganizationIDs: []string{o.ID}},
		f("organizationId", o.ID), f("name", o.Name), f("slug", o.Slug),
		f("createdAt", timestamp(o.CreatedAt)), f("updatedAt", timestamp(o.UpdatedAt)),
		f("mfaPolicy", string(o.MFAPolicy)))
}
