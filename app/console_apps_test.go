package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appsWorld is consoleWorld with apps: Gradebook granted to Shelbyville
// (read) and to Springfield (provision); Library granted to Springfield
// only; Cafeteria to Shelbyville only. Springfield has an owner of its
// own.
type appsWorld struct {
	*consoleWorld
	springfield, springfieldSlug, springfieldOwner string
	gradebook, library, cafeteria                  string
}

func newAppsWorld(t *testing.T) *appsWorld {
	t.Helper()
	w := &appsWorld{consoleWorld: newConsoleWorld(t), springfieldOwner: "owner@springfield.example"}
	org := adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Springfield Library School"}, http.StatusCreated)
	w.springfield, w.springfieldSlug = org["id"].(string), org["slug"].(string)
	addMember(t, w.srv, w.springfield, w.springfieldOwner, "owner")
	w.gradebook, _ = registerBrowserClient(t, w.srv, "Gradebook", "https://gradebook.example/callback")
	w.library, _ = registerBrowserClient(t, w.srv, "Library", "https://library.example/callback")
	w.cafeteria, _ = registerBrowserClient(t, w.srv, "Cafeteria", "https://cafeteria.example/callback")
	w.grant(t, w.gradebook, w.other, "read")
	w.grant(t, w.gradebook, w.springfield, "provision")
	w.grant(t, w.library, w.springfield, "read")
	w.grant(t, w.cafeteria, w.other, "read")
	return w
}

func (w *appsWorld) grant(t *testing.T, clientID, orgID string, actions ...string) {
	t.Helper()
	adminCall(t, w.srv, http.MethodPut, "/api/v1/admin/clients/"+clientID+"/grants/"+orgID, map[string]any{"actions": actions}, http.StatusOK)
}

// grants returns a client's grants through the admin API: organization id
// to actions.
func (w *appsWorld) grants(t *testing.T, clientID string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	list := adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/clients/"+clientID+"/grants", nil, http.StatusOK)
	gs, _ := list["grants"].([]any)
	for _, g := range gs {
		m, _ := g.(map[string]any)
		acts, _ := m["actions"].([]any)
		var names []string
		for _, a := range acts {
			names = append(names, a.(string))
		}
		out[m["organizationId"].(string)] = names
	}
	return out
}

// settings returns a client's settings through the admin API.
func (w *appsWorld) settings(t *testing.T, clientID string) map[string]any {
	t.Helper()
	return adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/clients/"+clientID, nil, http.StatusOK)
}

var appIDs = regexp.MustCompile(`<code>(cca_[^<]+)</code>`)

func TestConsoleAppsPlatformAdministratorListsEveryAppByPage(t *testing.T) {
	t.Parallel()
	w := newAppsWorld(t)
	ctx := context.Background()
	var bulk []string
	for i := range 55 {
		id, _ := registerBrowserClient(t, w.srv, fmt.Sprintf("Bulk app %02d", i), "https://bulk.example/callback")
		bulk = append(bulk, id)
	}
	b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, page.status, page.body)

	var seen []string
	next := w.srv.BaseURL + "/console/apps"
	pages, all := 0, ""
	for next != "" {
		got := guideGet(t, ctx, b, next)
		require.Equal(t, http.StatusOK, got.status, got.body)
		pages++
		for _, m := range appIDs.FindAllStringSubmatch(got.body, -1) {
			seen = append(seen, m[1])
		}
		next = ""
		if m := regexp.MustCompile(`<a href="(/console/apps\?cursor=[^"]+)">Next page</a>`).FindStringSubmatch(got.body); m != nil {
			next = w.srv.BaseURL + strings.ReplaceAll(m[1], "&amp;", "&")
		}
		all += got.body
	}
	assert.Contains(t, all, ">Gradebook</a>")
	assert.Contains(t, all, "this console", "the console's own client is listed")
	assert.Contains(t, all, `<th scope="col">Approved extended scopes</th>`)
	assert.GreaterOrEqual(t, pages, 2, "more than a page of apps is paged")
	assert.True(t, slices.IsSorted(seen), "pages follow one another in client id order")
	assert.Len(t, slices.Compact(slices.Clone(seen)), len(seen), "no app on two pages")
	for _, id := range append(bulk, w.gradebook, w.library, w.cafeteria, "cca_console") {
		assert.Contains(t, seen, id)
	}

	for _, cursor := range []string{"!!!", "AA", "%00", strings.Repeat("A", 600)} {
		got := guideGet(t, ctx, b, w.srv.BaseURL+"/console/apps?cursor="+cursor)
		assert.Equal(t, http.StatusBadRequest, got.status, "cursor %q", cursor)
	}

	app := guideGet(t, ctx, b, w.srv.BaseURL+"/console/apps/"+w.gradebook)
	require.Equal(t, http.StatusOK, app.status, app.body)
	for _, want := range []string{"Gradebook", "https://gradebook.example/callback", "authorization_code", "client_secret_post",
		"Shelbyville Elementary", "Springfield Library School", `href="/console/apps/` + w.gradebook + `/webhooks"`, "Save settings"} {
		assert.Contains(t, app.body, want)
	}
	assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, b, w.srv.BaseURL+"/console/apps/cca_no-such-app").status)
}

