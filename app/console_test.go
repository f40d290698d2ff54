package app_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// consoleWorld is a server with three accounts: the seed user, a platform
// administrator; an owner of another school; a plain member of it.
type consoleWorld struct {
	srv                  *testServer
	other                string // the other school's id
	ownerEmail, member   string
	admin                string
	ownerPass, plainPass string
}

const consolePassword = "console-test password 1"

func newConsoleWorld(t *testing.T) *consoleWorld {
	t.Helper()
	srv := startServer(t, func(c *config.Config) { c.RateLimit.Enabled = false })
	ctx := context.Background()
	seed, err := srv.Users.GetUserByEmail(ctx, seedEmail)
	require.NoError(t, err)
	_, err = srv.Users.UpdateUser(ctx, seed.ID, func(u *domain.User) error { u.PlatformAdmin = true; return nil })
	require.NoError(t, err)
	w := &consoleWorld{srv: srv, ownerEmail: "owner@shelbyville.example", member: "member@shelbyville.example", admin: "admin@shelbyville.example"}
	org := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Shelbyville Elementary"}, http.StatusCreated)
	w.other = org["id"].(string)
	for email, role := range map[string]string{w.ownerEmail: "owner", w.member: "member", w.admin: "admin"} {
		addMember(t, srv, w.other, email, role)
	}
	return w
}

// newConsoleUser makes an active account that signs in with
// consolePassword, homed in home ("" for none).
func newConsoleUser(t *testing.T, srv *testServer, email, given, family, home string) domain.User {
	t.Helper()
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	u := domain.User{
		ID: uuid.NewString(), Email: email, EmailVerified: true, GivenName: given, FamilyName: family, Status: domain.UserActive,
		PasswordHash: domain.HashPassword(consolePassword, salt, domain.DefaultPasswordParams), HomeOrganizationID: home,
		CreatedAt: time.Now(), UpdatedAt: time.Now(),
	}
	require.NoError(t, srv.Users.CreateUser(context.Background(), u))
	return u
}

// addMember makes an account (newConsoleUser) and puts it in org with
// role, through the admin API.
func addMember(t *testing.T, srv *testServer, org, email, role string) domain.User {
	t.Helper()
	u := newConsoleUser(t, srv, email, "Test", role, "")
	adminCall(t, srv, http.MethodPut, "/api/v1/admin/organizations/"+org+"/members/"+u.ID, map[string]any{"role": role}, http.StatusOK)
	return u
}

// consoleSCIMToken makes a SCIM token named name on the organization page
// orgPath, in the browser b whose forms carry form's csrf_token, and
// returns it, as the page shows it that once.
func consoleSCIMToken(t *testing.T, b *http.Client, orgPath string, form url.Values, name string) string {
	t.Helper()
	vals := url.Values{"csrf_token": form["csrf_token"], "name": {name}}
	made := guidePost(t, context.Background(), b, orgPath+"/scim-tokens", vals)
	require.Equal(t, http.StatusCreated, made.status, made.body)
	token := regexp.MustCompile(`id="new-scim-token">(cst_[A-Za-z0-9_-]+)<`).FindStringSubmatch(made.body)
	require.NotNil(t, token, "the new token is shown: %s", made.body)
	return token[1]
}

