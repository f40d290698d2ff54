package webhookflow

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var subscriptionChecks = []check{
	{"a subscription created without a secret answers 201 with a generated whsec_ secret, shown only that once", subCreateGenerated},
	{"a subscription created with its own secret never shows it", subCreateOwnSecret},
	{"a subscription is listed, read, changed, disabled, enabled and deleted", subLifecycle},
	{"another client's subscription is not found, whatever is asked of it", subOtherClient},
	{"invalid subscriptions are refused with a 4xx naming the reason, and nothing is created", subInvalid},
	{"calls without valid client credentials are refused with 401", subUnauthenticated},
}

// allEvents are the guide's twelve event types.
var allEvents = []string{
	"user.created", "user.updated", "user.deleted", "user.suspended", "user.reactivated",
	"user.deactivated", "user.password_reset", "user.invited", "organization.created",
	"organization.updated", "license.assigned", "license.revoked",
}

// exampleURL is a receiver URL that nothing listens on; subscriptions of
// the API checks get no events, as their clients have no grants.
const exampleURL = "http://127.0.0.1:9/webhooks/calimatic"

// requireError checks a REST error answer: status, and a JSON
// {"error", "message"} body whose error is code (when set).
func requireError(t *testing.T, r Response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.Status, "status; body %q", r)
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json", "REST errors are JSON")
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "the error body is a JSON object: %q", r)
	if code != "" {
		assert.Equal(t, code, m["error"], "error code; body %q", r)
	}
	assert.NotEmpty(t, m["error"], "the error body has an error code")
	assert.NotEmpty(t, m["message"], "the error body has a message")
}

// subscriptionKeys decodes a subscription's keys, to see which are absent.
func subscriptionKeys(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "body %q", raw)
	return m
}

// list reads c's subscriptions: {"webhooks": [...]}.
func (a *API) list(t *testing.T, c *Client) (Response, []Subscription) {
	t.Helper()
	r := a.call(t, c.header(), http.MethodGet, pathWebhooks, nil)
	require.Equal(t, http.StatusOK, r.Status, "list subscriptions; body %q", r)
	var out struct {
		Webhooks []Subscription `json:"webhooks"`
	}
	r.decode(t, &out)
	require.NotNil(t, out.Webhooks, "the list is {\"webhooks\": [...]}, an empty array when there are none: %q", r)
	return r, out.Webhooks
}

func ids(subs []Subscription) []string {
	out := make([]string, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.ID)
	}
	return out
}

func subCreateGenerated(t *testing.T, a *API) {
	c := a.Register(t)
	r := a.call(t, c.header(), http.MethodPost, pathWebhooks, map[string]any{
		"url":         exampleURL,
		"events":      []string{"user.updated", "user.created", "user.created"},
		"description": "Sync user changes to MyApp",
	})
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	var s Subscription
	r.decode(t, &s)
	require.NotEmpty(t, s.ID)
	assert.Equal(t, exampleURL, s.URL)
	assert.ElementsMatch(t, []string{"user.created", "user.updated"}, s.Events, "the events, each once")
	assert.Equal(t, "Sync user changes to MyApp", s.Description)
	assert.True(t, s.Enabled, "a new subscription is enabled")
	assert.Empty(t, s.DisabledReason)
	assert.NotEmpty(t, s.CreatedAt)
	assert.NotEmpty(t, s.UpdatedAt)
	require.True(t, strings.HasPrefix(s.Secret, "whsec_"), "generated secret %q starts with whsec_", s.Secret)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Secret, "whsec_"))
	require.NoError(t, err, "a whsec_ secret is base64 after the prefix (Standard Webhooks)")
	assert.GreaterOrEqual(t, len(key), 24, "the key has at least 192 bits")

	got := a.call(t, c.header(), http.MethodGet, webhookPath(s.ID), nil)
	require.Equal(t, http.StatusOK, got.Status, "body %q", got)
	assert.NotContains(t, subscriptionKeys(t, got.Body), "secret", "GET never shows the secret")
	assert.NotContains(t, string(got.Body), strings.TrimPrefix(s.Secret, "whsec_"))
	listed, subs := a.list(t, c)
	assert.Equal(t, []string{s.ID}, ids(subs))
	assert.NotContains(t, string(listed.Body), strings.TrimPrefix(s.Secret, "whsec_"), "the list never shows the secret")
	assert.NotContains(t, string(listed.Body), `"secret"`)
}

