package http

import (
	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
)

// The webhook API (integration guide §5). It lives under /api/v1/admin but,
// as the guide shows, the calling client authenticates with x-client-id and
// x-client-secret and manages only its own subscriptions; no admin key is
// involved. No admin route has a parameter directly under /api/v1/admin, so
// the two sets cannot match each other's paths.
const (
	pathWebhooks          = "/api/v1/admin/webhooks"
	pathWebhook           = "/api/v1/admin/webhooks/:id"
	pathWebhookDeliveries = "/api/v1/admin/webhooks/:id/deliveries"
	pathWebhookRedeliver  = "/api/v1/admin/webhooks/:id/deliveries/:deliveryId/redeliver"
	pathWebhookPing       = "/api/v1/admin/webhooks/:id/ping"
)

// webhookRoutes mounts the webhook API.
func (s *Server) webhookRoutes() {
	a, auth := s.app, s.clientAuth
	a.Post(pathWebhooks, auth, s.createWebhook)
	a.Get(pathWebhooks, auth, s.listWebhooks)
	a.Get(pathWebhook, auth, s.getWebhook)
	a.Patch(pathWebhook, auth, s.updateWebhook)
	a.Delete(pathWebhook, auth, s.deleteWebhook)
	a.Get(pathWebhookDeliveries, auth, s.listDeliveries)
	// Pings and redeliveries make the server post on demand: limited per
	// client, so that no one turns it into a traffic source.
	onDemand := s.limit(s.opts.Rules.WebhookTest, func(c *fiber.Ctx) string { return callerOf(c).Client.ID })
	a.Post(pathWebhookRedeliver, auth, onDemand, s.redeliver)
	a.Post(pathWebhookPing, auth, onDemand, s.pingWebhook)
}

// subscriptionJSON is a subscription as the API shows it. The signing
// secret appears only in the answer that generated it. The integration
// guide shows only the creation request, not this object, so disabledAt
// is ours to add: absent while enabled, and for one disabled before the
// time was recorded.
type subscriptionJSON struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    string   `json:"description"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabledReason,omitempty"`
	DisabledAt     string   `json:"disabledAt,omitempty"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
	Secret         string   `json:"secret,omitempty"`
}

func subscriptionView(sub domain.Subscription) subscriptionJSON {
	events := sub.Events
	if events == nil {
		events = []string{}
	}
	out := subscriptionJSON{
		ID: sub.ID, URL: sub.URL, Events: events, Description: sub.Description, Enabled: !sub.Disabled,
		DisabledReason: sub.DisabledReason, CreatedAt: jsTime(sub.CreatedAt), UpdatedAt: jsTime(sub.UpdatedAt),
	}
	if !sub.DisabledAt.IsZero() {
		out.DisabledAt = jsTime(sub.DisabledAt)
	}
	return out
}

// deliveryJSON is a delivery with its attempts. Attempts is absent where
// they were not loaded (a redelivery's answer), and [] when there are none.
type deliveryJSON struct {
	ID            string         `json:"id"`
	EventID       string         `json:"eventId"`
	Event         string         `json:"event"`
	State         string         `json:"state"`
	AttemptCount  int            `json:"attemptCount"`
	NextAttemptAt string         `json:"nextAttemptAt,omitempty"`
	CreatedAt     string         `json:"createdAt"`
	CompletedAt   string         `json:"completedAt,omitempty"`
	Attempts      *[]attemptJSON `json:"attempts,omitempty"`
}

type attemptJSON struct {
	Number     int    `json:"number"`
	At         string `json:"at"`
	StatusCode int    `json:"statusCode"`
	LatencyMs  int64  `json:"latencyMs"`
	Error      string `json:"error,omitempty"`
	// Response is the start of the endpoint's answer, as text (bytes that
	// are not UTF-8 show as U+FFFD).
	Response string `json:"response"`
}

func deliveryView(d domain.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, EventID: d.EventID, Event: d.EventType, State: string(d.State), AttemptCount: d.Attempts,
		CreatedAt: jsTime(d.CreatedAt),
	}
	if d.State == domain.DeliveryPending && !d.NextAttemptAt.IsZero() {
		out.NextAttemptAt = jsTime(d.NextAttemptAt)
	}
	if !d.CompletedAt.IsZero() {
		out.CompletedAt = jsTime(d.CompletedAt)
	}
	return out
}

func deliveryRecordView(r domain.DeliveryRecord) deliveryJSON {
	out := deliveryView(r.Delivery)
	attempts := make([]attemptJSON, 0, len(r.Attempts))
	for _, a := range r.Attempts {
		resp := a.Response[:min(len(a.Response), domain.MaxAttemptResponse)]
		attempts = append(attempts, attemptJSON{
			Number: a.Number, At: jsTime(a.At), StatusCode: a.StatusCode, LatencyMs: a.Latency.Milliseconds(),
			Error: a.Error, Response: string(resp),
		})
	}
	out.Attempts = &attempts
	return out
}

// webhookBody creates (POST) or changes (PATCH) a subscription; absent
// fields stay as they are. Enabled on creation is refused by the service
// with a message that says why.
type webhookBody struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Secret      *string   `json:"secret"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

