package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
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
		if e.Type == domain.EventBackchannelLogout {
			ds, err := s.planLogout(ctx, e, now)
			if err != nil {
				return nil, err
			}
			out = append(out, ds...)
			continue
		}
		subs, ok := subsByType[e.Type]
		if !ok {
			var err error
			if subs, err = s.deps.Subscriptions.ListActiveSubscriptions(ctx, e.Type); err != nil {
				return nil, fault.Store("list subscriptions", err)
			}
			subsByType[e.Type] = subs
		}
		bodies := map[string][]byte{} // by the organization the body names
		for _, sub := range subs {
			ok, err := s.entitled(ctx, sub.ClientID, e.Audience, orgsOf)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			granted, err := s.grantedOrgs(ctx, sub.ClientID, orgsOf)
			if err != nil {
				return nil, err
			}
			org := visibleOrg(e, granted)
			body, ok := bodies[org]
			if !ok {
				body = Payload(withOrg(e, org))
				bodies[org] = body
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
	// A deleted or disabled client hears nothing (RFC 7592 §2.3: its
	// grants and licenses die with it).
	if active, err := s.clientActive(ctx, clientID, orgsOf); err != nil || !active {
		return false, err
	}
	if slices.Contains(a.LicenseClientIDs, clientID) {
		return true, nil
	}
	orgs, err := s.grantedOrgs(ctx, clientID, orgsOf)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(a.OrganizationIDs, func(o string) bool { return slices.Contains(orgs, o) }), nil
}

// grantedOrgs returns the organizations a client was granted, read once per
// batch.
func (s *Service) grantedOrgs(ctx context.Context, clientID string, orgsOf map[string][]string) ([]string, error) {
	if orgs, ok := orgsOf[clientID]; ok {
		return orgs, nil
	}
	grants, err := s.deps.Grants.ListClientGrants(ctx, clientID)
	if err != nil {
		return nil, fault.Store("list client grants", err)
	}
	orgs := make([]string, 0, len(grants))
	for _, g := range grants {
		orgs = append(orgs, g.OrganizationID)
	}
	orgsOf[clientID] = orgs
	return orgs, nil
}

// clientActive reports whether a client exists and is enabled. cache, when
// given, remembers inactive clients for the batch (as an entry under the
// client id prefixed with "!").
func (s *Service) clientActive(ctx context.Context, clientID string, cache map[string][]string) (bool, error) {
	if cache != nil {
		if _, gone := cache["!"+clientID]; gone {
			return false, nil
		}
		if _, known := cache[clientID]; known {
			return true, nil
		}
	}
	c, err := s.deps.Clients.GetClient(ctx, clientID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !c.Active() {
		if cache != nil {
			cache["!"+clientID] = nil
		}
		return false, nil
	}
	if err != nil {
		return false, fault.Store("get client", err)
	}
	return true, nil
}

// visibleOrg is the organization an event's payload may name to a client
// granted orgs: the event's own when granted, else another organization of
// the user's that is granted, else none. A client must not learn of a
// user's membership in an organization it was not granted (the management
// API hides those too).
func visibleOrg(e domain.Event, orgs []string) string {
	if e.OrganizationID == "" || slices.Contains(orgs, e.OrganizationID) {
		return e.OrganizationID
	}
	for _, o := range e.Audience.OrganizationIDs {
		if slices.Contains(orgs, o) {
			return o
		}
	}
	return ""
}

// withOrg returns e with its data's organizationId set to org, or removed
// when org is empty; e is not changed.
func withOrg(e domain.Event, org string) domain.Event {
	if org == e.OrganizationID {
		return e
	}
	data := make([]domain.Field, 0, len(e.Data))
	for _, f := range e.Data {
		if f.Key == "organizationId" {
			if org == "" {
				continue
			}
			f.Value = org
		}
		data = append(data, f)
	}
	e.Data = data
	return e
}