// An app of the whole platform may be granted to every school: its page
// shows its grants 50 at a time, by cursor.
func TestConsoleAppPagesItsGrants(t *testing.T) {
	t.Parallel()
	w := newAppsWorld(t)
	ctx := context.Background()
	for i := range 55 {
		org := adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": fmt.Sprintf("District school %02d", i)}, http.StatusCreated)
		w.grant(t, w.gradebook, org["id"].(string), "read")
	}
	want := len(w.grants(t, w.gradebook))
	b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	row := regexp.MustCompile(`<tr><td><a href="/console/organizations/([^"]+)">`)
	seen := map[string]bool{}
	next, pages := w.srv.BaseURL+"/console/apps/"+w.gradebook, 0
	for next != "" {
		got := guideGet(t, ctx, b, next)
		require.Equal(t, http.StatusOK, got.status, got.body)
		pages++
		rows := row.FindAllStringSubmatch(got.body, -1)
		assert.LessOrEqual(t, len(rows), 50)
		for _, m := range rows {
			assert.False(t, seen[m[1]], "%s on two pages", m[1])
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" id="grants-next">`).FindStringSubmatch(got.body); m != nil {
			next = w.srv.BaseURL + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	assert.Equal(t, 2, pages)
	assert.Len(t, seen, want, "every grant, once")
	got := guideGet(t, ctx, b, w.srv.BaseURL+"/console/apps/"+w.gradebook+"?grants=!!!")
	assert.Equal(t, http.StatusBadRequest, got.status, "a bad cursor")
}

func TestConsoleAppsOwnerSeesOnlyTheirSchoolsApps(t *testing.T) {
	t.Parallel()
	w := newAppsWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	for _, email := range []string{w.ownerEmail, w.admin} {
		b, page := consoleSignIn(t, w.srv, email, consolePassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		list := guideGet(t, ctx, b, base+"/console/apps")
		require.Equal(t, http.StatusOK, list.status, list.body)
		assert.Contains(t, list.body, "Gradebook", email)
		assert.Contains(t, list.body, "Cafeteria", email)
		assert.NotContains(t, list.body, "Library", "%s: an app granted to another school only", email)
		assert.NotContains(t, list.body, "Springfield", "%s: another school's grant", email)
		assert.NotContains(t, list.body, "cca_console", email)

		app := guideGet(t, ctx, b, base+"/console/apps/"+w.gradebook)
		require.Equal(t, http.StatusOK, app.status, app.body)
		assert.Contains(t, app.body, "Shelbyville Elementary")
		assert.NotContains(t, app.body, "Springfield", "%s: only their school's grant", email)
		assert.NotContains(t, app.body, "provision", "%s: not the other school's actions", email)
		for _, form := range []string{"Save settings", "Change actions", "Remove grant", `name="organization"`, "/webhooks"} {
			assert.NotContains(t, app.body, form, "%s: read-only", email)
		}
		for _, id := range []string{w.library, "cca_console", "cca_no-such-app"} {
			got := guideGet(t, ctx, b, base+"/console/apps/"+id)
			assert.Equal(t, http.StatusForbidden, got.status, "%s: app %s", email, id)
		}
		// No change goes through, even on an app they see.
		csrf := page.form(t, "csrf_token").values()
		for _, path := range appChangePaths(w.gradebook, w.other) {
			vals := url.Values{"csrf_token": csrf["csrf_token"], "organization": {w.other}, "action_delete": {"on"}, "scope_organization": {"on"}, "first_party": {"on"}}
			got := guidePost(t, ctx, b, base+path, vals)
			assert.Equal(t, http.StatusForbidden, got.status, "%s: POST %s", email, path)
		}
	}
	assert.Equal(t, map[string][]string{w.other: {"read"}, w.springfield: {"provision"}}, w.grants(t, w.gradebook), "nothing changed")
	s := w.settings(t, w.gradebook)
	assert.Equal(t, false, s["firstParty"])
	assert.Empty(t, s["approvedScopes"])
}

// appChangePaths are every change route of an app, on one organization.
func appChangePaths(clientID, orgID string) []string {
	app := "/console/apps/" + clientID
	return []string{app + "/grants", app + "/grants/" + orgID, app + "/grants/" + orgID + "/remove", app + "/settings"}
}

func TestConsoleAppsAnotherSchoolsOwnerAndAMemberGet403(t *testing.T) {
	t.Parallel()
	w := newAppsWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL

	b, page := consoleSignIn(t, w.srv, w.springfieldOwner, consolePassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	list := guideGet(t, ctx, b, base+"/console/apps")
	require.Equal(t, http.StatusOK, list.status)
	assert.Contains(t, list.body, "Library")
	assert.NotContains(t, list.body, "Cafeteria", "granted to Shelbyville only")
	assert.NotContains(t, list.body, "Shelbyville")
	assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, b, base+"/console/apps/"+w.cafeteria).status)
	csrf := page.form(t, "csrf_token").values()
	for _, path := range append(appChangePaths(w.cafeteria, w.other), appChangePaths(w.gradebook, w.other)...) {
		vals := url.Values{"csrf_token": csrf["csrf_token"], "organization": {w.springfield}, "action_read": {"on"}}
		assert.Equal(t, http.StatusForbidden, guidePost(t, ctx, b, base+path, vals).status, "POST %s", path)
	}
	assert.Equal(t, map[string][]string{w.other: {"read"}}, w.grants(t, w.cafeteria), "nothing changed")

	mb, mpage := consoleSignIn(t, w.srv, w.member, consolePassword)
	assert.Equal(t, http.StatusForbidden, mpage.status)
	for _, path := range []string{"/console/apps", "/console/apps/" + w.gradebook, "/console/apps/" + w.cafeteria} {
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, mb, base+path).status, "GET %s", path)
	}
	for _, path := range appChangePaths(w.gradebook, w.other) {
		vals := url.Values{"csrf_token": {"x"}, "organization": {w.other}, "action_read": {"on"}}
		assert.Equal(t, http.StatusForbidden, guidePost(t, ctx, mb, base+path, vals).status, "POST %s", path)
	}
	assert.Equal(t, map[string][]string{w.other: {"read"}, w.springfield: {"provision"}}, w.grants(t, w.gradebook), "nothing changed")
}

