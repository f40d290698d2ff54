package mfa

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// change is what a factor update tells: an event (none when event is "")
// and a mail to the holder (none when mail is "").
type change struct {
	event   string
	factor  string // "totp", "passkey", "recovery_codes"; "" for all
	name    string // the passkey's name
	actor   string // who made it, when not the holder ("platform_admin")
	subject string
	mail    string
}

// Factor kinds, as events name them.
const (
	kindTOTP     = "totp"
	kindPasskey  = "passkey"
	kindRecovery = "recovery_codes"
)

// publish stores the change's event, for the user's organizations.
func (s *Service) publish(ctx context.Context, u *domain.User, ch change, now time.Time) error {
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return fault.Store("list memberships", err)
	}
	var aud domain.Audience
	for _, m := range ms {
		if m.Visible() {
			aud.OrganizationIDs = append(aud.OrganizationIDs, m.OrganizationID)
		}
	}
	data := []domain.Field{{Key: "userId", Value: u.ID}, {Key: "email", Value: u.Email}}
	if ch.factor != "" {
		data = append(data, domain.Field{Key: "factor", Value: ch.factor})
	}
	if ch.name != "" {
		data = append(data, domain.Field{Key: "name", Value: ch.name})
	}
	if ch.actor != "" {
		data = append(data, domain.Field{Key: "actor", Value: ch.actor})
	}
	data = append(data, domain.Field{Key: "occurredAt", Value: now.UTC().Format("2006-01-02T15:04:05.000Z")})
	e := domain.Event{
		ID: s.deps.Random.UUID(), Type: ch.event, OccurredAt: now, UserID: u.ID,
		Audience: aud, Data: data, Actor: domain.ActorFrom(ctx),
	}
	if e.Actor.Kind == "" {
		// Only the holder and a platform administrator change factors, and
		// the administrator's requests name their key: a change no request
		// named (a factor enrolled while signing in) is the holder's.
		e.Actor = domain.Actor{Kind: domain.ActorUser, ID: u.ID, Name: u.Email}
	}
	if err := s.deps.Events.Publish(ctx, e); err != nil {
		return fault.Store("publish events", err)
	}
	return nil
}
