package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// membersWorld is a consoleWorld with a second school, Ogdenville, and its
// owner; an account whose home is Ogdenville and which is a member of both
// schools, holding the license of an app granted Shelbyville and of one
// granted Ogdenville only.
type membersWorld struct {
	*consoleWorld
	ogden, ogdenOwner  string // Ogdenville's id, its owner's email
	shared             domain.User
	appHere, appThere  string // the apps' names
	appHereID          string
	appThereID         string
	ownerID, memberID  string
	adminID, coOwnerID string // coOwnerID: a second owner of Shelbyville
}

func newMembersWorld(t *testing.T) *membersWorld {
	t.Helper()
	w := &membersWorld{consoleWorld: newConsoleWorld(t), ogdenOwner: "owner@ogdenville.example"}
	srv := w.srv
	org := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Ogdenville High"}, http.StatusCreated)
	w.ogden = org["id"].(string)
	owner := newConsoleUser(t, w.srv, w.ogdenOwner, "Olga", "Ogden", "")
	putMember(t, w, w.ogden, owner.ID, "owner")
	w.shared = newConsoleUser(t, w.srv, "ada.lovelace@ogdenville.example", "Ada", "Lovelace", w.ogden)
	putMember(t, w, w.ogden, w.shared.ID, "member")
	putMember(t, w, w.other, w.shared.ID, "member")
	coOwner := newConsoleUser(t, w.srv, "coowner@shelbyville.example", "Co", "Owner", "")
	putMember(t, w, w.other, coOwner.ID, "owner")
	w.coOwnerID = coOwner.ID
	w.ownerID, w.memberID, w.adminID = w.userID(t, w.ownerEmail), w.userID(t, w.member), w.userID(t, w.admin)

	w.appHere, w.appThere = "Shelbyville Gradebook", "Ogdenville Library"
	for name, orgID := range map[string]string{w.appHere: w.other, w.appThere: w.ogden} {
		id, _ := registerBrowserClient(t, srv, name, "https://app.example/callback")
		if orgID == w.other {
			w.appHereID = id
		} else {
			w.appThereID = id
		}
		adminCall(t, srv, http.MethodPut, "/api/v1/admin/clients/"+id+"/grants/"+orgID, map[string]any{"actions": []string{"read"}}, http.StatusOK)
		adminCall(t, srv, http.MethodPut, "/api/v1/admin/clients/"+id+"/licenses/"+w.shared.ID, nil, http.StatusCreated)
	}
	return w
}

func putMember(t *testing.T, w *membersWorld, orgID, userID, role string) {
	t.Helper()
	adminCall(t, w.srv, http.MethodPut, "/api/v1/admin/organizations/"+orgID+"/members/"+userID, map[string]any{"role": role}, http.StatusOK)
}

func (w *consoleWorld) userID(t *testing.T, email string) string {
	t.Helper()
	u, err := w.srv.Users.GetUserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}

// roleIn returns a user's role in an organization, "" when not a member,
// as the admin API reads it.
func (w *membersWorld) roleIn(t *testing.T, userID, orgID string) string {
	t.Helper()
	u := adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/users/"+userID, nil, http.StatusOK)
	orgs, _ := u["organizations"].([]any)
	for _, o := range orgs {
		m, _ := o.(map[string]any)
		if m["organizationId"] == orgID {
			return m["role"].(string)
		}
	}
	return ""
}

// signIn signs an account into the console and returns its browser and a
// form's values carrying the session's csrf_token.
func (w *membersWorld) signIn(t *testing.T, email, password string) (*http.Client, url.Values) {
	t.Helper()
	b, page := consoleSignIn(t, w.srv, email, password)
	require.Equal(t, http.StatusOK, page.status, page.body)
	form := page.form(t, "csrf_token")
	require.NotNil(t, form)
	return b, form.values()
}

// eventsOf returns the types of the events about userID published after
// the first skip events.
func eventsOf(t *testing.T, w *membersWorld, skip int, userID string) []string {
	t.Helper()
	var out []string
	for _, e := range w.srv.events(t)[skip:] {
		if e.UserID == userID {
			out = append(out, e.Type)
		}
	}
	return out
}