func TestConsoleAppsPlatformAdministratorGrantsChangesAndRemoves(t *testing.T) {
	t.Parallel()
	w := newAppsWorld(t)
	ctx := context.Background()
	b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	appURL := w.srv.BaseURL + "/console/apps/" + w.library
	app := guideGet(t, ctx, b, appURL)
	require.Equal(t, http.StatusOK, app.status, app.body)
	form := app.form(t, "organization")
	require.NotNil(t, form, "the form to grant the app")
	with := func(kv ...string) url.Values {
		v := form.values()
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	// Granted by slug, with two actions.
	slug := adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/organizations/"+w.other, nil, http.StatusOK)["slug"].(string)
	got := guidePost(t, ctx, b, form.action, with("organization", slug, "action_read", "on", "action_suspend", "on"))
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, appURL, got.url.String())
	assert.Contains(t, got.body, "Shelbyville Elementary")
	assert.Equal(t, []string{"read", "suspend"}, w.grants(t, w.library)[w.other])
	// Granted by id.
	got = guidePost(t, ctx, b, form.action, with("organization", w.springfield, "action_provision", "on"))
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, []string{"provision"}, w.grants(t, w.library)[w.springfield])

	// Changed.
	change := appURL + "/grants/" + w.other
	got = guidePost(t, ctx, b, change, with("action_read", "on", "action_update", "on", "action_assign_admin", "on"))
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, []string{"assign_admin", "read", "update"}, w.grants(t, w.library)[w.other])
	assert.Contains(t, got.body, `id="grant-`+w.other+`-assign_admin" name="action_assign_admin" type="checkbox" value="on" checked>`)

	// Bad input changes nothing: an unknown organization, an unknown
	// action, no action, an overlong value, a grant that is not there, a
	// public client, a forged form.
	before := w.grants(t, w.library)
	for _, bad := range []struct {
		name   string
		path   string
		vals   url.Values
		status int
	}{
		{"an unknown slug", form.action, with("organization", "no-such-school", "action_read", "on"), http.StatusBadRequest},
		{"no organization", form.action, with("organization", "", "action_read", "on"), http.StatusBadRequest},
		{"an overlong organization", form.action, with("organization", strings.Repeat("x", 300), "action_read", "on"), http.StatusBadRequest},
		{"an unknown action", form.action, with("organization", w.other, "action_frobnicate", "on"), http.StatusBadRequest},
		{"no action", form.action, with("organization", w.other), http.StatusBadRequest},
		{"a change with an unknown action", change, with("action_root", "on"), http.StatusBadRequest},
		{"a change with no action", change, with(), http.StatusBadRequest},
		{"a change of a grant that is not there", appURL + "/grants/no-such-org", with("action_read", "on"), http.StatusNotFound},
		{"a removal of a grant that is not there", appURL + "/grants/no-such-org/remove", with(), http.StatusNotFound},
		{"a forged form", form.action, with("organization", w.other, "action_delete", "on", "csrf_token", "forged"), http.StatusBadRequest},
	} {
		got := guidePost(t, ctx, b, bad.path, bad.vals)
		assert.Equal(t, bad.status, got.status, "%s: %s", bad.name, got.body)
		assert.NotContains(t, got.body, "internal error", bad.name)
	}
	assert.Equal(t, before, w.grants(t, w.library), "bad input changed nothing")
	got = guidePost(t, ctx, b, form.action, with("organization", w.other, "action_frobnicate", "on"))
	assert.Contains(t, got.body, `unknown action &#34;frobnicate&#34;`, "the page says what was wrong")
	got = guidePost(t, ctx, b, form.action, with("organization", "no-such-school", "action_read", "on"))
	assert.Contains(t, got.body, "no-such-school")

	public := registerPublicClient(t, w.srv.BaseURL, "https://public.example/callback")
	got = guidePost(t, ctx, b, w.srv.BaseURL+"/console/apps/"+public+"/grants", with("organization", w.other, "action_read", "on"))
	assert.Equal(t, http.StatusBadRequest, got.status, "a public client calls no user management API")
	assert.Empty(t, w.grants(t, public))

	// Removed.
	got = guidePost(t, ctx, b, change+"/remove", with())
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.NotContains(t, w.grants(t, w.library), w.other)
	assert.Contains(t, w.grants(t, w.library), w.springfield, "the other grant stays")

	// The console's own client is shown, and refused any change.
	own := guideGet(t, ctx, b, w.srv.BaseURL+"/console/apps/cca_console")
	require.Equal(t, http.StatusOK, own.status, own.body)
	assert.Contains(t, own.body, "console's own registration")
	assert.NotContains(t, own.body, "Save settings")
	for _, path := range appChangePaths("cca_console", w.other) {
		got := guidePost(t, ctx, b, w.srv.BaseURL+path, with("organization", w.other, "action_read", "on", "first_party", "on"))
		assert.Equal(t, http.StatusConflict, got.status, "POST %s: %s", path, got.body)
		assert.Contains(t, got.body, "can&#39;t be changed here")
	}
	assert.Empty(t, w.grants(t, "cca_console"))
}

