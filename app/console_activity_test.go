package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
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

// activityRow matches one row of the activity table: time, type, user, by.
var activityRow = regexp.MustCompile(`<tr><td>([0-9: -]+)</td><td>([a-z._]+)</td><td>(?:<a href="[^"]*">)?([^<]*)(?:</a>)?</td><td>([^<]*)</td></tr>`)

type activityLine struct{ at, typ, user, by string }

func activityLines(body string) []activityLine {
	var out []activityLine
	for _, m := range activityRow.FindAllStringSubmatch(body, -1) {
		out = append(out, activityLine{m[1], m[2], html.UnescapeString(m[3]), html.UnescapeString(m[4])})
	}
	return out
}

// has reports whether lines hold an event of typ about user by by.
func has(lines []activityLine, typ, user, by string) bool {
	for _, l := range lines {
		if l.typ == typ && l.user == user && l.by == by {
			return true
		}
	}
	return false
}

func TestConsoleActivity(t *testing.T) {
	t.Parallel()
	w := newConsoleWorld(t)
	ctx := context.Background()
	base := w.srv.BaseURL
	orgPath := base + "/console/organizations/" + w.other
	activity := orgPath + "/activity"

	b, page := consoleSignIn(t, w.srv, w.ownerEmail, consolePassword)
	require.Equal(t, http.StatusOK, page.status, page.body)
	form := page.form(t, "csrf_token")
	require.NotNil(t, form)

	t.Run("a change made in the console names the console's user", func(t *testing.T) {
		vals := form.values()
		vals.Set("email", "pupil@shelbyville.example")
		vals.Set("role", "member")
		require.Equal(t, http.StatusOK, guidePost(t, ctx, b, orgPath+"/members", vals).status)
		pupil, err := w.srv.Users.GetUserByEmail(ctx, "pupil@shelbyville.example")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, guidePost(t, ctx, b, orgPath+"/members/"+pupil.ID+"/suspend", form.values()).status)

		got := guideGet(t, ctx, b, activity)
		require.Equal(t, http.StatusOK, got.status, got.body)
		lines := activityLines(got.body)
		require.NotEmpty(t, lines, got.body)
		assert.Equal(t, activityLine{lines[0].at, domain.EventUserSuspended, "pupil@shelbyville.example", w.ownerEmail}, lines[0], "the newest first")
		assert.True(t, has(lines, domain.EventUserCreated, "pupil@shelbyville.example", w.ownerEmail), "the invitation: %v", lines)
		assert.Contains(t, got.body, `<label for="activity-type">`, "the filter's inputs have labels")
		assert.Contains(t, got.body, `<label for="activity-user">`)
		assert.NotContains(t, got.body, "<script")
	})

	t.Run("a change through the admin API names the admin key", func(t *testing.T) {
		u := addMember(t, w.srv, w.other, "leaver@shelbyville.example", "member")
		adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/users/"+u.ID+"/deactivate", nil, http.StatusOK)
		lines := activityLines(guideGet(t, ctx, b, activity).body)
		assert.True(t, has(lines, domain.EventUserDeactivated, u.Email, "Admin API key dev seed"), "%v", lines)
	})

	t.Run("a change through SCIM names the token, and the organization page shows the last sync", func(t *testing.T) {
		org := guideGet(t, ctx, b, orgPath)
		assert.Contains(t, org.body, `id="scim-last-sync">No sync yet<`)
		assert.Contains(t, org.body, `href="/console/organizations/`+w.other+`/activity"`)
		token := consoleSCIMToken(t, b, orgPath, form.values(), "Entra ID")
		body, _ := json.Marshal(map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName": "synced@shelbyville.example", "name": map[string]any{"givenName": "Sync", "familyName": "Ed"},
			"emails": []map[string]any{{"value": "synced@shelbyville.example", "primary": true}},
		})
		require.Equal(t, http.StatusCreated, scimCall(t, http.MethodPost, base+"/scim/v2/Users", token, string(body)))

		lines := activityLines(guideGet(t, ctx, b, activity).body)
		assert.True(t, has(lines, domain.EventUserCreated, "synced@shelbyville.example", "SCIM token Entra ID"), "%v", lines)
		org = guideGet(t, ctx, b, orgPath)
		assert.Regexp(t, `id="scim-last-sync">Last sync [0-9-]+ [0-9:]+ UTC: user\.created by token Entra ID<`, org.body)

		// An admin does not see the SCIM section, nor the line.
		ab, apage := consoleSignIn(t, w.srv, w.admin, consolePassword)
		require.Equal(t, http.StatusOK, apage.status)
		aorg := guideGet(t, ctx, ab, orgPath)
		assert.NotContains(t, aorg.body, "scim-last-sync")
		assert.Equal(t, http.StatusOK, guideGet(t, ctx, ab, activity).status, "but sees the activity")
	})

	t.Run("filters keep the type and the user asked for", func(t *testing.T) {
		got := guideGet(t, ctx, b, activity+"?type="+domain.EventUserSuspended)
		require.Equal(t, http.StatusOK, got.status)
		lines := activityLines(got.body)
		require.NotEmpty(t, lines)
		for _, l := range lines {
			assert.Equal(t, domain.EventUserSuspended, l.typ)
		}
		assert.Contains(t, got.body, `<option value="user.suspended" selected>`)

		pupil, err := w.srv.Users.GetUserByEmail(ctx, "pupil@shelbyville.example")
		require.NoError(t, err)
		for _, user := range []string{"pupil@shelbyville.example", "PUPIL@shelbyville.example", pupil.ID} {
			lines := activityLines(guideGet(t, ctx, b, activity+"?user="+url.QueryEscape(user)).body)
			require.NotEmpty(t, lines, user)
			for _, l := range lines {
				assert.Equal(t, "pupil@shelbyville.example", l.user, "filtered by %s", user)
			}
		}
		none := guideGet(t, ctx, b, activity+"?user=nobody@elsewhere.example")
		assert.Equal(t, http.StatusOK, none.status)
		assert.Contains(t, none.body, `id="no-activity"`, "an email that names no account selects nothing")
	})

	t.Run("pages of 50, newest first, none twice", func(t *testing.T) {
		var events []domain.Event
		for i := range 60 {
			events = append(events, domain.Event{
				ID: uuid.NewString(), Type: domain.EventUserUpdated, OccurredAt: time.Now(), UserID: "paged",
				Data:     []domain.Field{{Key: "userId", Value: "paged"}, {Key: "email", Value: fmt.Sprintf("paged%02d@shelbyville.example", i)}},
				Audience: domain.Audience{OrganizationIDs: []string{w.other}},
			})
		}
		require.NoError(t, w.srv.Events.Publish(ctx, events...))
		first := guideGet(t, ctx, b, activity+"?user=paged")
		lines := activityLines(first.body)
		require.Len(t, lines, 50)
		assert.Equal(t, "paged59@shelbyville.example", lines[0].user)
		next := regexp.MustCompile(`<a href="([^"]+)">Older events</a>`).FindStringSubmatch(first.body)
		require.NotNil(t, next, "a next page")
		second := guideGet(t, ctx, b, base+html.UnescapeString(next[1]))
		require.Equal(t, http.StatusOK, second.status)
		rest := activityLines(second.body)
		require.Len(t, rest, 10, "the filter carries over")
		assert.Equal(t, "paged09@shelbyville.example", rest[0].user)
		assert.Equal(t, "paged00@shelbyville.example", rest[9].user)
		assert.NotContains(t, second.body, "Older events", "the last page")
	})

	t.Run("bad filters are a 400 page", func(t *testing.T) {
		for name, q := range map[string]string{
			"an unknown type":      "type=user.exploded",
			"a 2,000-char user":    "user=" + strings.Repeat("a", 2000),
			"a long email":         "user=" + strings.Repeat("a", 300) + "@x.example",
			"a cursor of letters":  "cursor=abc",
			"a cursor half made":   "cursor=12-",
			"a negative cursor":    "cursor=-5-0",
			"a user with a NUL":    "user=%00x",
			"a cursor too long":    "cursor=" + strings.Repeat("9", 100) + "-0",
			"a user with newlines": "user=a%0Ab",
		} {
			got := guideGet(t, ctx, b, activity+"?"+q)
			assert.Equal(t, http.StatusBadRequest, got.status, "%s: %s", name, got.body)
		}
	})

	t.Run("another school's owner and a plain member get the 403 page", func(t *testing.T) {
		springfield := adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Springfield Elementary"}, http.StatusCreated)
		addMember(t, w.srv, springfield["id"].(string), "owner@springfield.example", "owner")
		ob, opage := consoleSignIn(t, w.srv, "owner@springfield.example", consolePassword)
		require.Equal(t, http.StatusOK, opage.status)
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, ob, activity).status)
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, ob, base+"/console/organizations/no-such-org/activity").status)
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, ob, activity+"?type=bogus").status, "no filter tells anything first")
		own := guideGet(t, ctx, ob, base+"/console/organizations/"+springfield["id"].(string)+"/activity")
		require.Equal(t, http.StatusOK, own.status)
		assert.NotContains(t, own.body, "shelbyville", "another school's events never appear")

		mb, _ := consoleSignIn(t, w.srv, w.member, consolePassword)
		assert.Equal(t, http.StatusForbidden, guideGet(t, ctx, mb, activity).status)
	})

	t.Run("another school's administrator is not named, only said to be one", func(t *testing.T) {
		// A pupil homed in Springfield and also in Shelbyville: Springfield's
		// owner suspends the account from the console, and Shelbyville
		// hears of it without learning who at Springfield did it.
		springfield := adminCall(t, w.srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Springfield High"}, http.StatusCreated)
		sid := springfield["id"].(string)
		addMember(t, w.srv, sid, "head@springfield-high.example", "owner")
		pupil := addMember(t, w.srv, sid, "shared@springfield-high.example", "member")
		_, err := w.srv.Users.UpdateUser(ctx, pupil.ID, func(u *domain.User) error { u.HomeOrganizationID = sid; return nil })
		require.NoError(t, err)
		adminCall(t, w.srv, http.MethodPut, "/api/v1/admin/organizations/"+w.other+"/members/"+pupil.ID, map[string]any{"role": "member"}, http.StatusOK)

		hb, hpage := consoleSignIn(t, w.srv, "head@springfield-high.example", consolePassword)
		require.Equal(t, http.StatusOK, hpage.status)
		hform := hpage.form(t, "csrf_token")
		require.NotNil(t, hform)
		got := guidePost(t, ctx, hb, base+"/console/organizations/"+sid+"/members/"+pupil.ID+"/suspend", hform.values())
		require.Equal(t, http.StatusOK, got.status, got.body)

		mine := activityLines(guideGet(t, ctx, hb, base+"/console/organizations/"+sid+"/activity").body)
		assert.True(t, has(mine, domain.EventUserSuspended, pupil.Email, "head@springfield-high.example"), "Springfield sees its own owner: %v", mine)
		theirs := activityLines(guideGet(t, ctx, b, activity+"?type="+domain.EventUserSuspended).body)
		assert.True(t, has(theirs, domain.EventUserSuspended, pupil.Email, "An administrator of another organization"), "%v", theirs)
		pb, _ := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		all := activityLines(guideGet(t, ctx, pb, activity+"?type="+domain.EventUserSuspended).body)
		assert.True(t, has(all, domain.EventUserSuspended, pupil.Email, "head@springfield-high.example"), "a platform administrator is told: %v", all)
	})

	t.Run("a platform administrator sees any school's activity", func(t *testing.T) {
		pb, ppage := consoleSignIn(t, w.srv, seedEmail, seedPassword)
		require.Equal(t, http.StatusOK, ppage.status)
		got := guideGet(t, ctx, pb, activity+"?type="+domain.EventUserSuspended)
		require.Equal(t, http.StatusOK, got.status)
		assert.True(t, has(activityLines(got.body), domain.EventUserSuspended, "pupil@shelbyville.example", w.ownerEmail))
	})
}
