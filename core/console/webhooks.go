package console

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// An app's webhooks are a platform administrator's to see and act on, and
// nobody else's. A subscription carries the events of every organization
// granted to its app, and its delivery log keeps their payloads (users'
// names and emails) and the receiver's answers: an owner or admin of one
// school granted to the app would read the other schools' users there.
// Everyone else gets the same ErrForbidden, whether the app exists or not,
// so the answer tells nothing.
//
// The console acts as the app itself (webhooks.AppCaller), so the
// webhooks' own use cases apply their own rules: a subscription of
// another app is not found, a delivery of another subscription neither,
// a delivery being posted is a conflict.

// MaxWebhookPage is how many deliveries a page of the log shows.
const MaxWebhookPage = 20

// appCaller is the app clientID as the webhooks' use cases know it, for a
// platform administrator; ErrForbidden for anyone else, and for an app
// that does not exist.
func (s *Service) appCaller(ctx context.Context, v *Viewer, clientID string) (*access.Caller, error) {
	if !v.Platform || s.deps.Webhooks == nil {
		return nil, ErrForbidden
	}
	c, err := s.deps.Webhooks.AppCaller(ctx, clientID)
	if e, ok := fault.As(err); ok && e.Kind == fault.NotFound {
		return nil, ErrForbidden
	}
	return c, err
}

// WebhookApp returns the app whose webhooks v opens.
func (s *Service) WebhookApp(ctx context.Context, v *Viewer, clientID string) (domain.Client, error) {
	c, err := s.appCaller(ctx, v, clientID)
	if err != nil {
		return domain.Client{}, err
	}
	return c.Client, nil
}

// Webhooks returns an app and its subscriptions.
func (s *Service) Webhooks(ctx context.Context, v *Viewer, clientID string) (domain.Client, []domain.Subscription, error) {
	c, err := s.appCaller(ctx, v, clientID)
	if err != nil {
		return domain.Client{}, nil, err
	}
	subs, err := s.deps.Webhooks.List(ctx, c)
	return c.Client, subs, err
}

// WebhookLog is one subscription of an app with a page of its delivery
// log, newest first, each delivery with every attempt.
type WebhookLog struct {
	App        domain.Client
	Sub        domain.Subscription
	Deliveries []domain.DeliveryRecord
	// Next is the next page's cursor, "" on the last.
	Next string
}

// Webhook returns a subscription of an app with the page of its delivery
// log that cursor (what the previous page returned) names.
func (s *Service) Webhook(ctx context.Context, v *Viewer, clientID, subID, cursor string) (WebhookLog, error) {
	c, err := s.appCaller(ctx, v, clientID)
	if err != nil {
		return WebhookLog{}, err
	}
	out := WebhookLog{App: c.Client}
	if out.Sub, err = s.deps.Webhooks.Get(ctx, c, subID); err != nil {
		return WebhookLog{}, err
	}
	out.Deliveries, out.Next, err = s.deps.Webhooks.Deliveries(ctx, c, subID, cursor, MaxWebhookPage)
	if err != nil {
		return WebhookLog{}, err
	}
	return out, nil
}

// PingWebhook queues a webhook.ping to a subscription, as the webhook
// API's ping does.
func (s *Service) PingWebhook(ctx context.Context, v *Viewer, clientID, subID string) (domain.Delivery, error) {
	c, err := s.appCaller(ctx, v, clientID)
	if err != nil {
		return domain.Delivery{}, err
	}
	return s.deps.Webhooks.Ping(ctx, c, subID)
}

// RedeliverWebhook sends a delivery again under its own id, as the webhook
// API's redeliver does.
func (s *Service) RedeliverWebhook(ctx context.Context, v *Viewer, clientID, subID, deliveryID string) (domain.Delivery, error) {
	c, err := s.appCaller(ctx, v, clientID)
	if err != nil {
		return domain.Delivery{}, err
	}
	return s.deps.Webhooks.Redeliver(ctx, c, subID, deliveryID)
}

// ReenableWebhook enables a subscription that failures disabled
// (webhooks.Service.Reenable: the update the webhook API's enabled: true
// makes, clearing the streak and reason, refused in the same step to one
// its app disabled).
func (s *Service) ReenableWebhook(ctx context.Context, v *Viewer, clientID, subID string) (domain.Subscription, error) {
	c, err := s.appCaller(ctx, v, clientID)
	if err != nil {
		return domain.Subscription{}, err
	}
	return s.deps.Webhooks.Reenable(ctx, c, subID)
}
