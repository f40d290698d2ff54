package app_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/testsuite/webhookflow"
)

// Every route the console serves, read from the server itself, so that a
// page added later is tried too: as the owner of another school and as a
// plain member of the school, each is the 403 page, with real ids in the
// path and a good form, so that nothing but the rule refuses it. Only the
// few routes everyone with console access has (the home page, the apps
// list, signing out, the sign-in callback) answer the other school's
// owner otherwise.
func TestEveryConsoleRouteRefusesOutsiders(t *testing.T) {
	t.Parallel()
	w := newConsoleWebhookWorld(t)
	ctx := context.Background()
	srv := w.srv
	school := w.app.OrgID
	pupil := addMember(t, srv, school, "pupil@hooks.example", "member")
	token := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations/"+school+"/scim-tokens", map[string]any{"name": "Entra ID"}, http.StatusCreated)
	rcv := webhookflow.NewReceiver(t, webhookflow.OK)
	sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.created")
	pb, pcsrf := consoleAs(t, srv, seedEmail, seedPassword)
	subPage := "/console/apps/" + w.app.Client.ID + "/webhooks/" + sub.ID
	require.Equal(t, http.StatusOK, guidePost(t, ctx, pb, srv.BaseURL+subPage+"/ping", pcsrf).status)
	delivery := regexp.MustCompile(`id="delivery-([^"]+)"`).FindStringSubmatch(waitPage(t, pb, srv.BaseURL+subPage, func(body string) bool {
		return strings.Contains(body, `id="delivery-`)
	}).body)
	require.NotNil(t, delivery)

	params := map[string]string{
		":id": school, ":orgId": school, ":userId": pupil.ID, ":tokenId": token["id"].(string),
		":clientId": w.app.Client.ID, ":subId": sub.ID, ":deliveryId": delivery[1],
	}
	everyone := map[string]bool{"GET /console": true, "GET /console/apps": true, "POST /console/sign-out": true}
	var routes []string
	for _, r := range srv.HTTP.App().GetRoutes(true) {
		if (r.Method != http.MethodGet && r.Method != http.MethodPost) || !strings.HasPrefix(r.Path, "/console") || r.Path == "/console/callback" {
			continue
		}
		path := r.Path
		for _, part := range strings.Split(r.Path, "/") {
			if strings.HasPrefix(part, ":") {
				id, ok := params[part]
				require.True(t, ok, "route %s %s has a parameter %s this test does not know: give it a real id", r.Method, r.Path, part)
				path = strings.Replace(path, part, url.PathEscape(id), 1)
			}
		}
		routes = append(routes, r.Method+" "+r.Path+" "+path)
	}
	sort.Strings(routes)
	require.Greater(t, len(routes), 25, "the console's routes: %v", routes)
	t.Logf("%d console routes", len(routes))

	springfield := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Springfield Elementary"}, http.StatusCreated)["id"].(string)
	addMember(t, srv, springfield, "owner@springfield.example", "owner")
	for _, as := range []struct{ name, email, password string }{
		{"another school's owner", "owner@springfield.example", consolePassword},
		{"a plain member", w.member, consolePassword},
	} {
		t.Run(as.name, func(t *testing.T) {
			form := url.Values{"csrf_token": {"none"}} // a member is refused before any form is read
			b, page := consoleSignIn(t, srv, as.email, as.password)
			if as.email != w.member {
				require.Equal(t, http.StatusOK, page.status, page.body)
				form = page.form(t, "csrf_token").values()
			} else {
				require.Equal(t, http.StatusForbidden, page.status, page.body)
			}
			for k, v := range map[string]string{"name": "Renamed", "email": "new@hooks.example", "role": "member", "first_name": "New", "last_name": "Pupil"} {
				form.Set(k, v)
			}
			for _, r := range routes {
				f := strings.Fields(r)
				method, pattern, path := f[0], f[1], f[2]
				if as.email != w.member && everyone[method+" "+pattern] {
					continue
				}
				var got guidePage
				if method == http.MethodGet {
					got = guideGet(t, ctx, b, srv.BaseURL+path)
				} else {
					got = guidePost(t, ctx, b, srv.BaseURL+path, form)
				}
				assert.Equal(t, http.StatusForbidden, got.status, "%s %s", method, pattern)
			}
		})
	}
	// And every form, sent by the platform administrator who could make
	// the change, without its token or with another's, is refused.
	t.Run("every form without its CSRF token", func(t *testing.T) {
		for _, r := range routes {
			f := strings.Fields(r)
			if f[0] != http.MethodPost {
				continue
			}
			for _, token := range []string{"", "forged", pcsrf.Get("csrf_token") + "x"} {
				form := url.Values{"csrf_token": {token}, "name": {"Renamed"}, "email": {"csrf@hooks.example"}, "role": {"member"}}
				got := guidePost(t, ctx, pb, srv.BaseURL+f[2], form)
				assert.Equal(t, http.StatusBadRequest, got.status, "%s %s with token %q", f[0], f[1], token)
			}
		}
	})
	// Nothing those tries touched changed.
	stored, err := srv.Users.GetUser(ctx, pupil.ID)
	require.NoError(t, err)
	assert.Equal(t, "active", string(stored.Status))
	assert.True(t, w.api.GetSubscription(t, w.app.Client, sub.ID).Enabled)
	_, err = srv.Users.GetUserByEmail(ctx, "csrf@hooks.example")
	assert.Error(t, err, "nobody was invited by a forged form")
}
