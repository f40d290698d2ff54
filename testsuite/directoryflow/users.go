package directoryflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var managementChecks = []check{
	{"GET a user answers the profile, the status and the client's memberships", manageGet},
	{"PATCH changes the profile and refuses email as an unknown field", managePatch},
	{"PATCH refuses a bad name, phone number or picture and changes nothing", managePatchInvalid},
	{"suspend and reactivate move the status, and repeating one is a 200 no-op", manageSuspend},
	{"deactivate is final for suspend: suspending a deactivated user is 409", manageDeactivate},
	{"reset-password answers 202 and mails a link to <BaseURL>/reset-password?token=", manageReset},
	{"DELETE answers 204, the user is gone, and the email provisions a new user", manageDelete},
	{"an organization's users page with a cursor until nextCursor is absent", manageList},
	{"listing refuses a bad cursor and a limit of 0, 500 or abc with 400", manageListBadQuery},
	{"an unknown user id is 404 user_not_found on every user endpoint", manageUnknownUser},
}

func manageGet(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "get")
	p := s.newUser(t, c, o.ID, "get")
	r := s.call(t, c, http.MethodGet, userPath(p.UserID), nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	m := r.JSON(t)
	for _, k := range []string{"userId", "email", "emailVerified", "firstName", "lastName", "status", "organizations", "createdAt", "updatedAt"} {
		assert.Contains(t, m, k)
	}
	var u user
	r.decode(t, &u)
	assert.Equal(t, p.UserID, u.UserID)
	assert.Equal(t, p.Email, u.Email)
	assert.False(t, u.EmailVerified, "nobody has proved the inbox yet")
	assert.Equal(t, "invited", u.Status)
	assert.Regexp(t, jsTime, u.UpdatedAt)
}

func managePatch(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "patch")
	p := s.newUser(t, c, o.ID, "patch")
	r := s.call(t, c, http.MethodPatch, userPath(p.UserID), map[string]any{
		"firstName": " Janet ", "lastName": "Doe", "phoneNumber": "+15555550100", "picture": "https://example.com/j.png",
	})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var u user
	r.decode(t, &u)
	assert.Equal(t, "Janet", u.FirstName, "names are trimmed")
	assert.Equal(t, "Doe", u.LastName)
	assert.Equal(t, "+15555550100", u.PhoneNumber)
	assert.Equal(t, "https://example.com/j.png", u.Picture)
	assert.Equal(t, u, s.getUser(t, c, p.UserID), "the change is stored")

	r = s.call(t, c, http.MethodPatch, userPath(p.UserID), map[string]any{"lastName": "Roe"})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	u = s.getUser(t, c, p.UserID)
	assert.Equal(t, "Janet", u.FirstName, "fields left out stay")
	assert.Equal(t, "Roe", u.LastName)

	r = s.call(t, c, http.MethodPatch, userPath(p.UserID), map[string]any{"email": "taken-over@example.com"})
	requireError(t, r, http.StatusBadRequest, "unknown_field")
	assert.Equal(t, p.Email, s.getUser(t, c, p.UserID).Email, "the email is unchanged")
}

func managePatchInvalid(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "patchbad")
	p := s.newUser(t, c, o.ID, "patchbad")
	before := s.getUser(t, c, p.UserID)
	bad := []struct {
		name string
		body map[string]any
	}{
		{"an empty first name", map[string]any{"firstName": "  "}},
		{"a first name of 101 characters", map[string]any{"firstName": longText(101)}},
		{"a last name with a control character", map[string]any{"lastName": "Sm\u0007ith"}},
		{"a phone number not in E.164", map[string]any{"phoneNumber": "555-0100"}},
		{"a picture over http", map[string]any{"picture": "http://example.com/j.png"}},
		{"a picture of 3000 characters", map[string]any{"picture": "https://example.com/" + longText(3000)}},
		{"a good name next to a bad phone number", map[string]any{"firstName": "Changed", "phoneNumber": "x"}},
	}
	for _, b := range bad {
		r := s.call(t, c, http.MethodPatch, userPath(p.UserID), b.body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s is 400; body %q", b.name, r)
		require4xx(t, r)
	}
	assert.Equal(t, before, s.getUser(t, c, p.UserID), "refused patches change nothing")
}

func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

// lifecycle posts an action and returns the status it answers, requiring 200.
func (s *suite) lifecycle(t *testing.T, c *apiClient, userID, action string) string {
	t.Helper()
	r := s.call(t, c, http.MethodPost, userPath(userID)+"/"+action, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s; body %q", action, r)
	var u user
	r.decode(t, &u)
	return u.Status
}

func manageSuspend(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "suspend")
	p := s.newUser(t, c, o.ID, "suspend")
	assert.Equal(t, "suspended", s.lifecycle(t, c, p.UserID, "suspend"))
	assert.Equal(t, "suspended", s.getUser(t, c, p.UserID).Status)
	updated := s.getUser(t, c, p.UserID).UpdatedAt
	assert.Equal(t, "suspended", s.lifecycle(t, c, p.UserID, "suspend"), "suspending twice is a no-op")
	assert.Equal(t, updated, s.getUser(t, c, p.UserID).UpdatedAt, "a no-op changes nothing")
	assert.Equal(t, "invited", s.lifecycle(t, c, p.UserID, "reactivate"), "a user with no password reactivates to invited")
	assert.Equal(t, "invited", s.lifecycle(t, c, p.UserID, "reactivate"), "reactivating twice is a no-op")
	assert.Equal(t, "invited", s.getUser(t, c, p.UserID).Status)
}