func TestConsoleAppsApprovedScopesAndFlagsTakeEffect(t *testing.T) {
	t.Parallel()
	w := newAppsWorld(t)
	ctx := context.Background()
	b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	appURL := w.srv.BaseURL + "/console/apps/" + w.gradebook
	app := guideGet(t, ctx, b, appURL)
	form := app.form(t, "first_party")
	require.NotNil(t, form, "the settings form")
	require.Equal(t, appURL+"/settings", form.action)
	with := func(kv ...string) url.Values {
		v := form.values()
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	assert.Contains(t, authorizeError(t, w.srv.BaseURL, w.gradebook, "https://gradebook.example/callback"), "invalid_scope",
		"before approval, the organization scope is refused")

	got := guidePost(t, ctx, b, form.action, with("scope_organization", "on", "first_party", "on", "license_required", "on"))
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Contains(t, got.body, `<td id="app-approved-scopes">organization</td>`)
	s := w.settings(t, w.gradebook)
	assert.Equal(t, []any{"organization"}, s["approvedScopes"])
	assert.Equal(t, true, s["firstParty"])
	assert.Equal(t, true, s["licenseRequired"])
	assert.Empty(t, authorizeError(t, w.srv.BaseURL, w.gradebook, "https://gradebook.example/callback"),
		"approved: the authorization request goes on to sign-in")

	// Bad input changes nothing: a scope that needs no approval, a forged form.
	for name, vals := range map[string]url.Values{
		"a standard scope": with("scope_email", "on"),
		"an unknown scope": with("scope_"+strings.Repeat("z", 100), "on"),
		"a forged form":    with("csrf_token", "forged"),
	} {
		got := guidePost(t, ctx, b, form.action, vals)
		assert.Equal(t, http.StatusBadRequest, got.status, "%s: %s", name, got.body)
	}
	assert.Equal(t, s, w.settings(t, w.gradebook), "bad input changed nothing")

	// Withdrawn: every box cleared.
	got = guidePost(t, ctx, b, form.action, with())
	require.Equal(t, http.StatusOK, got.status, got.body)
	s = w.settings(t, w.gradebook)
	assert.Empty(t, s["approvedScopes"])
	assert.Equal(t, false, s["firstParty"])
	assert.Equal(t, false, s["licenseRequired"])
	assert.Contains(t, authorizeError(t, w.srv.BaseURL, w.gradebook, "https://gradebook.example/callback"), "invalid_scope",
		"withdrawn: refused again")
}

// authorizeError starts an authorization request for the organization
// scope and returns the error the provider sends back to the client, ""
// when it goes on to sign-in.
func authorizeError(t *testing.T, base, clientID, redirectURI string) string {
	t.Helper()
	sum := sha256.Sum256([]byte("a verifier long enough to be a verifier, 43+ chars"))
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid organization"}, "state": {"s"}, "nonce": {"n"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/api/v1/oidc/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := resp.Location()
	require.NoError(t, err, "status %d", resp.StatusCode)
	if strings.HasPrefix(loc.String(), redirectURI) {
		return loc.Query().Get("error")
	}
	return ""
}
