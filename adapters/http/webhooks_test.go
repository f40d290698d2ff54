package http

import (
	"context"
	"encoding/json"
	"errors"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
	"github.com/calimatic/calimatic-auth/ports"
)

// webhookStore is just enough of the two webhook stores for the API: the
// worker's methods are not reached from HTTP.
type webhookStore struct {
	mu         sync.Mutex
	subs       map[string]domain.Subscription
	deliveries []domain.DeliveryRecord
}

var (
	_ ports.SubscriptionStore = (*webhookStore)(nil)
	_ ports.DeliveryStore     = (*webhookStore)(nil)
)

var errNotForTheAPI = errors.New("not used by the API")

func (w *webhookStore) CreateSubscription(_ context.Context, s domain.Subscription) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.subs[s.ID]; ok {
		return domain.ErrAlreadyExists
	}
	w.subs[s.ID] = s
	return nil
}

func (w *webhookStore) GetSubscription(_ context.Context, id string) (domain.Subscription, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.subs[id]
	if !ok {
		return domain.Subscription{}, domain.ErrNotFound
	}
	return s, nil
}

func (w *webhookStore) UpdateSubscription(_ context.Context, id string, fn func(*domain.Subscription) error) (domain.Subscription, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.subs[id]
	if !ok {
		return domain.Subscription{}, domain.ErrNotFound
	}
	if err := fn(&s); err != nil {
		return domain.Subscription{}, err
	}
	w.subs[id] = s
	return s, nil
}

func (w *webhookStore) DeleteSubscription(_ context.Context, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.subs[id]; !ok {
		return domain.ErrNotFound
	}
	delete(w.subs, id)
	w.deliveries = slices.DeleteFunc(w.deliveries, func(r domain.DeliveryRecord) bool { return r.Delivery.SubscriptionID == id })
	return nil
}

func (w *webhookStore) ListSubscriptions(_ context.Context, clientID string) ([]domain.Subscription, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.Subscription
	for _, s := range w.subs {
		if s.ClientID == clientID {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b domain.Subscription) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (w *webhookStore) ListActiveSubscriptions(context.Context, string) ([]domain.Subscription, error) {
	return nil, errNotForTheAPI
}

func (w *webhookStore) DispatchEvents(context.Context, int, func([]domain.Event) ([]domain.Delivery, error)) (int, error) {
	return 0, errNotForTheAPI
}

func (w *webhookStore) CreateDelivery(_ context.Context, d domain.Delivery) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.subs[d.SubscriptionID]; !ok {
		return domain.ErrNotFound
	}
	w.deliveries = append(w.deliveries, domain.DeliveryRecord{Delivery: d})
	return nil
}

func (w *webhookStore) ClaimDeliveries(context.Context, time.Time, time.Time, int) ([]domain.Claim, error) {
	return nil, errNotForTheAPI
}

func (w *webhookStore) RecordAttempt(context.Context, domain.Attempt, domain.AttemptOutcome) (domain.Subscription, error) {
	return domain.Subscription{}, errNotForTheAPI
}

func (w *webhookStore) GetDelivery(_ context.Context, id string) (domain.DeliveryRecord, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.deliveries {
		if r.Delivery.ID == id {
			return r, nil
		}
	}
	return domain.DeliveryRecord{}, domain.ErrNotFound
}

func (w *webhookStore) ListDeliveries(_ context.Context, subID string, before domain.DeliveryCursor, limit int) ([]domain.DeliveryRecord, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []domain.DeliveryRecord
	for _, r := range w.deliveries {
		d := r.Delivery
		older := before.ID == "" || d.CreatedAt.Before(before.CreatedAt) || d.CreatedAt.Equal(before.CreatedAt) && d.ID < before.ID
		if d.SubscriptionID == subID && older {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b domain.DeliveryRecord) int {
		if c := b.Delivery.CreatedAt.Compare(a.Delivery.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Delivery.ID, a.Delivery.ID)
	})
	return out[:min(len(out), limit)], nil
}

func (w *webhookStore) Redeliver(_ context.Context, id string, now time.Time) (domain.Delivery, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, r := range w.deliveries {
		if r.Delivery.ID == id {
			d := &w.deliveries[i].Delivery
			d.State, d.NextAttemptAt, d.LeaseUntil, d.CompletedAt = domain.DeliveryPending, now, time.Time{}, time.Time{}
			return *d, nil
		}
	}
	return domain.Delivery{}, domain.ErrNotFound
}

// newWebhookServer is the test server with the webhook API mounted over a
// webhookStore.
func newWebhookServer(t *testing.T) (*Server, *webhookStore) {
	t.Helper()
	s := newTestServer(t)
	store := &webhookStore{subs: map[string]domain.Subscription{}}
	s.hooks = webhooks.New(webhooks.Config{}, webhooks.Deps{
		Subscriptions: store, Deliveries: store, Clock: system.NewClock(), Random: system.NewRandom(),
	})
	require.NoError(t, s.rebuild())
	return s, store
}

func decodeInto(t *testing.T, body string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(body), v), body)
}

