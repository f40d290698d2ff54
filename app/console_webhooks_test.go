package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite/webhookflow"
)

// consoleWebhookWorld is a server whose worker posts to loopback
// receivers, an app granted a school, and that school's owner and a plain
// member of it. The seed user is a platform administrator.
type consoleWebhookWorld struct {
	srv           *testServer
	api           *webhookflow.API
	app           *webhookflow.Tenant
	owner, member string
	// subs is the server's own store, to stage what the API cannot: a
	// subscription disabled before DisabledAt was recorded.
	subs ports.SubscriptionStore
}

// consoleWebhookConfig delivers to loopback at once and retries a failed
// attempt only an hour later, so that a failure stays on the log as the
// last attempt while the test looks at it; two failures in a row disable
// a subscription.
func consoleWebhookConfig(c *config.Config) {
	fastWebhooks(c)
	c.Webhooks.Timeout = 10 * time.Second
	c.Webhooks.FirstRetry, c.Webhooks.MaxRetryDelay, c.Webhooks.RetryFor = time.Hour, time.Hour, time.Hour
	c.Webhooks.DisableAfter = 2
}

func newConsoleWebhookWorld(t *testing.T) *consoleWebhookWorld {
	t.Helper()
	var subs ports.SubscriptionStore
	srv := startServer(t, consoleWebhookConfig, fx.Populate(&subs))
	ctx := context.Background()
	seed, err := srv.Users.GetUserByEmail(ctx, seedEmail)
	require.NoError(t, err)
	_, err = srv.Users.UpdateUser(ctx, seed.ID, func(u *domain.User) error { u.PlatformAdmin = true; return nil })
	require.NoError(t, err)
	api := webhookflow.NewAPI(t, webhookEnv(srv.BaseURL))
	w := &consoleWebhookWorld{srv: srv, api: api, app: api.NewTenant(t, "console"),
		owner: "owner@hooks.example", member: "member@hooks.example", subs: subs}
	for email, role := range map[string]string{w.owner: "owner", w.member: "member"} {
		salt := make([]byte, 16)
		_, _ = rand.Read(salt)
		u := domain.User{
			ID: uuid.NewString(), Email: email, EmailVerified: true, GivenName: "Test", FamilyName: role, Status: domain.UserActive,
			PasswordHash: domain.HashPassword(consolePassword, salt, domain.DefaultPasswordParams), CreatedAt: time.Now(), UpdatedAt: time.Now(),
		}
		require.NoError(t, srv.Users.CreateUser(ctx, u))
		adminCall(t, srv, http.MethodPut, "/api/v1/admin/organizations/"+w.app.OrgID+"/members/"+u.ID, map[string]any{"role": role}, http.StatusOK)
	}
	return w
}

// failing answers every post 500.
func failing(webhookflow.Hit) webhookflow.Answer {
	return webhookflow.Answer{Status: http.StatusInternalServerError, Body: "receiver broken"}
}

// consoleAs signs into the console and returns the browser and its
// forms' token.
func consoleAs(t *testing.T, srv *testServer, email, password string) (*http.Client, url.Values) {
	t.Helper()
	b, page := consoleSignIn(t, srv, email, password)
	require.Equal(t, http.StatusOK, page.status, page.body)
	form := page.form(t, "csrf_token")
	require.NotNil(t, form, page.body)
	return b, form.values()
}

// deliveryOnPage is the part of a subscription's page about one delivery.
func deliveryOnPage(body, id string) string {
	_, rest, ok := strings.Cut(body, `id="delivery-`+id+`"`)
	if !ok {
		return ""
	}
	section, _, _ := strings.Cut(rest, "</li>")
	return section
}

// attemptRow matches an attempt's row: its number and its HTTP status.
func attemptRow(number int, status string) *regexp.Regexp {
	return regexp.MustCompile(`<tr><td>` + strconv.Itoa(number) + `</td><td>[^<]+</td><td>` + regexp.QuoteMeta(status) + `</td><td>\d+(\.\d)? ms</td>`)
}

