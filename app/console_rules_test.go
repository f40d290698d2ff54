package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Who may act on whom in the console counts what a member's roles may do,
// not their names: a custom role with an owner's or an admin's permissions,
// and a role a directory group maps to, rank as owner or admin. And an
// owner never acts on another owner, as no organization role makes owners.
func TestConsoleRanksMembersByWhatTheirRolesMayDo(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	org := "/api/v1/admin/organizations/" + w.other
	orgPath := base + "/console/organizations/" + w.other
	adminCall(t, w.srv, http.MethodPut, org+"/roles/principal", map[string]any{"permissions": []string{"organization:read", "organization:manage", "users:manage"}}, http.StatusOK)
	adminCall(t, w.srv, http.MethodPut, org+"/roles/helper", map[string]any{"permissions": []string{"organization:read", "users:manage"}}, http.StatusOK)
	// Accounts the school made, so that a suspension is the account's.
	homed := func(email, role string) domain.User {
		u := newConsoleUser(t, w.srv, email, "Test", role, w.other)
		adminCall(t, w.srv, http.MethodPut, org+"/members/"+u.ID, map[string]any{"role": role}, http.StatusOK)
		return u
	}
	principal := homed("principal@shelbyville.example", "principal")
	helper := homed("helper@shelbyville.example", "helper")
	coOwner := homed("co-owner@shelbyville.example", "owner")
	staff := homed("staff@shelbyville.example", "member")
	pupil := homed("pupil@shelbyville.example", "member")

	// The school's directory puts staff in a group mapped to admin.
	ob, opage := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
	require.Equal(t, http.StatusOK, opage.status)
	oform := opage.form(t, "csrf_token")
	require.NotNil(t, oform)
	token := consoleSCIMToken(t, ob, orgPath, oform.values(), "Entra ID")
	body, _ := json.Marshal(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Staff Admins",
		"members": []map[string]any{{"value": staff.ID}},
	})
	req, _ := http.NewRequest(http.MethodPost, base+"/scim/v2/Groups", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var group map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&group))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, group)
	adminCall(t, w.srv, http.MethodPut, org+"/groups/"+group["id"].(string)+"/role", map[string]any{"role": "admin"}, http.StatusOK)

	try := func(b *http.Client, csrf url.Values, who domain.User, action string) int {
		t.Helper()
		return guidePost(t, ctx, b, orgPath+"/members/"+who.ID+"/"+action, csrf).status
	}
	status := func(u domain.User) domain.UserStatus {
		t.Helper()
		got, err := w.srv.Users.GetUser(ctx, u.ID)
		require.NoError(t, err)
		return got.Status
	}

	t.Run("a role a group maps to opens the console as what it may do", func(t *testing.T) {
		sb, spage := consoleSignIn(t, w.srv, staff.Email, consolePassword)
		require.Equal(t, http.StatusOK, spage.status, spage.body)
		got := guideGet(t, ctx, sb, orgPath)
		assert.Equal(t, http.StatusOK, got.status, "staff administers the school through the group")
		assert.NotContains(t, got.body, `id="scim-tokens"`, "as an admin, not an owner")
	})

	t.Run("an admin acts on none of them but a plain member", func(t *testing.T) {
		ab, apage := consoleSignIn(t, w.srv, w.admin, consolePassword)
		require.Equal(t, http.StatusOK, apage.status)
		csrf := apage.form(t, "csrf_token").values()
		for _, u := range []domain.User{principal, helper, coOwner, staff} {
			for _, action := range []string{"suspend", "remove"} {
				assert.Equal(t, http.StatusForbidden, try(ab, csrf, u, action), "%s %s", action, u.Email)
			}
			assert.Equal(t, domain.UserActive, status(u), u.Email)
		}
		list := guideGet(t, ctx, ab, orgPath)
		assert.NotContains(t, list.body, "/members/"+coOwner.ID+"/suspend", "the list offers no button the admin can't use")
		assert.NotContains(t, list.body, "/members/"+principal.ID+"/remove")
		assert.Contains(t, list.body, "/members/"+pupil.ID+"/suspend")
		assert.Equal(t, http.StatusOK, try(ab, csrf, pupil, "suspend"), "a plain member")
		assert.Equal(t, domain.UserSuspended, status(pupil))
	})

	t.Run("an owner acts on admins by any name, never on an owner by any name", func(t *testing.T) {
		csrf := oform.values()
		for _, u := range []domain.User{principal, coOwner} {
			for _, action := range []string{"suspend", "remove"} {
				assert.Equal(t, http.StatusForbidden, try(ob, csrf, u, action), "%s %s", action, u.Email)
			}
			assert.Equal(t, domain.UserActive, status(u), u.Email)
		}
		for _, u := range []domain.User{helper, staff} {
			assert.Equal(t, http.StatusOK, try(ob, csrf, u, "suspend"), u.Email)
			assert.Equal(t, domain.UserSuspended, status(u), u.Email)
			assert.Equal(t, http.StatusOK, try(ob, csrf, u, "reactivate"), u.Email)
		}
	})

	t.Run("a platform administrator acts on owners", func(t *testing.T) {
		pb, ppage := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, ppage.status)
		csrf := ppage.form(t, "csrf_token").values()
		assert.Equal(t, http.StatusOK, try(pb, csrf, coOwner, "suspend"))
		assert.Equal(t, domain.UserSuspended, status(coOwner))
	})
}

