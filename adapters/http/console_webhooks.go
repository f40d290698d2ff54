package http

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// An app's webhooks in the console: its subscriptions, each one's delivery
// log with every attempt, and the webhook API's ping, redeliver and
// re-enable (PATCH enabled: true). Platform administrators only, for the
// reason core/console/webhooks.go gives: an app's log carries the events
// of every school granted to it, so a school's owner may not read it.
// Everyone else gets the console's 403 page, whether the app exists or
// not.
const (
	pathConsoleAppWebhooks = "/console/apps/:clientId/webhooks"
	pathConsoleAppWebhook  = pathConsoleAppWebhooks + "/:subId"
)

// consoleRoutesWebhook registers the console's webhooks pages.
func (s *Server) consoleRoutesWebhook() {
	a := s.app
	a.Get(pathConsoleAppWebhooks, s.consolePage(s.consoleWebhooks))
	a.Get(pathConsoleAppWebhook, s.consolePage(s.consoleWebhook))
	a.Post(pathConsoleAppWebhook+"/ping", s.consolePage(s.consolePingWebhook))
	a.Post(pathConsoleAppWebhook+"/reenable", s.consolePage(s.consoleReenableWebhook))
	a.Post(pathConsoleAppWebhook+"/deliveries/:deliveryId/redeliver", s.consolePage(s.consoleRedeliverWebhook))
}

// consoleWebhookView is the data of the "console_webhook" page: an app's
// subscriptions, or (Sub set) one subscription with its delivery log.
type consoleWebhookView struct {
	CSRFToken string
	Viewer    *console.Viewer
	App       domain.Client
	// AppPath is the app's console page; Base its webhooks page.
	AppPath, Base string
	Subs          []webhookSubView
	Sub           *webhookSubView
	Deliveries    []webhookDeliveryView
	Next          string // the log's next page, "" on the last
	Notice        string
}

type webhookSubView struct {
	ID, URL, Description, Path string
	Events                     []string
	Enabled                    bool
	// DisabledAt is when it was disabled, "" while enabled or when
	// unknown (disabled before the time was recorded).
	DisabledAt, DisabledReason string
	// Failures is the subscription's failure streak; Reenable offers the
	// one action for a subscription that failures disabled.
	Failures int
	Reenable bool
	// LastAttempt is the newest attempt in the log's first page, on the
	// subscription's own page, for one disabled at an unknown time: a
	// disabled subscription is attempted no more, so for one that failures
	// disabled it is about when.
	LastAttempt string
	// CSRFToken is the forms'; Detail is set on the subscription's page.
	CSRFToken string
	Detail    bool
}

type webhookDeliveryView struct {
	ID, Event, State, Created, NextAttempt, Completed string
	Attempts                                          []webhookAttemptView
	RedeliverPath                                     string
}

type webhookAttemptView struct {
	Number                     int
	At, Status, Latency, Error string
}

// consoleWebhookNotices are what a page says after an action sent the
// browser back to it.
var consoleWebhookNotices = map[string]string{
	"pinged":      "A webhook.ping is on its way. Reload to see its attempt.",
	"redelivered": "The delivery is on its way again, under the same delivery id. Reload to see its attempt.",
	"reenabled":   "The subscription is enabled again, and its failure streak is cleared.",
}

func consoleTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// consoleLatency shows a post's latency in milliseconds, with a tenth for
// the quick ones (a receiver on the same network answers in under one).
func consoleLatency(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func consoleWebhooksPath(clientID string) string {
	return "/console/apps/" + url.PathEscape(clientID) + "/webhooks"
}

func consoleWebhookPath(clientID, subID string) string {
	return consoleWebhooksPath(clientID) + "/" + url.PathEscape(subID)
}

func webhookSub(clientID, csrf string, sub domain.Subscription) webhookSubView {
	return webhookSubView{CSRFToken: csrf,
		ID: sub.ID, URL: sub.URL, Description: sub.Description, Path: consoleWebhookPath(clientID, sub.ID),
		Events: sub.Events, Enabled: !sub.Disabled, DisabledAt: consoleTime(sub.DisabledAt), DisabledReason: sub.DisabledReason,
		Failures: sub.ConsecutiveFailures, Reenable: sub.DisabledByFailures(),
	}
}

func webhookDelivery(subPath string, r domain.DeliveryRecord) webhookDeliveryView {
	d := r.Delivery
	out := webhookDeliveryView{
		ID: d.ID, Event: d.EventType, State: string(d.State), Created: consoleTime(d.CreatedAt), Completed: consoleTime(d.CompletedAt),
		RedeliverPath: subPath + "/deliveries/" + url.PathEscape(d.ID) + "/redeliver",
	}
	if d.State == domain.DeliveryPending {
		out.NextAttempt = consoleTime(d.NextAttemptAt)
	}
	for _, a := range r.Attempts {
		status := "no response"
		if a.StatusCode != 0 {
			status = fmt.Sprint(a.StatusCode)
		}
		out.Attempts = append(out.Attempts, webhookAttemptView{
			Number: a.Number, At: consoleTime(a.At), Status: status, Latency: consoleLatency(a.Latency), Error: a.Error,
		})
	}
	return out
}

// consoleWebhooks lists an app's subscriptions.
func (s *Server) consoleWebhooks(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	app, subs, err := s.console.Webhooks(c.UserContext(), v, c.Params("clientId"))
	if err != nil {
		return s.consoleError(c, err)
	}
	view := s.consoleWebhookBase(c, v, csrf, app)
	for _, sub := range subs {
		view.Subs = append(view.Subs, webhookSub(app.ID, csrf, sub))
	}
	return s.renderPage(c, "console_webhook", view)
}

func (s *Server) consoleWebhookBase(c *fiber.Ctx, v *console.Viewer, csrf string, app domain.Client) consoleWebhookView {
	return consoleWebhookView{
		CSRFToken: csrf, Viewer: v, App: app, AppPath: "/console/apps/" + url.PathEscape(app.ID),
		Base: consoleWebhooksPath(app.ID), Notice: consoleWebhookNotices[c.Query("done")],
	}
}

// consoleWebhook shows one subscription and a page of its delivery log.
func (s *Server) consoleWebhook(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	cursor := c.Query("cursor")
	l, err := s.console.Webhook(c.UserContext(), v, c.Params("clientId"), c.Params("subId"), cursor)
	if err != nil {
		return s.consoleError(c, err)
	}
	view := s.consoleWebhookBase(c, v, csrf, l.App)
	sv := webhookSub(l.App.ID, csrf, l.Sub)
	sv.Detail = true
	var last time.Time
	for _, r := range l.Deliveries {
		view.Deliveries = append(view.Deliveries, webhookDelivery(sv.Path, r))
		for _, a := range r.Attempts {
			if a.At.After(last) {
				last = a.At
			}
		}
	}
	if cursor == "" && sv.DisabledAt == "" {
		sv.LastAttempt = consoleTime(last)
	}
	view.Sub = &sv
	if l.Next != "" {
		view.Next = sv.Path + "?cursor=" + url.QueryEscape(l.Next)
	}
	return s.renderPage(c, "console_webhook", view)
}

// consoleOnDemand counts a ping or a redelivery against the app's
// WebhookTest limit, which the webhook API's own pings and redeliveries
// count against too: they make the server post on demand, to the app's
// receivers. It answers the 429 page and reports false when the app has
// used its share.
func (s *Server) consoleOnDemand(c *fiber.Ctx, v *console.Viewer) (bool, error) {
	// The app is looked up first, so only its administrators spend its
	// share, and an app that does not exist is the 403 page.
	app, err := s.console.WebhookApp(c.UserContext(), v, c.Params("clientId"))
	if err != nil {
		return false, s.consoleError(c, err)
	}
	rule := s.opts.Rules.WebhookTest
	if !s.opts.RateLimitsEnabled || !rule.Enabled() {
		return true, nil
	}
	d, err := ratelimit.Allow(c.UserContext(), s.limiter, app.ID, rule, s.clock.Now())
	if err != nil {
		return false, s.pageError(c, err)
	}
	rateHeaders(c, d)
	if !d.Allowed {
		return false, s.pageError(c, &oidc.Error{
			Code: oidc.CodeRateLimited, RateLimit: &d,
			Description: "This app's pings and redeliveries are used up for now. Try again in a minute.",
		})
	}
	return true, nil
}

func (s *Server) consolePingWebhook(c *fiber.Ctx, v *console.Viewer, _ string) error {
	if ok, err := s.consoleOnDemand(c, v); !ok {
		return err
	}
	id, subID := c.Params("clientId"), c.Params("subId")
	d, err := s.console.PingWebhook(c.UserContext(), v, id, subID)
	if err != nil {
		return s.consoleError(c, err)
	}
	s.consoleWebhookLog("console: webhook pinged", v, id, subID, d.ID)
	return s.seeOther(c, consoleWebhookPath(id, subID)+"?done=pinged")
}

// consoleRedeliverWebhook sends a delivery again. One being posted right
// now is the 409 page, with the webhooks' own words.
func (s *Server) consoleRedeliverWebhook(c *fiber.Ctx, v *console.Viewer, _ string) error {
	if ok, err := s.consoleOnDemand(c, v); !ok {
		return err
	}
	id, subID := c.Params("clientId"), c.Params("subId")
	d, err := s.console.RedeliverWebhook(c.UserContext(), v, id, subID, c.Params("deliveryId"))
	if err != nil {
		return s.consoleError(c, err)
	}
	s.consoleWebhookLog("console: webhook redelivered", v, id, subID, d.ID)
	return s.seeOther(c, consoleWebhookPath(id, subID)+"?done=redelivered")
}

// consoleReenableWebhook enables a subscription that failures disabled.
func (s *Server) consoleReenableWebhook(c *fiber.Ctx, v *console.Viewer, _ string) error {
	id, subID := c.Params("clientId"), c.Params("subId")
	if _, err := s.console.ReenableWebhook(c.UserContext(), v, id, subID); err != nil {
		return s.consoleError(c, err)
	}
	s.consoleWebhookLog("console: webhook re-enabled", v, id, subID, "")
	return s.seeOther(c, consoleWebhooksPath(id)+"?done=reenabled")
}

// consoleWebhookLog names the acting account: webhook changes emit no
// directory event, so the log is where an operator's act is kept.
func (s *Server) consoleWebhookLog(msg string, v *console.Viewer, clientID, subID, deliveryID string) {
	attrs := []any{slog.String("user_id", v.User.ID), slog.String("client_id", clientID), slog.String("subscription_id", subID)}
	if deliveryID != "" {
		attrs = append(attrs, slog.String("delivery_id", deliveryID))
	}
	s.log.Info(msg, attrs...)
}