// asApp calls the webhook API as the app c, and returns the status.
func asApp(t *testing.T, srv *testServer, c *webhookflow.Client, method, path string, body any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, srv.BaseURL+path, rd)
	require.NoError(t, err)
	req.Header.Set("x-client-id", c.ID)
	req.Header.Set("x-client-secret", c.Secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// waitPage gets path until cond holds of its body.
func waitPage(t *testing.T, b *http.Client, path string, cond func(string) bool) guidePage {
	t.Helper()
	var page guidePage
	webhookflow.Eventually(t, func() bool {
		page = guideGet(t, context.Background(), b, path)
		return page.status == http.StatusOK && cond(page.body)
	}, "the page %s never showed what was awaited", path)
	return page
}

func TestConsoleWebhooks(t *testing.T) {
	t.Parallel()
	w := newConsoleWebhookWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	appPath := base + "/console/apps/" + w.app.Client.ID + "/webhooks"

	t.Run("a failed delivery shows its 500, and a redelivery after the fix its successful second attempt", func(t *testing.T) {
		rcv := webhookflow.NewReceiver(t, failing)
		sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.created")
		b, csrf := consoleAs(t, w.srv, seedEmail, seedPassword)

		list := guideGet(t, ctx, b, appPath)
		require.Equal(t, http.StatusOK, list.status, list.body)
		assert.Contains(t, list.body, rcv.URL)
		assert.Contains(t, list.body, "user.created")
		assert.Contains(t, list.body, "enabled")
		assert.NotContains(t, list.body, sub.Secret, "the signing secret is never shown")

		pinged := guidePost(t, ctx, b, appPath+"/"+sub.ID+"/ping", csrf)
		require.Equal(t, http.StatusOK, pinged.status, pinged.body)
		assert.Equal(t, "/console/apps/"+w.app.Client.ID+"/webhooks/"+sub.ID, pinged.url.Path, "back on the subscription's page")
		assert.Contains(t, pinged.body, "webhook.ping is on its way")
		hit := rcv.Wait(t, 1, webhookflow.OfEvent("webhook.ping"))[0]
		id := hit.Delivery()
		subPath := appPath + "/" + sub.ID
		page := waitPage(t, b, subPath, func(body string) bool { return attemptRow(1, "500").MatchString(deliveryOnPage(body, id)) })
		d := deliveryOnPage(page.body, id)
		assert.Contains(t, d, "webhook.ping")
		assert.Contains(t, d, "pending", "an hour before its retry")
		assert.Contains(t, d, "the endpoint answered 500", "the attempt's error")

		rcv.SetResponder(webhookflow.OK)
		again := guidePost(t, ctx, b, subPath+"/deliveries/"+id+"/redeliver", csrf)
		require.Equal(t, http.StatusOK, again.status, again.body)
		assert.Contains(t, again.body, "on its way again")
		page = waitPage(t, b, subPath, func(body string) bool { return attemptRow(2, "200").MatchString(deliveryOnPage(body, id)) })
		d = deliveryOnPage(page.body, id)
		assert.Regexp(t, attemptRow(1, "500"), d, "the failed attempt stays on the log")
		assert.Contains(t, d, "delivered")
		hits := rcv.Hits(webhookflow.WithDelivery(id))
		require.Len(t, hits, 2)
		assert.Equal(t, string(hits[0].Body), string(hits[1].Body), "the same delivery, posted again")
	})

	t.Run("a subscription disabled after failures is shown with its time, reason and streak, and re-enabled", func(t *testing.T) {
		rcv := webhookflow.NewReceiver(t, failing)
		sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.updated")
		b, csrf := consoleAs(t, w.srv, seedEmail, seedPassword)
		for range 2 {
			got := guidePost(t, ctx, b, appPath+"/"+sub.ID+"/ping", csrf)
			require.Equal(t, http.StatusOK, got.status, got.body)
		}
		webhookflow.Eventually(t, func() bool { return !w.api.GetSubscription(t, w.app.Client, sub.ID).Enabled }, "two failures disable it")

		list := guideGet(t, ctx, b, appPath)
		require.Equal(t, http.StatusOK, list.status)
		assert.Contains(t, list.body, `id="webhook-disabled-`+sub.ID+`"`)
		assert.Contains(t, list.body, "2 deliveries in a row failed", "why")
		assert.Contains(t, list.body, "2 failed attempts in a row", "its failure streak")
		assert.Contains(t, list.body, "Re-enable "+rcv.URL)
		disabledAt, err := time.Parse(time.RFC3339, w.api.GetSubscription(t, w.app.Client, sub.ID).DisabledAt)
		require.NoError(t, err, "the API says when")
		when := "Disabled</strong> at " + disabledAt.UTC().Format("2006-01-02 15:04:05") + " UTC: 2 deliveries in a row failed. 2 failed attempts in a row."
		assert.Contains(t, list.body, when, "the time the second failure disabled it, on the list")
		page := guideGet(t, ctx, b, appPath+"/"+sub.ID)
		assert.Contains(t, page.body, when, "and on its page")
		assert.NotContains(t, page.body, "the last attempt in the log was at", "no guess from the log when the time is known")

		got := guidePost(t, ctx, b, appPath+"/"+sub.ID+"/reenable", csrf)
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Contains(t, got.body, "enabled again")
		after := w.api.GetSubscription(t, w.app.Client, sub.ID)
		assert.True(t, after.Enabled)
		assert.Empty(t, after.DisabledReason, "the webhook API's update cleared the reason")
		assert.NotContains(t, got.body, "Re-enable "+rcv.URL)

		got = guidePost(t, ctx, b, appPath+"/"+sub.ID+"/reenable", csrf)
		assert.Equal(t, http.StatusConflict, got.status, "an enabled subscription has nothing to re-enable")

		// One its app disabled stays as its app left it.
		require.Equal(t, http.StatusOK, asApp(t, w.srv, w.app.Client, http.MethodPatch, "/api/v1/admin/webhooks/"+sub.ID, map[string]any{"enabled": false}))
		list = guideGet(t, ctx, b, appPath)
		assert.Regexp(t, `Disabled</strong> at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: disabled by its owner\. 0 failed attempts in a row\.`, list.body,
			"dated when its app disabled it")
		assert.NotContains(t, list.body, "Re-enable "+rcv.URL)
		got = guidePost(t, ctx, b, appPath+"/"+sub.ID+"/reenable", csrf)
		assert.Equal(t, http.StatusConflict, got.status, got.body)
		assert.False(t, w.api.GetSubscription(t, w.app.Client, sub.ID).Enabled)
	})

	t.Run("a subscription disabled before the time was recorded shows the last attempt in its log instead", func(t *testing.T) {
		rcv := webhookflow.NewReceiver(t, failing)
		sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.updated")
		require.Equal(t, http.StatusAccepted, asApp(t, w.srv, w.app.Client, http.MethodPost, "/api/v1/admin/webhooks/"+sub.ID+"/ping", nil))
		var attempt string
		webhookflow.Eventually(t, func() bool {
			ds := w.api.Deliveries(t, w.app.Client, sub.ID)
			if len(ds) == 1 && len(ds[0].Attempts) == 1 {
				attempt = ds[0].Attempts[0].At
			}
			return attempt != ""
		}, "the ping's attempt is logged")
		// As a row disabled before migration 00032 reads: no DisabledAt.
		_, err := w.subs.UpdateSubscription(ctx, sub.ID, func(s *domain.Subscription) error {
			s.Disabled, s.DisabledReason, s.DisabledAt = true, "the endpoint answered 410 Gone", time.Time{}
			return nil
		})
		require.NoError(t, err)
		at, err := time.Parse(time.RFC3339, attempt)
		require.NoError(t, err)
		b, _ := consoleAs(t, w.srv, seedEmail, seedPassword)
		page := guideGet(t, ctx, b, appPath+"/"+sub.ID)
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Contains(t, page.body, "Disabled</strong>: the endpoint answered 410 Gone. 1 failed attempt in a row; the last attempt in the log was at "+
			at.UTC().Format("2006-01-02 15:04:05")+" UTC.")
		assert.Empty(t, w.api.GetSubscription(t, w.app.Client, sub.ID).DisabledAt, "the API leaves out what it does not know")
	})

	t.Run("the delivery log pages by cursor, newest first", func(t *testing.T) {
		rcv := webhookflow.NewReceiver(t, nil)
		sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.created")
		const n = 23
		for range n {
			require.Equal(t, http.StatusAccepted, asApp(t, w.srv, w.app.Client, http.MethodPost, "/api/v1/admin/webhooks/"+sub.ID+"/ping", nil))
		}
		all := w.api.Deliveries(t, w.app.Client, sub.ID) // newest first, as the API pages them
		require.Len(t, all, n)
		b, _ := consoleAs(t, w.srv, seedEmail, seedPassword)
		first := guideGet(t, ctx, b, appPath+"/"+sub.ID)
		require.Equal(t, http.StatusOK, first.status, first.body)
		shown := regexp.MustCompile(`id="delivery-(dlv_[A-Za-z0-9_-]+)"`)
		var got []string
		for _, m := range shown.FindAllStringSubmatch(first.body, -1) {
			got = append(got, m[1])
		}
		next := regexp.MustCompile(`<a href="([^"]+)">Older deliveries</a>`).FindStringSubmatch(first.body)
		require.NotNil(t, next, "a full page links to the next")
		second := guideGet(t, ctx, b, base+strings.ReplaceAll(next[1], "&amp;", "&"))
		require.Equal(t, http.StatusOK, second.status, second.body)
		for _, m := range shown.FindAllStringSubmatch(second.body, -1) {
			got = append(got, m[1])
		}
		assert.NotContains(t, second.body, "Older deliveries", "the last page links nowhere")
		want := make([]string, 0, n)
		for _, d := range all {
			want = append(want, d.ID)
		}
		assert.Equal(t, want, got, "every delivery once, newest first, as the webhook API lists them")
	})

	t.Run("a delivery being posted right now is a clear 409", func(t *testing.T) {
		arrived, release := make(chan struct{}, 4), make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-release
			rw.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(release) })
		sub := w.api.Subscribe(t, w.app.Client, slow.URL+"/hook", "user.deleted")
		b, csrf := consoleAs(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, guidePost(t, ctx, b, appPath+"/"+sub.ID+"/ping", csrf).status)
		select {
		case <-arrived:
		case <-time.After(webhookflow.WaitTimeout):
			t.Fatal("the ping never arrived")
		}
		ds := w.api.Deliveries(t, w.app.Client, sub.ID)
		require.Len(t, ds, 1)
		got := guidePost(t, ctx, b, appPath+"/"+sub.ID+"/deliveries/"+ds[0].ID+"/redeliver", csrf)
		assert.Equal(t, http.StatusConflict, got.status, got.body)
		assert.Contains(t, got.body, "being posted right now")
	})

	t.Run("owners and members of a granted school get the 403 page on every route", func(t *testing.T) {
		rcv := webhookflow.NewReceiver(t, nil)
		sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.created")
		require.Equal(t, http.StatusAccepted, asApp(t, w.srv, w.app.Client, http.MethodPost, "/api/v1/admin/webhooks/"+sub.ID+"/ping", nil))
		rcv.Wait(t, 1, webhookflow.OfEvent("webhook.ping"))
		ds := w.api.Deliveries(t, w.app.Client, sub.ID)
		require.Len(t, ds, 1)
		routes := []struct{ method, path string }{
			{http.MethodGet, appPath},
			{http.MethodGet, appPath + "/" + sub.ID},
			{http.MethodPost, appPath + "/" + sub.ID + "/ping"},
			{http.MethodPost, appPath + "/" + sub.ID + "/reenable"},
			{http.MethodPost, appPath + "/" + sub.ID + "/deliveries/" + ds[0].ID + "/redeliver"},
			{http.MethodGet, base + "/console/apps/no-such-app/webhooks"},
		}
		for _, who := range []struct{ email, role string }{{w.owner, "owner"}, {w.member, "member"}} {
			b, page := consoleSignIn(t, w.srv, who.email, consolePassword)
			csrf := url.Values{"csrf_token": {"x"}}
			if form := page.form(t, "csrf_token"); form != nil {
				csrf = form.values()
			}
			for _, r := range routes {
				var got guidePage
				if r.method == http.MethodGet {
					got = guideGet(t, ctx, b, r.path)
				} else {
					got = guidePost(t, ctx, b, r.path, csrf)
				}
				assert.Equal(t, http.StatusForbidden, got.status, "%s %s as the school's %s", r.method, r.path, who.role)
				assert.NotContains(t, got.body, rcv.URL, "nothing of the app's webhooks shows")
			}
		}
		time.Sleep(200 * time.Millisecond) // what a refused ping would have posted by now
		assert.Len(t, rcv.Hits(nil), 1, "no ping, no redelivery")
		assert.Len(t, w.api.Deliveries(t, w.app.Client, sub.ID), 1)
	})

	t.Run("a forged form and bad input change nothing", func(t *testing.T) {
		rcv := webhookflow.NewReceiver(t, nil)
		sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.created")
		other := w.api.Register(t)
		otherRcv := webhookflow.NewReceiver(t, nil)
		otherSub := w.api.Subscribe(t, other, otherRcv.URL, "user.created")
		require.Equal(t, http.StatusAccepted, asApp(t, w.srv, other, http.MethodPost, "/api/v1/admin/webhooks/"+otherSub.ID+"/ping", nil))
		otherRcv.Wait(t, 1, nil)
		otherDelivery := w.api.Deliveries(t, other, otherSub.ID)[0].ID
		b, csrf := consoleAs(t, w.srv, seedEmail, seedPassword)

		forged := url.Values{"csrf_token": {"forged"}}
		got := guidePost(t, ctx, b, appPath+"/"+sub.ID+"/ping", forged)
		assert.Equal(t, http.StatusBadRequest, got.status)
		assert.Contains(t, got.body, "stale")
		got = guidePost(t, ctx, b, appPath+"/"+sub.ID+"/ping", url.Values{})
		assert.Equal(t, http.StatusBadRequest, got.status, "no token at all")

		long := strings.Repeat("x", 300)
		for _, c := range []struct {
			name, method, path string
			want               int
		}{
			{"an unknown subscription", http.MethodGet, appPath + "/whs_nope", http.StatusForbidden},
			{"another app's subscription", http.MethodGet, appPath + "/" + otherSub.ID, http.StatusForbidden},
			{"a ping to another app's subscription", http.MethodPost, appPath + "/" + otherSub.ID + "/ping", http.StatusForbidden},
			{"a re-enable of another app's subscription", http.MethodPost, appPath + "/" + otherSub.ID + "/reenable", http.StatusForbidden},
			{"another app's delivery under this subscription", http.MethodPost, appPath + "/" + sub.ID + "/deliveries/" + otherDelivery + "/redeliver", http.StatusForbidden},
			{"an unknown delivery", http.MethodPost, appPath + "/" + sub.ID + "/deliveries/dlv_nope/redeliver", http.StatusForbidden},
			{"an overlong app id", http.MethodGet, base + "/console/apps/" + long + "/webhooks", http.StatusForbidden},
			{"an overlong subscription id", http.MethodPost, appPath + "/" + long + "/ping", http.StatusForbidden},
			{"an overlong delivery id", http.MethodPost, appPath + "/" + sub.ID + "/deliveries/" + long + "/redeliver", http.StatusForbidden},
			{"a cursor that is not one", http.MethodGet, appPath + "/" + sub.ID + "?cursor=%21%21%21", http.StatusBadRequest},
			{"a cursor of nonsense", http.MethodGet, appPath + "/" + sub.ID + "?cursor=AAAA", http.StatusBadRequest},
			{"an overlong cursor", http.MethodGet, appPath + "/" + sub.ID + "?cursor=" + strings.Repeat("A", 2000), http.StatusBadRequest},
		} {
			var got guidePage
			if c.method == http.MethodGet {
				got = guideGet(t, ctx, b, c.path)
			} else {
				got = guidePost(t, ctx, b, c.path, csrf)
			}
			assert.Equal(t, c.want, got.status, "%s: %s", c.name, got.body)
			assert.NotContains(t, got.body, otherRcv.URL, "%s shows nothing of the other app", c.name)
		}
		time.Sleep(200 * time.Millisecond) // what a wrong ping would have posted by now
		assert.Empty(t, w.api.Deliveries(t, w.app.Client, sub.ID), "nothing pinged or redelivered here")
		assert.Len(t, otherRcv.Hits(nil), 1, "nor there")
		assert.True(t, w.api.GetSubscription(t, other, otherSub.ID).Enabled)
	})
}

