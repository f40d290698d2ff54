package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/ports"
)

// LogoutTokenSigner makes the logout token of a notice (OIDC Back-Channel
// Logout 1.0 §2.4); *oidc.Provider is one. It is called at each attempt, so
// that a retry carries a token that has not expired.
type LogoutTokenSigner interface {
	LogoutToken(ctx context.Context, n domain.LogoutNotice) (string, error)
}

// planLogout makes the deliveries of a back-channel logout event: one per
// client it names that is still active and still registers a
// backchannel_logout_uri. The URL is fixed here; a client that changes it
// afterwards gets this logout at the old one.
func (s *Service) planLogout(ctx context.Context, e domain.Event, now time.Time) ([]domain.Delivery, error) {
	var out []domain.Delivery
	for _, n := range domain.LogoutNotices(e) {
		c, err := s.deps.Clients.GetClient(ctx, n.ClientID)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fault.Store("get client", err)
		}
		if !c.Active() || c.BackchannelLogoutURI == "" {
			continue
		}
		out = append(out, domain.Delivery{
			// Derived as webhook delivery ids are, so a dispatch made again
			// makes the same delivery; the prefix keeps clients apart from
			// subscriptions.
			ID: deliveryID(e.ID, "client:"+c.ID), Kind: domain.DeliveryBackchannelLogout,
			URL: c.BackchannelLogoutURI, ClientID: c.ID, EventID: e.ID, EventType: e.Type,
			Payload: n.Encode(), State: domain.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
		})
	}
	return out, nil
}

// sendLogout posts a logout token to the client's backchannel_logout_uri,
// signed now: OIDC Back-Channel Logout 1.0 §2.5, a form post with
// logout_token as its one parameter, and none of the webhook signature
// headers (the token is signed).
func (s *Service) sendLogout(ctx context.Context, d domain.Delivery) ports.SendResult {
	n, err := domain.DecodeLogoutNotice(d.Payload)
	if err != nil {
		return ports.SendResult{Err: errors.New("the stored logout notice cannot be read")}
	}
	if s.deps.LogoutTokens == nil {
		return ports.SendResult{Err: errors.New("no logout token signer is configured")}
	}
	tok, err := s.deps.LogoutTokens.LogoutToken(ctx, n)
	if err != nil {
		// The signer is out: retried on the schedule, like a receiver that
		// is out.
		return ports.SendResult{Err: fmt.Errorf("cannot sign the logout token: %w", err)}
	}
	body := []byte(url.Values{"logout_token": {tok}}.Encode())
	return s.deps.Sender.Send(ctx, d.URL, map[string]string{
		"Content-Type": "application/x-www-form-urlencoded",
		"User-Agent":   "Calimatic-Auth/1.0",
	}, body)
}

// logoutOutcome decides what a logout attempt leads to. OIDC Back-Channel
// Logout 1.0 §2.8: the RP answers 200 on success, which some frameworks
// turn into 204, so both succeed; anything else (a 400 says the logout
// failed) may be retried, and is, on the webhook schedule. There is no
// subscription to disable.
func (s *Service) logoutOutcome(a domain.Attempt, res ports.SendResult) domain.AttemptOutcome {
	if res.Err == nil && (res.StatusCode == 200 || res.StatusCode == 204) {
		return domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true}
	}
	var retryAfter time.Duration
	if res.StatusCode == 429 || res.StatusCode == 503 {
		retryAfter = res.RetryAfter
	}
	o := domain.AttemptOutcome{State: domain.DeliveryFailed}
	if next, ok := s.cfg.Schedule.next(a.Number, a.At, retryAfter, s.deps.Random.Bytes(8)); ok {
		o.State, o.NextAttemptAt = domain.DeliveryPending, next
	}
	return o
}
