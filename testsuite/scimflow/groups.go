package scimflow

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const schemaGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"

func memberIDs(t *testing.T, g map[string]any) []string {
	t.Helper()
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		out = append(out, m.(map[string]any)["value"].(string))
	}
	return out
}

// createGroup makes a group over SCIM and returns its id.
func (s *suite) createGroup(t *testing.T, o org, name string, members ...string) string {
	t.Helper()
	ms := make([]any, 0, len(members))
	for _, id := range members {
		ms = append(ms, map[string]any{"value": id})
	}
	r := s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": name, "members": ms})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	return r.JSON(t)["id"].(string)
}

func groupPatch(ops ...string) string {
	return `{"schemas":["` + schemaPatch + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// groupsOf is the ids of the groups a user shows.
func (s *suite) groupsOf(t *testing.T, o org, userID string) []string {
	t.Helper()
	r := s.scim(t, o.Token, "GET", "/Users/"+userID, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	var out []string
	gs, _ := r.JSON(t)["groups"].([]any)
	for _, g := range gs {
		out = append(out, g.(map[string]any)["value"].(string))
	}
	return out
}

// groups: a group push as Okta and Entra ID make it: free names, renames,
// external ids, and users in several groups. Groups change no one's role.
func groups(t *testing.T, s *suite) {
	o := s.newOrg(t)
	u1 := s.createUser(t, o, strings.ToLower(unique("g1"))+"@school.test")
	u2 := s.createUser(t, o, strings.ToLower(unique("g2"))+"@school.test")

	r := s.scim(t, o.Token, "GET", "/Groups", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.EqualValues(t, 0, r.JSON(t)["totalResults"], "an organization starts with no groups")

	// Okta pushes "Test SCIMv2" with its external id.
	r = s.scim(t, o.Token, "POST", "/Groups", map[string]any{
		"schemas": []string{schemaGroup}, "displayName": "Test SCIMv2", "externalId": "00g1okta",
		"members": []any{map[string]any{"value": u1}},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	okta := r.JSON(t)
	oktaID := okta["id"].(string)
	assert.NotEqual(t, "Test SCIMv2", oktaID)
	assert.Equal(t, "Test SCIMv2", okta["displayName"])
	assert.Equal(t, "00g1okta", okta["externalId"])
	assert.Equal(t, []string{u1}, memberIDs(t, okta))
	assert.Equal(t, s.env.BaseURL+"/scim/v2/Groups/"+oktaID, r.Header.Get("Location"))
	// The version a write answers with is the one stored: If-Match takes it.
	tag := r.Header.Get("ETag")
	require.NotEmpty(t, tag)
	assert.Equal(t, tag, s.scim(t, o.Token, "GET", "/Groups/"+oktaID, nil).Header.Get("ETag"), "POST answers the stored version")
	noop := groupPatch(`{"op":"replace","path":"externalId","value":"00g1okta"}`)
	r = s.callWith(t, "PATCH", "/scim/v2/Groups/"+oktaID, o.Token, "application/scim+json", []byte(noop), map[string]string{"If-Match": `W/"stale"`})
	scimError(t, r, http.StatusPreconditionFailed, "")
	r = s.callWith(t, "PATCH", "/scim/v2/Groups/"+oktaID, o.Token, "application/scim+json", []byte(noop), map[string]string{"If-Match": tag})
	require.Equal(t, http.StatusOK, r.Status, r.String())

	// Entra ID pushes "Sales Team" with both users; u1 is in two groups.
	sales := s.createGroup(t, o, "Sales Team", u1, u2)
	unicode := s.createGroup(t, o, "Équipe Ω — 2ᵉ année")
	scimError(t, s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "SALES team"}),
		http.StatusConflict, "uniqueness")
	assert.ElementsMatch(t, []string{oktaID, sales}, s.groupsOf(t, o, u1))
	assert.Equal(t, []string{sales}, s.groupsOf(t, o, u2))
	assert.Equal(t, "member", s.directoryState(t, o.ID, u1).Role, "a group is no role")
	listed := func(q string) map[string]any {
		t.Helper()
		r := s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(`id eq "`+u1+`"`)+q, nil)
		require.Equal(t, http.StatusOK, r.Status, r.String())
		return r.JSON(t)["Resources"].([]any)[0].(map[string]any)
	}
	assert.NotContains(t, listed(""), "groups", "lists leave groups out unless asked")
	assert.Len(t, listed("&attributes=userName,groups")["groups"], 2, "and show them when asked")

	// Lookups as the providers make them.
	find := func(filter string) []any {
		t.Helper()
		r := s.scim(t, o.Token, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(filter), nil)
		require.Equal(t, http.StatusOK, r.Status, r.String())
		res, _ := r.JSON(t)["Resources"].([]any)
		return res
	}
	require.Len(t, find(`displayName eq "sales TEAM"`), 1, "names compare case-insensitively")
	require.Len(t, find(`displayName eq "Équipe Ω — 2ᵉ année"`), 1)
	assert.Equal(t, unicode, find(`displayName eq "Équipe Ω — 2ᵉ année"`)[0].(map[string]any)["id"])
	require.Len(t, find(`externalId eq "00g1okta"`), 1)
	require.Empty(t, find(`externalId eq "00G1OKTA"`), "externalId is case-exact")
	require.Len(t, find(`displayName sw "Test"`), 1)
	require.Len(t, find(`id eq "`+sales+`" and members.value eq "`+u2+`"`), 1, "Entra's membership check")
	require.Empty(t, find(`id eq "`+oktaID+`" and members.value eq "`+u2+`"`))

	// Renames: Entra's path, Okta's path-less value with the id echoed.
	before := s.scim(t, o.Token, "GET", "/Groups/"+sales, nil).JSON(t)
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+sales, groupPatch(`{"op":"Replace","path":"displayName","value":"Sales & Marketing"}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "Sales & Marketing", r.JSON(t)["displayName"])
	assert.Equal(t, sales, r.JSON(t)["id"])
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, r.JSON(t)), "a rename keeps the members")
	assert.NotEqual(t, before["meta"].(map[string]any)["version"], r.JSON(t)["meta"].(map[string]any)["version"])
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"replace","value":{"id":"`+oktaID+`","displayName":"Test SCIMv2 (renamed)"}}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "Test SCIMv2 (renamed)", r.JSON(t)["displayName"])
	assert.Equal(t, "00g1okta", r.JSON(t)["externalId"], "the external id stays")
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"replace","path":"displayName","value":"sales & MARKETING"}`))
	scimError(t, r, http.StatusConflict, "uniqueness")
	r = s.scim(t, o.Token, "GET", "/Groups/"+oktaID, nil)
	assert.Equal(t, "Test SCIMv2 (renamed)", r.JSON(t)["displayName"], "the refused rename wrote nothing")
	require.Len(t, find(`displayName eq "Sales Team"`), 0, "the old name is free")
	s.createGroup(t, o, "Sales Team")

	// Members change: meta.lastModified and the version move.
	tagged := s.scim(t, o.Token, "GET", "/Groups/"+oktaID+"?excludedAttributes=members", nil).JSON(t)["meta"].(map[string]any)
	time.Sleep(5 * time.Millisecond) // lastModified shows milliseconds
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"add","path":"members","value":[{"value":"`+u2+`"}]}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, r.JSON(t)))
	now := s.scim(t, o.Token, "GET", "/Groups/"+oktaID+"?excludedAttributes=members", nil).JSON(t)["meta"].(map[string]any)
	assert.Greater(t, now["lastModified"], tagged["lastModified"], "a member change moves lastModified")
	assert.NotEqual(t, tagged["version"], now["version"])
	assert.Equal(t, tagged["created"], now["created"])

	// Removes: Okta's filtered path, Entra's value list.
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"remove","path":"members[value eq \"`+u1+`\"]"}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{u2}, memberIDs(t, r.JSON(t)))
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"Remove","path":"members","value":[{"value":"`+u2+`"}]}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Empty(t, memberIDs(t, r.JSON(t)))
	assert.Equal(t, []string{sales}, s.groupsOf(t, o, u1), "u1 stays in the other group")

	// PUT sets the name, the external id and the members.
	r = s.scim(t, o.Token, "PUT", "/Groups/"+oktaID, map[string]any{
		"schemas": []string{schemaGroup}, "displayName": "Test SCIMv2", "externalId": "00g2okta",
		"members": []any{map[string]any{"value": u1}, map[string]any{"value": u2}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	g := r.JSON(t)
	assert.Equal(t, "Test SCIMv2", g["displayName"])
	assert.Equal(t, "00g2okta", g["externalId"])
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, g))

	// Bad input changes nothing.
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"add","path":"members","value":[{"value":"no-such-user"}]}`)), http.StatusBadRequest, "invalidValue")
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"remove","path":"displayName"}`)), http.StatusBadRequest, "mutability")
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"replace","path":"colour","value":"red"}`)), http.StatusBadRequest, "invalidPath")
	scimError(t, s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "  "}), http.StatusBadRequest, "invalidValue")
	scimError(t, s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "bad\u0007name"}), http.StatusBadRequest, "invalidValue")
	scimError(t, s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": strings.Repeat("x", 257)}), http.StatusBadRequest, "invalidValue")
	scimError(t, s.scim(t, o.Token, "GET", "/Groups?filter="+url.QueryEscape(`members.value gt "a"`), nil), http.StatusBadRequest, "invalidFilter")
	outsider := s.createUser(t, s.newOrg(t), strings.ToLower(unique("out"))+"@elsewhere.test")
	for _, c := range []struct {
		method, body, scimType string
	}{
		// A bad name or external id refuses the members sent with it.
		{"PUT", `{"schemas":["` + schemaGroup + `"],"displayName":"Test SCIMv2","externalId":"` + strings.Repeat("e", 257) + `","members":[]}`, "invalidValue"},
		{"PATCH", groupPatch(`{"op":"remove","path":"members"}`, `{"op":"replace","path":"displayName","value":"bad\u0001name"}`), "invalidValue"},
		{"PATCH", groupPatch(`{"op":"remove","path":"members[value eq \"`+u1+`\"]"}`, `{"op":"add","path":"members","value":[{"value":"`+outsider+`"}]}`), "invalidValue"},
		{"PATCH", groupPatch(`{"op":"remove","path":"members[value eq \"` + u1 + `\"].display"}`), "invalidPath"},
		{"PATCH", groupPatch(`{"op":"remove","path":"members[colour eq \"red\"]"}`), "invalidFilter"},
	} {
		scimError(t, s.scim(t, o.Token, c.method, "/Groups/"+oktaID, c.body), http.StatusBadRequest, c.scimType)
	}
	var many []string
	for i := range 600 {
		many = append(many, `{"value":"made-up-`+itoaInt(i)+`"}`)
	}
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+oktaID, groupPatch(`{"op":"add","path":"members","value":[`+strings.Join(many, ",")+`]}`,
		`{"op":"remove","path":"members","value":[`+strings.Join(many, ",")+`]}`))
	scimError(t, r, http.StatusBadRequest, "invalidValue") // more than 1,000 members named in one request
	r = s.scim(t, o.Token, "GET", "/Groups/"+oktaID, nil)
	assert.Equal(t, g["meta"], r.JSON(t)["meta"], "nothing changed")
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, r.JSON(t)), "the members neither")
	r = s.callWith(t, "GET", "/scim/v2/Groups/"+oktaID, o.Token, "", nil, map[string]string{"If-None-Match": r.Header.Get("ETag")})
	assert.Equal(t, http.StatusNotModified, r.Status, "If-None-Match with the version")

	// Delete: the group goes; its members stay the organization's.
	r = s.scim(t, o.Token, "DELETE", "/Groups/"+oktaID, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.String())
	scimError(t, s.scim(t, o.Token, "GET", "/Groups/"+oktaID, nil), http.StatusNotFound, "")
	scimError(t, s.scim(t, o.Token, "DELETE", "/Groups/"+oktaID, nil), http.StatusNotFound, "")
	assert.Equal(t, member{Found: true, Email: s.directoryState(t, o.ID, u1).Email, Status: "invited", Role: "member"}, s.directoryState(t, o.ID, u1))
	assert.Equal(t, []string{sales}, s.groupsOf(t, o, u1))

	// A user who leaves the organization leaves its groups, and the
	// groups' versions move.
	salesTag := s.scim(t, o.Token, "GET", "/Groups/"+sales, nil).Header.Get("ETag")
	s.deleteAndCheck(t, o, u2, "user.created")
	r = s.scim(t, o.Token, "GET", "/Groups/"+sales, nil)
	assert.Equal(t, []string{u1}, memberIDs(t, r.JSON(t)))
	assert.NotEqual(t, salesTag, r.Header.Get("ETag"), "the group changed")
}

// sharedAccount: a provider never joins an account another organization
// has; an administrator does, and then each organization keeps its own
// profile, and neither can rename, suspend or end the account alone.
func sharedAccount(t *testing.T, s *suite) {
	a, b := s.newOrg(t), s.newOrg(t)
	email := strings.ToLower(unique("shared")) + "@both.test"
	r := s.scim(t, a.Token, "POST", "/Users", map[string]any{
		"schemas": []string{schemaUser}, "userName": email, "externalId": "A-1", "displayName": "From A",
		"name": map[string]string{"givenName": "Sam", "familyName": "Shared"},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	id := r.JSON(t)["id"].(string)
	aTag := s.scim(t, a.Token, "GET", "/Users/"+id, nil).Header.Get("ETag")

	// b's provider may not take the account over by creating it: its
	// holder is invited to join b, and until then b sees nothing, also when
	// its provider tries again.
	bBody := map[string]any{
		"schemas": []string{schemaUser}, "userName": strings.ToUpper(email), "externalId": "B-1",
		"name": map[string]string{"givenName": "Other", "familyName": "Name"},
	}
	for range 2 {
		scimError(t, s.scim(t, b.Token, "POST", "/Users", bBody), http.StatusConflict, "uniqueness")
		assert.Equal(t, member{}, s.directoryState(t, b.ID, id), "the account did not join b")
		assert.Empty(t, s.findByUserName(t, b, email))
		scimError(t, s.scim(t, b.Token, "GET", "/Users/"+id, nil), http.StatusNotFound, "")
	}

	// An administrator adds it to b; b's provider then finds it.
	r = s.admin(t, "PUT", "/api/v1/admin/organizations/"+b.ID+"/members/"+id, map[string]string{"role": "member"})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	found := s.findByUserName(t, b, email)
	require.Len(t, found, 1)
	assert.NotContains(t, found[0], "externalId", "b sees none of a's profile")

	// b's full PUT succeeds: its profile is recorded, the account's email
	// and names stay as they are.
	bBody["id"] = id
	r = s.scim(t, b.Token, "PUT", "/Users/"+id, bBody)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u := r.JSON(t)
	assert.Equal(t, "B-1", u["externalId"])
	assert.Equal(t, strings.ToUpper(email), u["userName"], "b's name for the member is b's, as it sent it")
	assert.Equal(t, email, s.directoryState(t, b.ID, id).Email, "the account's email is a's")
	assert.Equal(t, "Sam", u["name"].(map[string]any)["givenName"], "a shared account keeps its names")
	assert.Equal(t, email, s.scim(t, a.Token, "GET", "/Users/"+id, nil).JSON(t)["userName"], "a's name for it is a's")

	// b's active:false suspends b's membership only: a still sees an
	// active account, and the account's status is a's.
	r = s.scim(t, b.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[
		{"op":"replace","path":"displayName","value":"B's Sam"},{"op":"replace","path":"active","value":false}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, false, r.JSON(t)["active"])
	assert.Equal(t, false, s.scim(t, b.Token, "GET", "/Users/"+id, nil).JSON(t)["active"], "b reads back what it set")
	r = s.scim(t, b.Token, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+email+`" and active eq false`), nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.EqualValues(t, 1, r.JSON(t)["totalResults"], "b's search sees what its GET shows")
	assert.Equal(t, true, s.scim(t, a.Token, "GET", "/Users/"+id, nil).JSON(t)["active"])
	assert.Equal(t, "invited", s.directoryState(t, a.ID, id).Status)
	r = s.scim(t, b.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"active","value":true}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, true, r.JSON(t)["active"])
	aTag = s.scim(t, a.Token, "GET", "/Users/"+id, nil).Header.Get("ETag")

	// b's profile changes leave a's view, and its version, alone.
	r = s.scim(t, b.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"externalId","value":"B-2"}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	r = s.scim(t, a.Token, "GET", "/Users/"+id, nil)
	assert.Equal(t, "A-1", r.JSON(t)["externalId"])
	assert.Equal(t, aTag, r.Header.Get("ETag"), "another organization's profile change keeps a's version")

	// DELETE from b: the account leaves b and stays in a.
	r = s.scim(t, b.Token, "DELETE", "/Users/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.String())
	scimError(t, s.scim(t, b.Token, "GET", "/Users/"+id, nil), http.StatusNotFound, "")
	assert.Equal(t, member{}, s.directoryState(t, b.ID, id))
	st := s.directoryState(t, a.ID, id)
	assert.True(t, st.Found)
	assert.Equal(t, "invited", st.Status)
	assert.Equal(t, "A-1", s.scim(t, a.Token, "GET", "/Users/"+id, nil).JSON(t)["externalId"])
	// user.created (a), user.updated (the administrator's membership),
	// user.suspended and user.reactivated (b's membership, told to b),
	// user.updated (b's DELETE): b's profile changes emit nothing.
	s.expectEvents(t, id, "user.created", "user.updated", "user.suspended", "user.reactivated", "user.updated")

	// a is the account's home: its active:false suspends the account,
	// though it is in b too, and its DELETE ends the account wherever else
	// it is.
	r = s.admin(t, "PUT", "/api/v1/admin/organizations/"+b.ID+"/members/"+id, map[string]string{"role": "member"})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.False(t, s.primary(t, b.ID, id), "a's membership stays primary")
	r = s.scim(t, a.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "suspended", s.directoryState(t, a.ID, id).Status)
	assert.Equal(t, false, s.scim(t, b.Token, "GET", "/Users/"+id, nil).JSON(t)["active"], "b sees the account suspended")
	r = s.scim(t, a.Token, "DELETE", "/Users/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.String())
	scimError(t, s.scim(t, b.Token, "GET", "/Users/"+id, nil), http.StatusNotFound, "")
	assert.Equal(t, member{}, s.directoryState(t, b.ID, id))
}

// primary reads whether a user's membership of an organization is primary.
func (s *suite) primary(t *testing.T, orgID, userID string) bool {
	t.Helper()
	r := s.admin(t, "GET", "/api/v1/admin/organizations/"+orgID+"/users?limit=200", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	var page struct {
		Users []struct {
			UserID        string `json:"userId"`
			Organizations []struct {
				OrganizationID string `json:"organizationId"`
				Primary        bool   `json:"primary"`
			} `json:"organizations"`
		} `json:"users"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &page))
	for _, u := range page.Users {
		for _, m := range u.Organizations {
			if u.UserID == userID && m.OrganizationID == orgID {
				return m.Primary
			}
		}
	}
	require.Failf(t, "membership not listed", "user %s in organization %s", userID, orgID)
	return false
}

// mappedRoles: a platform administrator maps a group to a role; its
// members' effective role is the highest of their own and their groups'
// mapped ones, and a change of it is announced with user.updated.
func mappedRoles(t *testing.T, s *suite) {
	o := s.newOrg(t)
	u1 := s.createUser(t, o, strings.ToLower(unique("m1"))+"@school.test")
	u2 := s.createUser(t, o, strings.ToLower(unique("m2"))+"@school.test")
	teachers := s.createGroup(t, o, "Teachers", u1, u2)
	s.expectEvents(t, u1, "user.created")

	path := "/api/v1/admin/organizations/" + o.ID + "/groups/"
	r := s.admin(t, "PUT", path+teachers+"/role", map[string]string{"role": "admin"})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "admin", r.JSON(t)["role"])
	assert.Equal(t, "Teachers", r.JSON(t)["displayName"])
	s.expectEvents(t, u1, "user.created", "user.updated")
	s.expectEvents(t, u2, "user.created", "user.updated")
	assert.Equal(t, "member", s.directoryState(t, o.ID, u1).Role, "the direct role is unchanged")

	// Leaving the group drops the mapped role: an event for u2 only.
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+teachers, groupPatch(`{"op":"remove","path":"members[value eq \"`+u2+`\"]"}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	s.expectEvents(t, u2, "user.created", "user.updated", "user.updated")
	s.expectEvents(t, u1, "user.created", "user.updated")

	// An unmapped group's changes move no one's role, and say nothing.
	other := s.createGroup(t, o, "Readers", u2)
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+other, groupPatch(`{"op":"add","path":"members","value":[{"value":"`+u1+`"}]}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	s.expectEvents(t, u1, "user.created", "user.updated")

	// Listing and reading through the admin API.
	r = s.admin(t, "GET", "/api/v1/admin/organizations/"+o.ID+"/groups", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Len(t, r.JSON(t)["groups"], 2)
	r = s.admin(t, "GET", path+teachers, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "admin", r.JSON(t)["role"])

	// Only user.updated to this organization: the member's other
	// organizations hear nothing of this one's groups.
	for _, e := range s.env.Events(t) {
		if e.UserID == u1 && e.Type == "user.updated" {
			assert.Equal(t, []string{o.ID}, e.Audience.OrganizationIDs)
			assert.Empty(t, e.Audience.LicenseClientIDs)
		}
	}

	// Owners are never made through a group, nor any role with an owner's
	// permissions; unknown roles are refused.
	r = s.admin(t, "PUT", "/api/v1/admin/organizations/"+o.ID+"/roles/superowner", map[string]any{"permissions": []string{"organization:manage", "users:read"}})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	for _, role := range []string{"owner", "superowner", "no-such-role", ""} {
		r = s.admin(t, "PUT", path+teachers+"/role", map[string]string{"role": role})
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", role, r)
	}
	r = s.admin(t, "PUT", path+"no-such-group/role", map[string]string{"role": "admin"})
	assert.Equal(t, http.StatusNotFound, r.Status, r.String())
	other2 := s.newOrg(t)
	r = s.admin(t, "PUT", "/api/v1/admin/organizations/"+other2.ID+"/groups/"+teachers+"/role", map[string]string{"role": "admin"})
	assert.Equal(t, http.StatusNotFound, r.Status, "a group is found in its own organization only")

	// Unmapping drops the role again.
	r = s.admin(t, "DELETE", path+teachers+"/role", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "", r.JSON(t)["role"])
	s.expectEvents(t, u1, "user.created", "user.updated", "user.updated")
	r = s.admin(t, "GET", path+teachers, map[string]string{"x": "y"})
	require.Equal(t, http.StatusOK, r.Status, r.String())

	// Deleting a mapped group announces the members whose role it moves.
	require.Equal(t, http.StatusOK, s.admin(t, "PUT", path+teachers+"/role", map[string]string{"role": "admin"}).Status)
	s.expectEvents(t, u1, "user.created", "user.updated", "user.updated", "user.updated")
	require.Equal(t, http.StatusNoContent, s.scim(t, o.Token, "DELETE", "/Groups/"+teachers, nil).Status)
	s.expectEvents(t, u1, "user.created", "user.updated", "user.updated", "user.updated", "user.updated")
}