// TestConsoleWebhookPingsShareTheAppsLimit: the console's pings and
// redeliveries make the server post on demand, as the webhook API's do, so
// they count against the same per-app limit.
func TestConsoleWebhookPingsShareTheAppsLimit(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *config.Config) {
		consoleWebhookConfig(c)
		c.RateLimit.Enabled = true
		c.RateLimit.WebhookTest = config.Rate{Limit: 2, Window: time.Hour}
	})
	ctx := context.Background()
	seed, err := srv.Users.GetUserByEmail(ctx, seedEmail)
	require.NoError(t, err)
	_, err = srv.Users.UpdateUser(ctx, seed.ID, func(u *domain.User) error { u.PlatformAdmin = true; return nil })
	require.NoError(t, err)
	api := webhookflow.NewAPI(t, webhookEnv(srv.BaseURL))
	app := api.Register(t)
	sub := api.Subscribe(t, app, webhookflow.NewReceiver(t, nil).URL, "user.created")
	ping := srv.BaseURL + "/console/apps/" + app.ID + "/webhooks/" + sub.ID + "/ping"

	b, csrf := consoleAs(t, srv, seedEmail, seedPassword)
	for i := range 2 {
		got := guidePost(t, ctx, b, ping, csrf)
		require.Equal(t, http.StatusOK, got.status, "ping %d: %s", i+1, got.body)
	}
	got := guidePost(t, ctx, b, ping, csrf)
	assert.Equal(t, http.StatusTooManyRequests, got.status, got.body)
	assert.Contains(t, got.body, "used up")
	assert.Equal(t, http.StatusTooManyRequests, asApp(t, srv, app, http.MethodPost, "/api/v1/admin/webhooks/"+sub.ID+"/ping", nil),
		"the app's own pings share the limit")
	assert.Len(t, api.Deliveries(t, app, sub.ID), 2)
}