// A sign-in in the very second an account's sign-ins were reset makes a
// token the console refuses (auth_time has whole seconds): the console
// asks for a new sign-in rather than send the browser round for ever.
func TestConsoleSignInInTheSecondOfAResetDoesNotLoop(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	u, err := w.srv.Users.GetUserByEmail(ctx, w.ownerEmail)
	require.NoError(t, err)
	_, err = w.srv.Users.UpdateUser(ctx, u.ID, func(u *domain.User) error { u.NotBefore = time.Now(); return nil })
	require.NoError(t, err)
	b, page := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword) // a loop would fail here, after 10 redirects
	require.Equal(t, http.StatusOK, page.status)
	switch page.url.Path {
	case "/login": // still the reset's second: asked to sign in again
		login := page.form(t, "password")
		require.NotNil(t, login, "the sign-in page, not a loop: %s", page.body)
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		vals := login.values()
		vals.Set("email", w.ownerEmail)
		vals.Set("password", consolePassword)
		again := guidePost(t, ctx, b, login.action, vals)
		require.Equal(t, http.StatusOK, again.status)
		assert.Equal(t, "/console", again.url.Path, "a second later, the sign-in holds")
	case "/console":
	default:
		t.Fatalf("landed on %s", page.url)
	}
}

// A policy raised while a console session lasts applies at its next
// request: a session of one factor no longer opens the console for an
// account the policy now asks a second factor of.
func TestConsoleSessionMeetsAPolicyRaisedMeanwhile(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	orgPath := w.srv.BaseURL + "/console/organizations/" + w.other
	// An admin by the role's name, and one by a custom role's permissions:
	// the policy asks the same of both.
	adminCall(t, w.srv, http.MethodPut, "/api/v1/admin/organizations/"+w.other+"/roles/staff", map[string]any{"permissions": []string{"organization:read", "users:manage"}}, http.StatusOK)
	addMember(t, w.srv, w.other, "staff@shelbyville.example", "staff")
	browsers := map[string]*http.Client{}
	for _, email := range []string{w.admin, "staff@shelbyville.example"} {
		b, page := consoleSignIn(t, w.srv, email, consolePassword)
		require.Equal(t, http.StatusOK, page.status, email)
		require.Equal(t, http.StatusOK, guideGet(t, ctx, b, orgPath).status, email)
		browsers[email] = b
	}

	adminCall(t, w.srv, http.MethodPatch, "/api/v1/admin/organizations/"+w.other, map[string]any{"mfaPolicy": "required_for_admins"}, http.StatusOK)
	for email, b := range browsers {
		got := guideGet(t, ctx, b, orgPath)
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Equal(t, "/login", got.url.Path, "%s: the console signs in again, and the provider's one-factor session no longer counts", email)
		assert.NotContains(t, got.body, `id="member-list"`)
	}
	// A plain member is not asked.
	mb, mpage := consoleSignIn(t, w.srv, w.member, consolePassword)
	_ = mb
	assert.Equal(t, http.StatusForbidden, mpage.status, "a member signs in with a password, and the console is not theirs")
}

// A role that reads the organization's users (users:read) and manages
// none sees what an admin sees in the console and changes nothing.
func TestConsoleReaderChangesNothing(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	orgPath := w.srv.BaseURL + "/console/organizations/" + w.other
	adminCall(t, w.srv, http.MethodPut, "/api/v1/admin/organizations/"+w.other+"/roles/auditor", map[string]any{"permissions": []string{"organization:read", "users:read"}}, http.StatusOK)
	addMember(t, w.srv, w.other, "auditor@shelbyville.example", "auditor")
	pupil := addMember(t, w.srv, w.other, "pupil@shelbyville.example", "member")

	b, page := consoleSignIn(t, w.srv, "auditor@shelbyville.example", consolePassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	org := guideGet(t, ctx, b, orgPath)
	require.Equal(t, http.StatusOK, org.status)
	assert.Contains(t, org.body, "pupil@shelbyville.example", "the members are shown")
	assert.Contains(t, org.body, `id="read-only"`)
	assert.NotContains(t, org.body, "Invite member")
	assert.NotContains(t, org.body, "/members/"+pupil.ID+"/suspend")
	assert.Equal(t, http.StatusOK, guideGet(t, ctx, b, orgPath+"/activity").status, "and the activity")
	detail := guideGet(t, ctx, b, orgPath+"/members/"+pupil.ID)
	require.Equal(t, http.StatusOK, detail.status)
	assert.NotContains(t, detail.body, "/suspend")

	form := page.form(t, "csrf_token").values() // the home page's sign-out form carries it
	form.Set("email", "new@shelbyville.example")
	form.Set("role", "member")
	for _, path := range []string{"/members", "/members/" + pupil.ID + "/suspend", "/members/" + pupil.ID + "/remove", "/members/" + pupil.ID + "/role", "/scim-tokens"} {
		assert.Equal(t, http.StatusForbidden, guidePost(t, ctx, b, orgPath+path, form).status, path)
	}
	stored, err := w.srv.Users.GetUser(ctx, pupil.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.UserActive, stored.Status)
	_, err = w.srv.Users.GetUserByEmail(ctx, "new@shelbyville.example")
	assert.Error(t, err, "nobody was invited")
}