func manageDeactivate(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "deactivate")
	p := s.newUser(t, c, o.ID, "deactivate")
	assert.Equal(t, "suspended", s.lifecycle(t, c, p.UserID, "suspend"))
	assert.Equal(t, "deactivated", s.lifecycle(t, c, p.UserID, "deactivate"), "a suspended user can be deactivated")
	assert.Equal(t, "deactivated", s.lifecycle(t, c, p.UserID, "deactivate"), "deactivating twice is a no-op")
	r := s.call(t, c, http.MethodPost, userPath(p.UserID)+"/suspend", nil)
	requireError(t, r, http.StatusConflict, "invalid_state")
	r = s.call(t, c, http.MethodPost, userPath(p.UserID)+"/reset-password", nil)
	requireError(t, r, http.StatusConflict, "invalid_state")
	assert.Equal(t, "deactivated", s.getUser(t, c, p.UserID).Status)
	assert.Equal(t, "invited", s.lifecycle(t, c, p.UserID, "reactivate"), "a deactivated user can be reactivated")
}

func manageReset(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "reset")
	p := s.newUser(t, c, o.ID, "reset")
	r := s.call(t, c, http.MethodPost, userPath(p.UserID)+"/reset-password", nil)
	require.Equal(t, http.StatusAccepted, r.Status, "body %q", r)
	assert.Equal(t, "reset_email_sent", r.JSON(t)["status"])
	mails := s.env.Mailbox(t, p.Email, 1)
	link := findLink(t, mails[len(mails)-1].Text, s.env.BaseURL+"/reset-password")
	assert.NotEmpty(t, link.Query().Get("token"))
	assert.Equal(t, "invited", s.getUser(t, c, p.UserID).Status, "sending a reset changes no status")
}

func manageDelete(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "delete")
	p := s.newUser(t, c, o.ID, "delete")
	r := s.call(t, c, http.MethodDelete, userPath(p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	assert.Empty(t, r.Body)
	requireError(t, s.call(t, c, http.MethodGet, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")
	requireError(t, s.call(t, c, http.MethodDelete, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")
	assert.Empty(t, s.members(t, o.ID), "the membership went with the user")
	requireError(t, s.admin(t, http.MethodGet, pathAdminUsers+p.UserID+"/licenses", nil), http.StatusNotFound, "")

	again := s.provision(t, c, provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: o.ID})
	assert.True(t, again.IsNewUser, "the email is free again")
	assert.NotEqual(t, p.UserID, again.UserID, "a new user has a new id")
}

func manageList(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "list")
	want := map[string]bool{}
	for range 5 {
		want[s.newUser(t, c, o.ID, "list").UserID] = true
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		path := orgUsersPath(o.ID) + "?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := s.call(t, c, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, r.Status, "page %d; body %q", pages, r)
		var p userPage
		r.decode(t, &p)
		pages++
		require.LessOrEqual(t, len(p.Users), 2, "a page holds at most limit users")
		for _, u := range p.Users {
			assert.False(t, seen[u.UserID], "user %s is listed twice", u.UserID)
			seen[u.UserID] = true
			require.Len(t, u.Organizations, 1)
			assert.Equal(t, o.ID, u.Organizations[0].OrganizationID)
		}
		if p.NextCursor == "" {
			assert.NotContains(t, r.JSON(t), "nextCursor", "the last page has no nextCursor")
			break
		}
		require.Less(t, pages, 10, "the listing must end")
		cursor = p.NextCursor
	}
	assert.Equal(t, 3, pages, "five users in pages of two")
	assert.Equal(t, want, seen, "every user is listed once")

	r := s.call(t, c, http.MethodGet, orgUsersPath(o.ID), nil)
	require.Equal(t, http.StatusOK, r.Status)
	var all userPage
	r.decode(t, &all)
	assert.Len(t, all.Users, 5, "the default page holds them all")
}

func manageListBadQuery(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "listbad")
	s.newUser(t, c, o.ID, "listbad")
	for _, q := range []string{"cursor=!!!not-a-cursor", "limit=0", "limit=500", "limit=abc", "limit=-1"} {
		r := s.call(t, c, http.MethodGet, orgUsersPath(o.ID)+"?"+q, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s is 400; body %q", q, r)
		require4xx(t, r)
	}
	requireError(t, s.call(t, c, http.MethodGet, orgUsersPath(o.ID)+"?cursor=!!!", nil), http.StatusBadRequest, "invalid_cursor")
}

func manageUnknownUser(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "unknown")
	s.newUser(t, c, o.ID, "unknown")
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "no-such-user", longText(300)} {
		for _, e := range userEndpoints {
			r := s.call(t, c, e.method, e.path(id, o.ID), e.body(o.ID))
			assert.Equal(t, http.StatusNotFound, r.Status, "%s of user %.20q is 404; body %q", e.name, id, r)
			require4xx(t, r)
		}
	}
}