// jsTimePattern matches jsTime's format.
const jsTimePattern = `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`

func TestWebhookSubscriptionLifecycle(t *testing.T) {
	s, _ := newWebhookServer(t)

	resp, body := do(t, s, clientRequest("POST", pathWebhooks, `{
		"url": "https://myapp.example/webhooks/calimatic",
		"events": ["user.updated", "user.created", "user.created"],
		"secret": "whsec_your_webhook_secret_here",
		"description": "Sync user changes to MyApp"
	}`))
	require.Equal(t, 201, resp.StatusCode, body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var created map[string]any
	decodeInto(t, body, &created)
	assert.NotContains(t, created, "secret", "a secret the client chose is never echoed")
	assert.NotContains(t, body, "whsec_your_webhook_secret_here")
	assert.NotContains(t, created, "disabledReason")
	assert.NotContains(t, created, "disabledAt", "enabled, it has no time")
	assert.Equal(t, "https://myapp.example/webhooks/calimatic", created["url"])
	assert.Equal(t, []any{"user.created", "user.updated"}, created["events"])
	assert.Equal(t, "Sync user changes to MyApp", created["description"])
	assert.Equal(t, true, created["enabled"])
	assert.Regexp(t, jsTimePattern, created["createdAt"])
	assert.Regexp(t, jsTimePattern, created["updatedAt"])
	id := created["id"].(string)

	resp, body = do(t, s, clientRequest("POST", pathWebhooks, `{"url": "https://b.example/hook", "events": ["license.assigned"]}`))
	require.Equal(t, 201, resp.StatusCode, body)
	var generated subscriptionJSON
	decodeInto(t, body, &generated)
	assert.True(t, strings.HasPrefix(generated.Secret, domain.WebhookSecretPrefix), "a generated secret is shown once: %q", generated.Secret)

	resp, body = do(t, s, clientRequest("GET", pathWebhooks, ""))
	require.Equal(t, 200, resp.StatusCode, body)
	var list struct{ Webhooks []map[string]any }
	decodeInto(t, body, &list)
	require.Len(t, list.Webhooks, 2)
	assert.Equal(t, id, list.Webhooks[0]["id"])
	assert.NotContains(t, body, `"secret"`, "listing never shows secrets")

	resp, body = do(t, s, clientRequest("GET", "/api/v1/admin/webhooks/"+generated.ID, ""))
	require.Equal(t, 200, resp.StatusCode, body)
	assert.NotContains(t, body, `"secret"`)

	resp, body = do(t, s, clientRequest("PATCH", "/api/v1/admin/webhooks/"+id, `{"enabled": false, "secret": "a-new-secret-of-enough-length"}`))
	require.Equal(t, 200, resp.StatusCode, body)
	var patched map[string]any
	decodeInto(t, body, &patched)
	assert.Equal(t, false, patched["enabled"])
	assert.Equal(t, "disabled by its owner", patched["disabledReason"])
	assert.Equal(t, patched["updatedAt"], patched["disabledAt"], "disabled by this very update")
	assert.NotContains(t, body, "a-new-secret")

	resp, body = do(t, s, clientRequest("DELETE", "/api/v1/admin/webhooks/"+id, ""))
	assert.Equal(t, 204, resp.StatusCode, body)
	assert.Empty(t, body)
	resp, body = do(t, s, clientRequest("GET", "/api/v1/admin/webhooks/"+id, ""))
	assert.Equal(t, 404, resp.StatusCode, body)
	assert.Contains(t, body, `"error":"subscription_not_found"`)
}

func TestWebhookAPIAuthenticatesTheClientNotAnAdmin(t *testing.T) {
	s, _ := newWebhookServer(t)
	adminOnly := httptest.NewRequest("GET", pathWebhooks, nil)
	adminOnly.Header.Set("Authorization", "Bearer "+testAdminKey)
	wrongSecret := clientRequest("GET", pathWebhooks, "")
	wrongSecret.Header.Set("x-client-secret", "ccas_wrong")
	for _, tc := range []struct {
		name   string
		req    *nethttp.Request
		status int
	}{
		{"an admin key alone does not open the webhook API", adminOnly, 401},
		{"a wrong client secret is refused", wrongSecret, 401},
		{"client headers open the webhook API without an admin key", clientRequest("GET", pathWebhooks, ""), 200},
		{"client headers still do not open the admin API", clientRequest("GET", pathAdminOrgs, ""), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, tc.req)
			assert.Equal(t, tc.status, resp.StatusCode, body)
		})
	}
}