var memberEmailCell = regexp.MustCompile(`<td>([^<@]+@[^<]+)</td>`)

func memberEmails(body string) []string {
	var out []string
	for _, m := range memberEmailCell.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestConsoleSearchesMembers(t *testing.T) {
	t.Parallel()
	w := newMembersWorld(t)
	ctx := context.Background()
	for i := range 60 {
		u := domain.User{
			ID: uuid.NewString(), Email: fmt.Sprintf("pupil%02d@shelbyville.example", i), GivenName: "Pupil", FamilyName: fmt.Sprintf("No%02d", i),
			Status: domain.UserActive, CreatedAt: time.Now(), UpdatedAt: time.Now(),
		}
		require.NoError(t, w.srv.Users.CreateUser(ctx, u))
		putMember(t, w, w.other, u.ID, "member")
	}
	b, _ := w.signIn(t, w.ownerEmail, consolePassword)
	org := w.srv.BaseURL + "/console/organizations/" + w.other

	t.Run("a query pages its matches by cursor and keeps itself in the next page's link", func(t *testing.T) {
		page := guideGet(t, ctx, b, org+"?q=PUPIL")
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Contains(t, page.body, `value="PUPIL"`, "the search box shows the query")
		first := memberEmails(page.body)
		require.Len(t, first, 50)
		next := regexp.MustCompile(`<a href="([^"]+)">Next page</a>`).FindStringSubmatch(page.body)
		require.NotNil(t, next)
		link := strings.ReplaceAll(next[1], "&amp;", "&")
		assert.Contains(t, link, "q=PUPIL")
		page = guideGet(t, ctx, b, w.srv.BaseURL+link)
		require.Equal(t, http.StatusOK, page.status, page.body)
		second := memberEmails(page.body)
		require.Len(t, second, 10)
		assert.NotContains(t, page.body, "Next page")
		seen := map[string]bool{}
		for _, e := range append(first, second...) {
			assert.True(t, strings.HasPrefix(e, "pupil"), e)
			assert.False(t, seen[e], "%s twice", e)
			seen[e] = true
		}
	})

	t.Run("names and emails match by prefix, every word", func(t *testing.T) {
		for q, want := range map[string][]string{
			"ada":           {w.shared.Email},
			"Lovelace":      {w.shared.Email},
			"ada.lov":       {w.shared.Email},
			"pupil no07":    {"pupil07@shelbyville.example"},
			"test owner":    {w.ownerEmail},
			"owner@shelby":  {w.ownerEmail},
			"olga":          nil, // Ogdenville's owner is no member here
			"ovelace":       nil, // the middle of a name
			"zz-no-such-pe": nil,
		} {
			page := guideGet(t, ctx, b, org+"?q="+url.QueryEscape(q))
			require.Equal(t, http.StatusOK, page.status, "%q: %s", q, page.body)
			assert.ElementsMatch(t, want, memberEmails(page.body), "q=%q", q)
			if want == nil {
				assert.Contains(t, page.body, "No member matches", "q=%q", q)
			}
		}
	})

	t.Run("a bad cursor, a too-long query, too many words or a control character is a clear 400", func(t *testing.T) {
		for _, q := range []string{
			"q=ada&cursor=!!!", "q=ada&cursor=AAAA", "q=ada&cursor=%00",
			"q=" + strings.Repeat("a", 101), "q=a+b+c+d+e", "q=ada%07",
		} {
			page := guideGet(t, ctx, b, org+"?"+q)
			assert.Equal(t, http.StatusBadRequest, page.status, "%s: %s", q, page.body)
		}
		page := guideGet(t, ctx, b, org+"?q="+strings.Repeat("a", 100))
		assert.Equal(t, http.StatusOK, page.status, "100 characters are fine")
	})

	t.Run("another school's owner and a plain member get 403", func(t *testing.T) {
		for _, email := range []string{w.ogdenOwner, w.member} {
			ob, page := consoleSignIn(t, w.srv, email, consolePassword)
			_ = page
			got := guideGet(t, ctx, ob, org+"?q=ada")
			assert.Equal(t, http.StatusForbidden, got.status, email)
			assert.NotContains(t, got.body, w.shared.Email)
		}
	})
}

func TestConsoleShowsAMember(t *testing.T) {
	t.Parallel()
	w := newMembersWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	here := base + "/console/organizations/" + w.other + "/members/"

	t.Run("an owner sees the account, and memberships and licenses of their school only", func(t *testing.T) {
		b, _ := w.signIn(t, w.ownerEmail, consolePassword)
		org := guideGet(t, ctx, b, base+"/console/organizations/"+w.other)
		assert.Contains(t, org.body, `href="/console/organizations/`+w.other+`/members/`+w.shared.ID+`">Ada Lovelace</a>`, "the list links each member's page")
		page := guideGet(t, ctx, b, here+w.shared.ID)
		require.Equal(t, http.StatusOK, page.status, page.body)
		for _, want := range []string{
			"Ada Lovelace", w.shared.Email, `<td id="member-status">active</td>`, `<td id="member-email-verified">yes</td>`,
			`<td id="member-home">another organization</td>`, `<td id="member-role">member</td>`,
			"Shelbyville Elementary", w.appHere,
			// Joining the school, through the admin API, in the school's activity.
			`<ul class="list" id="member-events">` + "\n" + `<li>user.updated <span class="hint">`, "by Admin API key dev seed</span></li>",
			`href="/console/organizations/` + w.other + `/activity?user=` + w.shared.ID + `">All of their events</a>`,
		} {
			assert.Contains(t, page.body, want)
		}
		assert.NotContains(t, page.body, "Ogdenville", "another school's membership, home or app is not told")
		assert.NotContains(t, page.body, w.appThere)
		assert.Contains(t, page.body, "/members/"+w.shared.ID+"/remove", "the owner may remove a member")
		assert.Contains(t, page.body, `<option value="admin">admin</option>`, "and make them an admin")
		assert.NotContains(t, page.body, `<option value="owner"`, "but not an owner")
	})

	t.Run("a platform administrator sees every membership and license", func(t *testing.T) {
		b, _ := w.signIn(t, seedEmail, seedPassword)
		page := guideGet(t, ctx, b, here+w.shared.ID)
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.Contains(t, page.body, `<a href="/console/organizations/`+w.ogden+`">Ogdenville High</a></td>`, "the home is named")
		assert.Contains(t, page.body, "Shelbyville Elementary")
		assert.Contains(t, page.body, w.appHere)
		assert.Contains(t, page.body, w.appThere)
	})

	t.Run("an admin sees a member it may not manage, without the buttons", func(t *testing.T) {
		b, _ := w.signIn(t, w.admin, consolePassword)
		page := guideGet(t, ctx, b, here+w.ownerID)
		require.Equal(t, http.StatusOK, page.status, page.body)
		assert.NotContains(t, page.body, "/remove")
		assert.NotContains(t, page.body, "/role")
	})

	t.Run("no member, another school's member or another school's viewer is the same 403", func(t *testing.T) {
		b, _ := w.signIn(t, w.ownerEmail, consolePassword)
		ogdenOwner := w.userID(t, w.ogdenOwner)
		for _, id := range []string{"no-such-user", ogdenOwner, strings.Repeat("x", 65)} {
			got := guideGet(t, ctx, b, here+id)
			assert.Equal(t, http.StatusForbidden, got.status, id)
		}
		got := guideGet(t, ctx, b, base+"/console/organizations/"+w.ogden+"/members/"+w.shared.ID)
		assert.Equal(t, http.StatusForbidden, got.status, "a member of a school the owner does not run")
		for _, email := range []string{w.ogdenOwner, w.member} {
			ob, _ := consoleSignIn(t, w.srv, email, consolePassword)
			got := guideGet(t, ctx, ob, here+w.shared.ID)
			assert.Equal(t, http.StatusForbidden, got.status, email)
			assert.NotContains(t, got.body, w.shared.Email)
		}
	})
}

func TestConsoleRemovesMembers(t *testing.T) {
	t.Parallel()
	w := newMembersWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	here := base + "/console/organizations/" + w.other + "/members/"

	t.Run("refused: a forged form, another school's owner, a plain member; nothing changes", func(t *testing.T) {
		b, vals := w.signIn(t, w.ownerEmail, consolePassword)
		vals.Set("csrf_token", "forged")
		got := guidePost(t, ctx, b, here+w.shared.ID+"/remove", vals)
		assert.Equal(t, http.StatusBadRequest, got.status)
		ob, ov := w.signIn(t, w.ogdenOwner, consolePassword)
		got = guidePost(t, ctx, ob, here+w.shared.ID+"/remove", ov)
		assert.Equal(t, http.StatusForbidden, got.status, "another school's owner")
		mb, _ := consoleSignIn(t, w.srv, w.member, consolePassword)
		got = guidePost(t, ctx, mb, here+w.shared.ID+"/remove", url.Values{"csrf_token": {"x"}})
		assert.Equal(t, http.StatusForbidden, got.status, "a plain member")
		assert.Equal(t, "member", w.roleIn(t, w.shared.ID, w.other), "still a member")
	})

	t.Run("an admin removes no owner, no admin and not themselves", func(t *testing.T) {
		b, vals := w.signIn(t, w.admin, consolePassword)
		for _, id := range []string{w.ownerID, w.adminID, "no-such-user"} {
			got := guidePost(t, ctx, b, here+id+"/remove", vals)
			assert.Equal(t, http.StatusForbidden, got.status, id)
		}
		assert.Equal(t, "owner", w.roleIn(t, w.ownerID, w.other))
		assert.Equal(t, "admin", w.roleIn(t, w.adminID, w.other))
	})

	t.Run("an admin removes a member from elsewhere: the membership and its licenses go, the account stays", func(t *testing.T) {
		b, vals := w.signIn(t, w.admin, consolePassword)
		skip := len(w.srv.events(t))
		got := guidePost(t, ctx, b, here+w.shared.ID+"/remove", vals)
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Equal(t, "/console/organizations/"+w.other, got.url.Path, "back to the school")
		assert.NotContains(t, got.body, w.shared.Email)
		assert.Equal(t, "", w.roleIn(t, w.shared.ID, w.other), "no longer a member")
		assert.Equal(t, "member", w.roleIn(t, w.shared.ID, w.ogden), "still a member of their home")
		u, err := w.srv.Users.GetUser(ctx, w.shared.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.UserActive, u.Status)
		assert.Contains(t, eventsOf(t, w, skip, w.shared.ID), domain.EventUserUpdated, "as the directory's removal emits")
		lic := fmt.Sprint(adminCall(t, w.srv, http.MethodGet, "/api/v1/admin/users/"+w.shared.ID+"/licenses", nil, http.StatusOK))
		assert.NotContains(t, lic, w.appHereID, "the app granted only this school lost its license")
		assert.Contains(t, lic, w.appThereID, "the home school's app keeps it")
		got = guidePost(t, ctx, b, here+w.shared.ID+"/remove", vals)
		assert.Equal(t, http.StatusForbidden, got.status, "gone: no longer a member")
	})

	t.Run("an owner removes a member the school made: the account is deactivated", func(t *testing.T) {
		b, vals := w.signIn(t, w.ownerEmail, consolePassword)
		invite := url.Values{"csrf_token": vals["csrf_token"], "email": {"made@shelbyville.example"}, "first_name": {"Made"}, "role": {"member"}}
		require.Equal(t, http.StatusOK, guidePost(t, ctx, b, base+"/console/organizations/"+w.other+"/members", invite).status)
		made := w.userID(t, "made@shelbyville.example")
		page := guideGet(t, ctx, b, here+made)
		assert.Contains(t, page.body, "removing it deactivates the account")
		skip := len(w.srv.events(t))
		got := guidePost(t, ctx, b, here+made+"/remove", vals)
		require.Equal(t, http.StatusOK, got.status, got.body)
		u, err := w.srv.Users.GetUser(ctx, made)
		require.NoError(t, err)
		assert.Equal(t, domain.UserDeactivated, u.Status)
		assert.Equal(t, []string{domain.EventUserDeactivated}, eventsOf(t, w, skip, made))
		assert.Contains(t, got.body, "Reactivate made@shelbyville.example", "it can be brought back")

		got = guidePost(t, ctx, b, here+w.ownerID+"/remove", vals)
		assert.Equal(t, http.StatusForbidden, got.status, "nobody removes themselves")
	})
}

func TestConsoleOwnersChangeRoles(t *testing.T) {
	t.Parallel()
	w := newMembersWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	here := base + "/console/organizations/" + w.other + "/members/"
	role := func(vals url.Values, r string) url.Values {
		out := url.Values{"csrf_token": vals["csrf_token"], "role": {r}}
		return out
	}

	t.Run("an owner's page offers member and admin, on members and admins other than owners and themselves", func(t *testing.T) {
		b, _ := w.signIn(t, w.ownerEmail, consolePassword)
		page := guideGet(t, ctx, b, base+"/console/organizations/"+w.other)
		require.Equal(t, http.StatusOK, page.status)
		assert.Contains(t, page.body, `id="role-`+w.memberID+`"`)
		assert.Contains(t, page.body, `id="role-`+w.adminID+`"`)
		assert.NotContains(t, page.body, `id="role-`+w.ownerID+`"`, "not on themselves")
		assert.NotContains(t, page.body, `id="role-`+w.coOwnerID+`"`, "not on an owner")
		assert.NotContains(t, page.body, `<option value="owner"`)
		ab, _ := w.signIn(t, w.admin, consolePassword)
		page = guideGet(t, ctx, ab, base+"/console/organizations/"+w.other)
		assert.NotContains(t, page.body, `id="role-`, "an admin gets no role form")
	})

	t.Run("an owner makes a member an admin and back, with the API's events", func(t *testing.T) {
		b, vals := w.signIn(t, w.ownerEmail, consolePassword)
		skip := len(w.srv.events(t))
		got := guidePost(t, ctx, b, here+w.memberID+"/role", role(vals, "admin"))
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Equal(t, "admin", w.roleIn(t, w.memberID, w.other))
		got = guidePost(t, ctx, b, here+w.memberID+"/role", role(vals, "member"))
		require.Equal(t, http.StatusOK, got.status, got.body)
		assert.Equal(t, "member", w.roleIn(t, w.memberID, w.other))
		assert.Equal(t, []string{domain.EventUserUpdated, domain.EventUserUpdated}, eventsOf(t, w, skip, w.memberID))
		got = guidePost(t, ctx, b, here+w.memberID+"/role", role(vals, "member"))
		require.Equal(t, http.StatusOK, got.status)
		assert.Len(t, eventsOf(t, w, skip, w.memberID), 2, "the same role again changes nothing and tells nothing")
	})

	t.Run("an owner makes no owner, changes no owner nor themselves, and gives only member or admin", func(t *testing.T) {
		b, vals := w.signIn(t, w.ownerEmail, consolePassword)
		for _, c := range []struct {
			who, role string
			status    int
		}{
			{w.memberID, "owner", http.StatusForbidden},
			{w.coOwnerID, "member", http.StatusForbidden},
			{w.ownerID, "admin", http.StatusForbidden},
			{"no-such-user", "admin", http.StatusForbidden},
			{w.memberID, "no-such-role", http.StatusBadRequest},
			{w.memberID, "", http.StatusBadRequest},
		} {
			got := guidePost(t, ctx, b, here+c.who+"/role", role(vals, c.role))
			assert.Equal(t, c.status, got.status, "%s to %q: %s", c.who, c.role, got.body)
		}
		vals.Set("csrf_token", "forged")
		got := guidePost(t, ctx, b, here+w.memberID+"/role", role(vals, "admin"))
		assert.Equal(t, http.StatusBadRequest, got.status)
		assert.Equal(t, "member", w.roleIn(t, w.memberID, w.other))
		assert.Equal(t, "owner", w.roleIn(t, w.coOwnerID, w.other))
		assert.Equal(t, "owner", w.roleIn(t, w.ownerID, w.other))
	})

	t.Run("an admin, another school's owner and a plain member change no roles", func(t *testing.T) {
		ab, avals := w.signIn(t, w.admin, consolePassword)
		got := guidePost(t, ctx, ab, here+w.memberID+"/role", role(avals, "admin"))
		assert.Equal(t, http.StatusForbidden, got.status)
		ob, ovals := w.signIn(t, w.ogdenOwner, consolePassword)
		got = guidePost(t, ctx, ob, here+w.memberID+"/role", role(ovals, "admin"))
		assert.Equal(t, http.StatusForbidden, got.status)
		mb, _ := consoleSignIn(t, w.srv, w.member, consolePassword)
		got = guidePost(t, ctx, mb, here+w.adminID+"/role", url.Values{"csrf_token": {"x"}, "role": {"member"}})
		assert.Equal(t, http.StatusForbidden, got.status)
		assert.Equal(t, "member", w.roleIn(t, w.memberID, w.other))
		assert.Equal(t, "admin", w.roleIn(t, w.adminID, w.other))
	})
}

// A platform administrator's suspension is theirs to lift: the account's
// own school sees why, gets no button, and is refused by the console and
// by its SCIM connection alike.
func TestConsoleLeavesAPlatformSuspensionToThePlatform(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	orgPath := base + "/console/organizations/" + w.other
	pupil := newConsoleUser(t, w.srv, "bart@shelbyville.example", "Bart", "Simpson", w.other)
	adminCall(t, w.srv, http.MethodPut, "/api/v1/admin/organizations/"+w.other+"/members/"+pupil.ID, map[string]any{"role": "member"}, http.StatusOK)
	adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/users/"+pupil.ID+"/suspend", nil, http.StatusOK)

	b, page := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
	require.Equal(t, http.StatusOK, page.status)
	form := page.form(t, "csrf_token")
	require.NotNil(t, form)
	detail := guideGet(t, ctx, b, orgPath+"/members/"+pupil.ID)
	require.Equal(t, http.StatusOK, detail.status, detail.body)
	assert.Contains(t, detail.body, `<td id="member-status">suspended, by a platform administrator</td>`)
	assert.Contains(t, detail.body, `id="platform-locked"`)
	assert.NotContains(t, detail.body, "/members/"+pupil.ID+"/reactivate", "no button the owner can't use")
	list := guideGet(t, ctx, b, orgPath)
	assert.Contains(t, list.body, "(account suspended by a platform administrator)")

	got := guidePost(t, ctx, b, orgPath+"/members/"+pupil.ID+"/reactivate", form.values())
	assert.Equal(t, http.StatusForbidden, got.status, got.body)
	assert.Contains(t, got.body, "only a platform administrator can reactivate")
	stored, err := w.srv.Users.GetUser(ctx, pupil.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.UserSuspended, stored.Status, "still suspended")

	// The school's SCIM connection is refused the same way.
	token := consoleSCIMToken(t, b, orgPath, form.values(), "Entra ID")
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}`
	assert.Equal(t, http.StatusForbidden, scimCall(t, http.MethodPatch, base+"/scim/v2/Users/"+pupil.ID, token, patch))
	stored, err = w.srv.Users.GetUser(ctx, pupil.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.UserSuspended, stored.Status)

	// A school cannot free the address by deleting the account either.
	assert.Equal(t, http.StatusForbidden, scimCall(t, http.MethodDelete, base+"/scim/v2/Users/"+pupil.ID, token, ""))
	_, err = w.srv.Users.GetUser(ctx, pupil.ID)
	require.NoError(t, err, "still there")

	// A platform administrator lifts it from the console, as the platform.
	pb, ppage := consoleSignIn(t, w.srv, seedEmail, seedPassword)
	require.Equal(t, http.StatusOK, ppage.status)
	pdetail := guideGet(t, ctx, pb, orgPath+"/members/"+pupil.ID)
	require.Contains(t, pdetail.body, "/members/"+pupil.ID+"/reactivate", "a platform administrator gets the button")
	got = guidePost(t, ctx, pb, orgPath+"/members/"+pupil.ID+"/reactivate", ppage.form(t, "csrf_token").values())
	require.Equal(t, http.StatusOK, got.status, got.body)
	detail = guideGet(t, ctx, b, orgPath+"/members/"+pupil.ID)
	assert.Contains(t, detail.body, `<td id="member-status">active</td>`)
	stored, err = w.srv.Users.GetUser(ctx, pupil.ID)
	require.NoError(t, err)
	assert.False(t, stored.PlatformLocked, "the lock is lifted")
}
