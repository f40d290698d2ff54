package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Dispatch fans up to Batch stored events out to the subscriptions entitled
// to them, as pending deliveries due now. It returns how many events it
// dispatched; with many instances, each event is dispatched by one.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	return s.deps.Deliveries.DispatchEvents(ctx, s.cfg.Batch, func(events []domain.Event) ([]domain.Delivery, error) {
		return s.plan(ctx, events)
	})
}

// plan makes the deliveries of a batch of events.
func (s *Service) plan(ctx context.Context, events []domain.Event) ([]domain.Delivery, error) {
	now := s.now()
	subsByType := map[string][]domain.Subscription{}
	orgsOf := map[string][]string{} // client id -> granted organization ids
	var out []domain.Delivery
	for _, e := range events {
		subs, ok := subsByType[e.Type]
		if !ok {
			var err error
			if subs, err = s.deps.Subscriptions.ListActiveSubscriptions(ctx, e.Type); err != nil {
				return nil, storeErr("list subscriptions", err)
			}
			subsByType[e.Type] = subs
		}
		var body []byte
		for _, sub := range subs {
			ok, err := s.entitled(ctx, sub.ClientID, e.Audience, orgsOf)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if body == nil {
				body = Payload(e)
			}
			out = append(out, s.newDelivery(sub.ID, e, body, now))
		}
	}
	return out, nil
}

// deliveryID is the delivery id of an event to a subscription. It is
// derived, not drawn, so that dispatching an event again (a store that lost
// its record of the first dispatch in a crash) makes the same deliveries,
// which the store then keeps once.
func deliveryID(eventID, subID string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + subID))
	return "dlv_" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (s *Service) newDelivery(subID string, e domain.Event, body []byte, now time.Time) domain.Delivery {
	return domain.Delivery{
		ID: deliveryID(e.ID, subID), SubscriptionID: subID, EventID: e.ID, EventType: e.Type,
		Payload: body, State: domain.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
	}
}

// entitled reports whether a client may hear of an event: its license is
// among the event's, or it was granted one of the event's organizations.
// Grants are read once per client per batch.
func (s *Service) entitled(ctx context.Context, clientID string, a domain.Audience, orgsOf map[string][]string) (bool, error) {
	if slices.Contains(a.LicenseClientIDs, clientID) {
		return true, nil
	}
	orgs, ok := orgsOf[clientID]
	if !ok {
		grants, err := s.deps.Grants.ListClientGrants(ctx, clientID)
		if err != nil {
			return false, storeErr("list client grants", err)
		}
		orgs = make([]string, 0, len(grants))
		for _, g := range grants {
			orgs = append(orgs, g.OrganizationID)
		}
		orgsOf[clientID] = orgs
	}
	return slices.ContainsFunc(a.OrganizationIDs, func(o string) bool { return slices.Contains(orgs, o) }), nil
}