func TestWebhookAPIHidesOtherClientsSubscriptions(t *testing.T) {
	s, store := newWebhookServer(t)
	now := time.Now()
	store.subs["whs_other"] = domain.Subscription{
		ID: "whs_other", ClientID: "cca_other", URL: "https://other.example/hook", Events: []string{domain.EventUserCreated},
		Secret: "whsec_other", CreatedAt: now, UpdatedAt: now,
	}
	store.deliveries = append(store.deliveries, domain.DeliveryRecord{Delivery: domain.Delivery{
		ID: "dlv_other", SubscriptionID: "whs_other", State: domain.DeliveryFailed, CreatedAt: now,
	}})
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/admin/webhooks/whs_other", ""},
		{"PATCH", "/api/v1/admin/webhooks/whs_other", `{"description": "mine now"}`},
		{"DELETE", "/api/v1/admin/webhooks/whs_other", ""},
		{"GET", "/api/v1/admin/webhooks/whs_other/deliveries", ""},
		{"POST", "/api/v1/admin/webhooks/whs_other/deliveries/dlv_other/redeliver", ""},
		{"POST", "/api/v1/admin/webhooks/whs_other/ping", ""},
	} {
		t.Run(tc.method+" "+tc.path+" is not found", func(t *testing.T) {
			resp, body := do(t, s, clientRequest(tc.method, tc.path, tc.body))
			assert.Equal(t, 404, resp.StatusCode, body)
			assert.Contains(t, body, `"error":"subscription_not_found"`)
		})
	}
	got, err := store.GetSubscription(context.Background(), "whs_other")
	require.NoError(t, err)
	assert.Empty(t, got.Description, "nothing changed")
	assert.Len(t, store.deliveries, 1, "nothing was queued")
}

func TestWebhookDeliveriesShowTheirAttempts(t *testing.T) {
	s, store := newWebhookServer(t)
	resp, body := do(t, s, clientRequest("POST", pathWebhooks, `{"url": "https://a.example/hook", "events": ["user.created"]}`))
	require.Equal(t, 201, resp.StatusCode, body)
	var sub subscriptionJSON
	decodeInto(t, body, &sub)

	t0 := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	store.deliveries = append(store.deliveries,
		domain.DeliveryRecord{Delivery: domain.Delivery{
			ID: "dlv_old", SubscriptionID: sub.ID, EventID: "evt_1", EventType: domain.EventUserCreated,
			State: domain.DeliveryDelivered, Attempts: 1, CreatedAt: t0, CompletedAt: t0.Add(time.Second),
			NextAttemptAt: t0,
		}, Attempts: []domain.Attempt{{DeliveryID: "dlv_old", Number: 1, At: t0.Add(time.Second), StatusCode: 200, Latency: 42 * time.Millisecond, Response: []byte("ok")}}},
		domain.DeliveryRecord{Delivery: domain.Delivery{
			ID: "dlv_new", SubscriptionID: sub.ID, EventID: "evt_2", EventType: domain.EventUserCreated,
			State: domain.DeliveryPending, Attempts: 1, CreatedAt: t0.Add(time.Minute), NextAttemptAt: t0.Add(2 * time.Minute),
		}, Attempts: []domain.Attempt{{
			DeliveryID: "dlv_new", Number: 1, At: t0.Add(time.Minute), StatusCode: 503, Latency: 1500 * time.Millisecond,
			Error: "the endpoint answered 503", Response: []byte(strings.Repeat("x", 2000)),
		}}},
	)

	resp, body = do(t, s, clientRequest("GET", "/api/v1/admin/webhooks/"+sub.ID+"/deliveries?limit=1", ""))
	require.Equal(t, 200, resp.StatusCode, body)
	var page struct {
		Deliveries []map[string]any
		NextCursor string
	}
	decodeInto(t, body, &page)
	require.Len(t, page.Deliveries, 1)
	require.NotEmpty(t, page.NextCursor, "a second page waits")
	newest := page.Deliveries[0]
	assert.Equal(t, map[string]any{
		"id": "dlv_new", "eventId": "evt_2", "event": "user.created", "state": "pending", "attemptCount": float64(1),
		"nextAttemptAt": "2025-01-15T10:32:00.000Z", "createdAt": "2025-01-15T10:31:00.000Z",
		"attempts": []any{map[string]any{
			"number": float64(1), "at": "2025-01-15T10:31:00.000Z", "statusCode": float64(503), "latencyMs": float64(1500),
			"error": "the endpoint answered 503", "response": strings.Repeat("x", domain.MaxAttemptResponse),
		}},
	}, newest)

	resp, body = do(t, s, clientRequest("GET", "/api/v1/admin/webhooks/"+sub.ID+"/deliveries?limit=1&cursor="+page.NextCursor, ""))
	require.Equal(t, 200, resp.StatusCode, body)
	var second struct {
		Deliveries []map[string]any
		NextCursor *string
	}
	decodeInto(t, body, &second)
	require.Len(t, second.Deliveries, 1)
	assert.Nil(t, second.NextCursor, "the last page has no cursor")
	oldest := second.Deliveries[0]
	assert.Equal(t, "dlv_old", oldest["id"])
	assert.Equal(t, "2025-01-15T10:30:01.000Z", oldest["completedAt"])
	assert.NotContains(t, oldest, "nextAttemptAt", "only a pending delivery has a next attempt")
	assert.NotContains(t, oldest["attempts"].([]any)[0], "error")

	resp, body = do(t, s, clientRequest("POST", "/api/v1/admin/webhooks/"+sub.ID+"/deliveries/dlv_old/redeliver", ""))
	require.Equal(t, 202, resp.StatusCode, body)
	var redelivered map[string]any
	decodeInto(t, body, &redelivered)
	assert.Equal(t, "dlv_old", redelivered["id"], "a redelivery keeps its id")
	assert.Equal(t, "pending", redelivered["state"])
	assert.Contains(t, redelivered, "nextAttemptAt")
	assert.NotContains(t, redelivered, "completedAt")

	resp, body = do(t, s, clientRequest("POST", "/api/v1/admin/webhooks/"+sub.ID+"/deliveries/dlv_nope/redeliver", ""))
	assert.Equal(t, 404, resp.StatusCode, body)
	assert.Contains(t, body, `"error":"delivery_not_found"`)
}