// scimCall sends a SCIM request with token and returns the status.
func scimCall(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// consoleSignIn opens the console in a new browser, signs in on the
// provider's own sign-in page, and returns the browser and where it
// landed.
func consoleSignIn(t *testing.T, srv *testServer, email, password string) (*http.Client, guidePage) {
	t.Helper()
	ctx := context.Background()
	b := guideBrowser(t)
	page := guideGet(t, ctx, b, srv.BaseURL+"/console")
	require.Equal(t, "/login", page.url.Path, "the console signs in through the provider's page: %s", page.body)
	login := page.form(t, "password")
	require.NotNil(t, login, page.body)
	vals := login.values()
	vals.Set("email", email)
	vals.Set("password", password)
	return b, guidePost(t, ctx, b, login.action, vals)
}

func TestConsoleShowsEachAccountItsOwn(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL

	t.Run("a platform administrator sees every organization and creates one", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Equal(t, "/console", page.url.Path)
		assert.Contains(t, page.body, "Shelbyville Elementary")
		assert.Contains(t, page.body, "platform administrator")
		create := page.form(t, "name")
		require.NotNil(t, create, "the form to create an organization")
		vals := create.values()
		vals.Set("name", "Capital City High")
		got := guidePost(t, ctx, b, create.action, vals)
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Contains(t, got.url.Path, "/console/organizations/")
		assert.Contains(t, got.body, "Capital City High")

		// Bad input: an empty name, a forged form.
		vals.Set("name", "")
		bad := guidePost(t, ctx, b, create.action, vals)
		assert.Equal(t, http.StatusBadRequest, bad.status, bad.body)
		vals.Set("name", "Forged School")
		vals.Set("csrf_token", "forged")
		forged := guidePost(t, ctx, b, create.action, vals)
		assert.Equal(t, http.StatusBadRequest, forged.status)
		assert.Contains(t, forged.body, "stale")
		list := adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/organizations?limit=100", nil, http.StatusOK)
		assert.NotContains(t, strings.Join(names(list), ","), "Forged School", "a forged form changes nothing")
	})

	t.Run("an owner sees only their school", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Contains(t, page.body, "Shelbyville Elementary")
		assert.NotContains(t, page.body, "Capital City High")
		assert.NotContains(t, page.body, "Create organization", "only platform administrators create organizations")
		org := guideGet(t, ctx, b, base+"/console/organizations/"+w.other)
		assert.Equal(t, http.StatusOK, org.status)
		assert.Contains(t, org.body, w.member, "its members are listed")

		// Every other route is 403, whether the organization exists or not.
		list := adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/organizations?limit=100", nil, http.StatusOK)
		for _, id := range append(ids(list), "no-such-org") {
			if id == w.other {
				continue
			}
			got := guideGet(t, ctx, b, base+"/console/organizations/"+url.PathEscape(id))
			assert.Equal(t, http.StatusForbidden, got.status, "organization %s", id)
		}
		csrf := page.form(t, "csrf_token") // the sign-out form's token, the session's
		require.NotNil(t, csrf)

		// The owner invites a member and suspends them, in their school.
		vals := csrf.values()
		vals.Set("email", "newbie@shelbyville.example")
		vals.Set("first_name", "New")
		vals.Set("role", "member")
		got := guidePost(t, ctx, b, base+"/console/organizations/"+w.other+"/members", vals)
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Contains(t, got.body, "newbie@shelbyville.example")
		newbie, err := w.srv.Users.GetUserByEmail(ctx, "newbie@shelbyville.example")
		require.NoError(t, err)
		vals = csrf.values()
		got = guidePost(t, ctx, b, base+"/console/organizations/"+w.other+"/members/"+newbie.ID+"/suspend", vals)
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Contains(t, got.body, "Reactivate newbie@shelbyville.example")
		after, err := w.srv.Users.GetUser(ctx, newbie.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.UserSuspended, after.Status, "the school made the account, so the account is suspended")
		// Bad input: no email, an unknown role, an unknown member.
		for _, bad := range []url.Values{{"email": {""}}, {"email": {"x@shelbyville.example"}, "role": {"no-such-role"}}} {
			vals = csrf.values()
			for k, v := range bad {
				vals[k] = v
			}
			got = guidePost(t, ctx, b, base+"/console/organizations/"+w.other+"/members", vals)
			assert.Equal(t, http.StatusBadRequest, got.status, "%v: %s", bad, got.body)
		}
		got = guidePost(t, ctx, b, base+"/console/organizations/"+w.other+"/members/no-such-user/suspend", csrf.values())
		assert.Equal(t, http.StatusForbidden, got.status, "an unknown member is not told apart")

		seedUser, err := w.srv.Users.GetUserByEmail(ctx, seedEmail)
		require.NoError(t, err)
		for _, path := range []string{
			"/console/organizations", "/console/organizations/" + w.other,
			"/console/organizations/" + ids(list)[0] + "/members", "/console/organizations/" + ids(list)[0] + "/members/" + seedUser.ID + "/suspend",
		} {
			if strings.Contains(path, w.other+"/") {
				continue
			}
			vals := csrf.values()
			vals.Set("name", "Taken Over")
			got := guidePost(t, ctx, b, base+path, vals)
			assert.Equal(t, http.StatusForbidden, got.status, "POST %s", path)
		}
	})

	t.Run("a member gets a clear 403", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, w.member, consolePassword)
		assert.Equal(t, http.StatusForbidden, page.status)
		assert.Contains(t, page.body, "use the console")
		org := "/console/organizations/" + w.other
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, b, base+org).status)
		for _, path := range []string{"/console/organizations", org, org + "/members", org + "/members/x/suspend", org + "/members/x/reactivate", "/console/sign-out"} {
			got := guidePost(t, ctx, b, base+path, url.Values{"csrf_token": {"x"}, "name": {"x"}, "email": {"x@shelbyville.example"}})
			assert.Equal(t, http.StatusForbidden, got.status, "POST %s", path)
		}
	})

	t.Run("an admin manages members, never owners, admins or themselves", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, w.admin, consolePassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		form := page.form(t, "csrf_token")
		require.NotNil(t, form)
		org := base + "/console/organizations/" + w.other + "/members/"
		id := func(email string) string {
			u, err := w.srv.Users.GetUserByEmail(ctx, email)
			require.NoError(t, err)
			return u.ID
		}
		for _, email := range []string{w.ownerEmail, w.admin} {
			got := guidePost(t, ctx, b, org+id(email)+"/suspend", form.values())
			assert.Equal(t, http.StatusForbidden, got.status, "suspend %s", email)
			u, err := w.srv.Users.GetUserByEmail(ctx, email)
			require.NoError(t, err)
			assert.Equal(t, domain.UserActive, u.Status, "%s untouched", email)
		}
		got := guidePost(t, ctx, b, org+id(w.member)+"/suspend", form.values())
		assert.Equal(t, http.StatusOK, got.status, got.body)
		got = guidePost(t, ctx, b, org+id(w.member)+"/reactivate", form.values())
		assert.Equal(t, http.StatusOK, got.status, got.body)

		// A cursor that is not one is a clear 400, never a 500.
		for _, cursor := range []string{"AAAA", "!!!", "%00", "%ff"} {
			got := guideGet(t, ctx, b, base+"/console/organizations/"+w.other+"?cursor="+cursor)
			assert.Equal(t, http.StatusBadRequest, got.status, "cursor %q", cursor)
		}
	})

	t.Run("an owner makes a SCIM token, seen once, and revokes it; an admin may not", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		form := page.form(t, "csrf_token")
		orgPath := base + "/console/organizations/" + w.other
		token := consoleSCIMToken(t, b, orgPath, form.values(), "Entra ID")
		scimGet := func() int { return scimCall(t, http.MethodGet, base+"/scim/v2/Users?count=1", token, "") }
		assert.Equal(t, http.StatusOK, scimGet(), "the token works")
		again := guideGet(t, ctx, b, orgPath)
		assert.NotContains(t, again.body, token, "shown once")
		id := regexp.MustCompile(`scim-tokens/([0-9a-f-]+)/revoke`).FindStringSubmatch(again.body)
		require.NotNil(t, id)

		// An admin neither sees nor revokes it.
		ab, apage := consoleSignIn(t, w.srv, w.admin, consolePassword)
		require.Equal(t, http.StatusOK, apage.status)
		aorg := guideGet(t, ctx, ab, orgPath)
		assert.NotContains(t, aorg.body, "Entra ID")
		got := guidePost(t, ctx, ab, orgPath+"/scim-tokens/"+id[1]+"/revoke", apage.form(t, "csrf_token").values())
		assert.Equal(t, http.StatusForbidden, got.status)
		got = guidePost(t, ctx, ab, orgPath+"/scim-tokens", apage.form(t, "csrf_token").values())
		assert.Equal(t, http.StatusForbidden, got.status)
		assert.Equal(t, http.StatusOK, scimGet(), "still working")

		got = guidePost(t, ctx, b, orgPath+"/scim-tokens/"+id[1]+"/revoke", form.values())
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Equal(t, http.StatusUnauthorized, scimGet(), "revoked: it stops working at once")
		got = guidePost(t, ctx, b, orgPath+"/scim-tokens/"+id[1]+"/revoke", form.values())
		assert.Equal(t, http.StatusForbidden, got.status, "an unknown token is not told apart")
	})

	t.Run("a platform administrator changes a member's role; an owner makes no owners", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		form := page.form(t, "csrf_token")
		member, err := w.srv.Users.GetUserByEmail(ctx, w.member)
		require.NoError(t, err)
		seedUser, err := w.srv.Users.GetUserByEmail(ctx, seedEmail)
		require.NoError(t, err)
		path := base + "/console/organizations/" + w.other + "/members/"
		role := func(r string) url.Values {
			v := form.values()
			v.Set("role", r)
			return v
		}
		got := guidePost(t, ctx, b, path+member.ID+"/role", role("admin"))
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Contains(t, got.body, `<option value="admin" selected>`, "the member is an admin now")
		got = guidePost(t, ctx, b, path+member.ID+"/role", role("no-such-role"))
		assert.Equal(t, http.StatusBadRequest, got.status, got.body)
		got = guidePost(t, ctx, b, path+seedUser.ID+"/role", role("member"))
		assert.Equal(t, http.StatusForbidden, got.status, "not on oneself (nor on a non-member)")
		got = guidePost(t, ctx, b, path+member.ID+"/role", role("member"))
		require.Equal(t, http.StatusOK, got.status, got.body)

		ob, opage := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
		require.Equal(t, http.StatusOK, opage.status)
		ov := opage.form(t, "csrf_token").values()
		ov.Set("role", "owner")
		got = guidePost(t, ctx, ob, path+member.ID+"/role", ov)
		assert.Equal(t, http.StatusForbidden, got.status, "an owner makes no owners (owners' role changes: console_members_test.go)")
	})

	t.Run("signing out revokes the console's token", func(t *testing.T) {
		b, page := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
		require.Equal(t, http.StatusOK, page.status, page.body)
		u, _ := url.Parse(base + "/console")
		var token string
		for _, c := range b.Jar.Cookies(u) {
			if c.Name == "calimatic_console" {
				token = c.Value
			}
		}
		require.NotEmpty(t, token)
		got := guidePost(t, ctx, b, base+"/console/sign-out", page.form(t, "csrf_token").values())
		require.Equal(t, http.StatusOK, got.status, got.body)
		copied := guideBrowser(t)
		copied.Jar.SetCookies(u, []*http.Cookie{{Name: "calimatic_console", Value: token, Path: "/console"}})
		again := guideGet(t, ctx, copied, base+"/console")
		assert.Equal(t, "/login", again.url.Path, "a copy of the cookie is void")
	})

	t.Run("no session: sign in first; a stale one: the same", func(t *testing.T) {
		b := guideBrowser(t)
		u, _ := url.Parse(base + "/console")
		b.Jar.SetCookies(u, []*http.Cookie{{Name: "calimatic_console", Value: "not-a-token", Path: "/console"}})
		page := guideGet(t, ctx, b, base+"/console/organizations/"+w.other)
		assert.Equal(t, "/login", page.url.Path)
		got := guidePost(t, ctx, b, base+"/console/organizations", url.Values{"name": {"x"}, "csrf_token": {"x"}})
		assert.Equal(t, http.StatusBadRequest, got.status, "a form without a session is refused, not followed")
	})
}

func names(list map[string]any) []string {
	var out []string
	orgs, _ := list["organizations"].([]any)
	for _, o := range orgs {
		m, _ := o.(map[string]any)
		n, _ := m["name"].(string)
		out = append(out, n)
	}
	return out
}

func ids(list map[string]any) []string {
	var out []string
	orgs, _ := list["organizations"].([]any)
	for _, o := range orgs {
		m, _ := o.(map[string]any)
		n, _ := m["id"].(string)
		out = append(out, n)
	}
	return out
}