func subCreateOwnSecret(t *testing.T, a *API) {
	c := a.Register(t)
	const secret = "whsec_my-own-secret-0123456789"
	r := a.call(t, c.header(), http.MethodPost, pathWebhooks, map[string]any{
		"url": exampleURL, "events": []string{"user.created"}, "secret": secret,
	})
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	assert.NotContains(t, subscriptionKeys(t, r.Body), "secret", "a secret the client chose is not echoed")
	assert.NotContains(t, string(r.Body), "my-own-secret")
	var s Subscription
	r.decode(t, &s)
	got := a.call(t, c.header(), http.MethodGet, webhookPath(s.ID), nil)
	assert.NotContains(t, string(got.Body), "my-own-secret")
}

func subLifecycle(t *testing.T, a *API) {
	c := a.Register(t)
	first := a.Subscribe(t, c, exampleURL, "user.created")
	second := a.Subscribe(t, c, exampleURL+"/2", allEvents...)
	_, subs := a.list(t, c)
	assert.ElementsMatch(t, []string{first.ID, second.ID}, ids(subs))
	assert.ElementsMatch(t, allEvents, a.GetSubscription(t, c, second.ID).Events)

	got := a.GetSubscription(t, c, first.ID)
	assert.Equal(t, first.ID, got.ID)
	assert.Equal(t, exampleURL, got.URL)
	assert.Equal(t, []string{"user.created"}, got.Events)

	patch := func(body any) Subscription {
		t.Helper()
		r := a.call(t, c.header(), http.MethodPatch, webhookPath(first.ID), body)
		require.Equal(t, http.StatusOK, r.Status, "PATCH %v; body %q", body, r)
		var s Subscription
		r.decode(t, &s)
		assert.NotContains(t, subscriptionKeys(t, r.Body), "secret", "PATCH never shows the secret")
		return s
	}
	changed := patch(map[string]any{"url": exampleURL + "/changed", "events": []string{"user.deleted", "license.revoked"}, "description": "changed"})
	assert.Equal(t, exampleURL+"/changed", changed.URL)
	assert.ElementsMatch(t, []string{"user.deleted", "license.revoked"}, changed.Events)
	assert.Equal(t, "changed", changed.Description)
	assert.True(t, changed.Enabled)
	assert.Equal(t, changed, a.GetSubscription(t, c, first.ID), "GET shows what PATCH answered")
	assert.Equal(t, "changed", patch(map[string]any{"secret": "another-secret-0123456789"}).Description,
		"changing the secret leaves the rest")

	disabled := patch(map[string]any{"enabled": false})
	assert.False(t, disabled.Enabled)
	assert.NotEmpty(t, disabled.DisabledReason, "a disabled subscription says why")
	enabled := patch(map[string]any{"enabled": true})
	assert.True(t, enabled.Enabled)
	assert.Empty(t, enabled.DisabledReason)

	r := a.call(t, c.header(), http.MethodDelete, webhookPath(first.ID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "delete; body %q", r)
	requireError(t, a.call(t, c.header(), http.MethodGet, webhookPath(first.ID), nil), http.StatusNotFound, "")
	requireError(t, a.call(t, c.header(), http.MethodDelete, webhookPath(first.ID), nil), http.StatusNotFound, "")
	_, subs = a.list(t, c)
	assert.Equal(t, []string{second.ID}, ids(subs))
}

func subOtherClient(t *testing.T, a *API) {
	owner, other := a.Register(t), a.Register(t)
	s := a.Subscribe(t, owner, exampleURL, "user.created")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, webhookPath(s.ID), nil},
		{http.MethodPatch, webhookPath(s.ID), map[string]any{"description": "mine now"}},
		{http.MethodDelete, webhookPath(s.ID), nil},
		{http.MethodGet, deliveriesPath(s.ID), nil},
		{http.MethodPost, pingPath(s.ID), nil},
		{http.MethodPost, redeliverPath(s.ID, "dlv_0000000000000000"), nil},
	} {
		requireError(t, a.call(t, other.header(), tc.method, tc.path, tc.body), http.StatusNotFound, "")
	}
	_, subs := a.list(t, other)
	assert.Empty(t, subs, "another client's subscription is not listed")
	got := a.GetSubscription(t, owner, s.ID)
	assert.Empty(t, got.Description, "the other client changed nothing")
}