func (b webhookBody) input() webhooks.Input {
	return webhooks.Input{URL: b.URL, Events: b.Events, Secret: b.Secret, Description: b.Description, Enabled: b.Enabled}
}

// createWebhook is POST /api/v1/admin/webhooks: 201 with the subscription,
// and its secret when the server generated one (shown this once).
func (s *Server) createWebhook(c *fiber.Ctx) error {
	var b webhookBody
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	sub, generated, err := s.hooks.Create(c.UserContext(), callerOf(c), b.input())
	v := subscriptionView(sub)
	v.Secret = generated
	return s.reply(c, fiber.StatusCreated, v, err)
}

func (s *Server) listWebhooks(c *fiber.Ctx) error {
	subs, err := s.hooks.List(c.UserContext(), callerOf(c))
	out := struct {
		Webhooks []subscriptionJSON `json:"webhooks"`
	}{Webhooks: make([]subscriptionJSON, 0, len(subs))}
	for _, sub := range subs {
		out.Webhooks = append(out.Webhooks, subscriptionView(sub))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) getWebhook(c *fiber.Ctx) error {
	sub, err := s.hooks.Get(c.UserContext(), callerOf(c), c.Params("id"))
	return s.reply(c, fiber.StatusOK, subscriptionView(sub), err)
}

func (s *Server) updateWebhook(c *fiber.Ctx) error {
	var b webhookBody
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	sub, err := s.hooks.Update(c.UserContext(), callerOf(c), c.Params("id"), b.input())
	return s.reply(c, fiber.StatusOK, subscriptionView(sub), err)
}

func (s *Server) deleteWebhook(c *fiber.Ctx) error {
	return s.reply(c, fiber.StatusNoContent, nil, s.hooks.Delete(c.UserContext(), callerOf(c), c.Params("id")))
}

// listDeliveries is GET .../deliveries?limit=&cursor=, newest first.
func (s *Server) listDeliveries(c *fiber.Ctx) error {
	cursor, limit, err := pageQuery(c)
	if err != nil {
		return s.restError(c, err)
	}
	recs, next, err := s.hooks.Deliveries(c.UserContext(), callerOf(c), c.Params("id"), cursor, limit)
	out := struct {
		Deliveries []deliveryJSON `json:"deliveries"`
		NextCursor string         `json:"nextCursor,omitempty"`
	}{Deliveries: make([]deliveryJSON, 0, len(recs)), NextCursor: next}
	for _, r := range recs {
		out.Deliveries = append(out.Deliveries, deliveryRecordView(r))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

// redeliver is POST .../deliveries/:deliveryId/redeliver: 202, the delivery
// pending again under the same id.
func (s *Server) redeliver(c *fiber.Ctx) error {
	d, err := s.hooks.Redeliver(c.UserContext(), callerOf(c), c.Params("id"), c.Params("deliveryId"))
	return s.reply(c, fiber.StatusAccepted, deliveryView(d), err)
}

// pingWebhook is POST .../ping: 202, a webhook.ping delivery queued.
func (s *Server) pingWebhook(c *fiber.Ctx) error {
	d, err := s.hooks.Ping(c.UserContext(), callerOf(c), c.Params("id"))
	return s.reply(c, fiber.StatusAccepted, deliveryRecordView(domain.DeliveryRecord{Delivery: d}), err)
}