func TestWebhookPingQueuesADelivery(t *testing.T) {
	s, store := newWebhookServer(t)
	resp, body := do(t, s, clientRequest("POST", pathWebhooks, `{"url": "https://a.example/hook", "events": ["user.deleted"]}`))
	require.Equal(t, 201, resp.StatusCode, body)
	var sub subscriptionJSON
	decodeInto(t, body, &sub)

	resp, body = do(t, s, clientRequest("POST", "/api/v1/admin/webhooks/"+sub.ID+"/ping", ""))
	require.Equal(t, 202, resp.StatusCode, body)
	var d map[string]any
	decodeInto(t, body, &d)
	assert.Equal(t, domain.EventPing, d["event"])
	assert.Equal(t, "pending", d["state"])
	assert.Equal(t, float64(0), d["attemptCount"])
	assert.Equal(t, []any{}, d["attempts"])
	require.Len(t, store.deliveries, 1)
	assert.Equal(t, d["id"], store.deliveries[0].Delivery.ID)
}

func TestWebhookAPIRefusesBadInput(t *testing.T) {
	s, _ := newWebhookServer(t)
	textPlain := clientRequest("POST", pathWebhooks, `{}`)
	textPlain.Header.Set("Content-Type", "text/plain")
	for _, tc := range []struct {
		name   string
		req    *nethttp.Request
		status int
		code   string
	}{
		{"an unknown field is refused", clientRequest("POST", pathWebhooks, `{"url":"https://a.example","events":["user.created"],"secrets":"x"}`), 400, "unknown_field"},
		{"a missing url is refused", clientRequest("POST", pathWebhooks, `{"events":["user.created"]}`), 400, "invalid_request"},
		{"a relative url is refused", clientRequest("POST", pathWebhooks, `{"url":"/hook","events":["user.created"]}`), 400, "invalid_url"},
		{"an unknown event is refused", clientRequest("POST", pathWebhooks, `{"url":"https://a.example","events":["user.exploded"]}`), 400, "invalid_events"},
		{"events of the wrong type are refused", clientRequest("POST", pathWebhooks, `{"url":"https://a.example","events":"user.created"}`), 400, "invalid_request"},
		{"enabled on creation is refused", clientRequest("POST", pathWebhooks, `{"url":"https://a.example","events":["user.created"],"enabled":true}`), 400, "invalid_request"},
		{"a short secret is refused", clientRequest("POST", pathWebhooks, `{"url":"https://a.example","events":["user.created"],"secret":"short"}`), 400, "invalid_secret"},
		{"a body that is not JSON is refused", textPlain, 415, "unsupported_media_type"},
		{"a limit that is not a number is refused", clientRequest("GET", "/api/v1/admin/webhooks/whs_x/deliveries?limit=ten", ""), 400, "invalid_request"},
		{"an unknown subscription is not found", clientRequest("GET", "/api/v1/admin/webhooks/whs_nope", ""), 404, "subscription_not_found"},
		{"a wrong method is refused", clientRequest("PUT", pathWebhooks, `{}`), 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, tc.req)
			assert.Equal(t, tc.status, resp.StatusCode, body)
			assert.Contains(t, body, `"error":"`+tc.code+`"`)
		})
	}
}