func subInvalid(t *testing.T, a *API) {
	c := a.Register(t)
	existing := a.Subscribe(t, c, exampleURL, "user.created")
	valid := func(change func(m map[string]any)) []byte {
		m := map[string]any{"url": exampleURL, "events": []string{"user.created"}}
		change(m)
		raw, err := json.Marshal(m)
		require.NoError(t, err)
		return raw
	}
	for _, tc := range []struct {
		name        string
		method      string
		body        []byte
		contentType string
		status      int
		code        string
	}{
		{"an unknown event type", http.MethodPost, valid(func(m map[string]any) { m["events"] = []string{"user.created", "user.exploded"} }), "", 400, "invalid_events"},
		{"a malformed URL", http.MethodPost, valid(func(m map[string]any) { m["url"] = "not a url" }), "", 400, "invalid_url"},
		{"a URL with user info", http.MethodPost, valid(func(m map[string]any) { m["url"] = "http://user:pass@127.0.0.1:9/hook" }), "", 400, "invalid_url"},
		{"a URL that is not http", http.MethodPost, valid(func(m map[string]any) { m["url"] = "ftp://127.0.0.1/hook" }), "", 400, "invalid_url"},
		{"no URL", http.MethodPost, valid(func(m map[string]any) { delete(m, "url") }), "", 400, ""},
		{"empty events", http.MethodPost, valid(func(m map[string]any) { m["events"] = []string{} }), "", 400, "invalid_events"},
		{"a short secret", http.MethodPost, valid(func(m map[string]any) { m["secret"] = "short" }), "", 400, "invalid_secret"},
		{"an unknown field", http.MethodPost, valid(func(m map[string]any) { m["colour"] = "red" }), "", 400, "unknown_field"},
		{"events that are not an array", http.MethodPost, valid(func(m map[string]any) { m["events"] = "user.created" }), "", 400, ""},
		{"malformed JSON", http.MethodPost, []byte(`{"url": "http://127.0.0.1:9/", "events": [`), "", 400, ""},
		{"a wrong content type", http.MethodPost, valid(func(map[string]any) {}), "text/plain", http.StatusUnsupportedMediaType, ""},
		{"a change to an unknown event type", http.MethodPatch, []byte(`{"events":["user.exploded"]}`), "", 400, "invalid_events"},
		{"a change to empty events", http.MethodPatch, []byte(`{"events":[]}`), "", 400, "invalid_events"},
		{"a change to a URL with user info", http.MethodPatch, []byte(`{"url":"http://u:p@127.0.0.1:9/"}`), "", 400, "invalid_url"},
		{"a change with an unknown field", http.MethodPatch, []byte(`{"colour":"red"}`), "", 400, "unknown_field"},
		{"a change with a wrong content type", http.MethodPatch, []byte(`{"description":"x"}`), "text/plain", http.StatusUnsupportedMediaType, ""},
		{"a description with a right-to-left override", http.MethodPost, valid(func(m map[string]any) { m["description"] = "Sync \u202etxet" }), "", 400, "invalid_request"},
		{"a change to a description with a zero-width space", http.MethodPatch, []byte(`{"description":"Sync\u200b"}`), "", 400, "invalid_request"},
		{"a change with the same key twice", http.MethodPatch, []byte(`{"description":"a","Description":"b"}`), "", 400, "invalid_json"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			path := pathWebhooks
			if tc.method == http.MethodPatch {
				path = webhookPath(existing.ID)
			}
			r := a.send(t, request{method: tc.method, path: path, header: c.header(), contentType: ct, body: tc.body})
			requireError(t, r, tc.status, tc.code)
		})
	}
	_, subs := a.list(t, c)
	assert.Equal(t, []string{existing.ID}, ids(subs), "no invalid request created a subscription")
	got := a.GetSubscription(t, c, existing.ID)
	assert.Equal(t, existing.URL, got.URL, "no invalid change was applied")
	assert.Equal(t, []string{"user.created"}, got.Events, "no invalid change was applied")
}

func subUnauthenticated(t *testing.T, a *API) {
	c := a.Register(t)
	s := a.Subscribe(t, c, exampleURL, "user.created")
	wrong := &Client{ID: c.ID, Secret: c.Secret + "x"}
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"no credentials", nil},
		{"a wrong secret", wrong.header()},
		{"an unknown client", (&Client{ID: "cca_unknown" + suffix(), Secret: "ccas_nope"}).header()},
		{"only the admin key", a.adminHeader()},
	} {
		t.Run(tc.name+" gets 401", func(t *testing.T) {
			for _, call := range []struct {
				method, path string
				body         any
			}{
				{http.MethodGet, pathWebhooks, nil},
				{http.MethodPost, pathWebhooks, map[string]any{"url": exampleURL, "events": []string{"user.created"}}},
				{http.MethodGet, webhookPath(s.ID), nil},
				{http.MethodPost, pingPath(s.ID), nil},
			} {
				r := a.call(t, tc.header, call.method, call.path, call.body)
				requireError(t, r, http.StatusUnauthorized, "")
			}
		})
	}
	_, subs := a.list(t, c)
	assert.Equal(t, []string{s.ID}, ids(subs), "nothing was created without credentials")
}
