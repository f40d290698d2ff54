package scimflow

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

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

func groups(t *testing.T, s *suite) {
	o := s.newOrg(t)
	u1 := s.createUser(t, o, strings.ToLower(unique("g1"))+"@school.test")
	u2 := s.createUser(t, o, strings.ToLower(unique("g2"))+"@school.test")

	// The built-in roles are groups.
	r := s.scim(t, o.Token, "GET", "/Groups?excludedAttributes=members", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	var names []string
	for _, g := range r.JSON(t)["Resources"].([]any) {
		names = append(names, g.(map[string]any)["displayName"].(string))
		assert.NotContains(t, g, "members")
	}
	assert.Equal(t, []string{"admin", "member", "owner"}, names)
	r = s.scim(t, o.Token, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "MEMBER"`), nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	list := r.JSON(t)
	require.EqualValues(t, 1, list["totalResults"])
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, list["Resources"].([]any)[0].(map[string]any)))

	// Create a group with a member: a custom role.
	r = s.scim(t, o.Token, "POST", "/Groups", map[string]any{
		"schemas": []string{schemaGroup}, "displayName": "teachers", "members": []any{map[string]any{"value": u1}},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	g := r.JSON(t)
	assert.Equal(t, "teachers", g["id"])
	assert.Equal(t, []string{u1}, memberIDs(t, g))
	assert.Equal(t, "teachers", s.directoryState(t, o.ID, u1).Role)
	scimError(t, s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "teachers"}), http.StatusConflict, "uniqueness")

	// The user shows its group.
	r = s.scim(t, o.Token, "GET", "/Users/"+u1, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "teachers", r.JSON(t)["groups"].([]any)[0].(map[string]any)["value"])

	// PATCH: add u2, remove u1 (Entra's and Okta's shapes).
	r = s.scim(t, o.Token, "PATCH", "/Groups/teachers", `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"Add","path":"members","value":[{"value":"`+u2+`"}]}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, r.JSON(t)))
	r = s.scim(t, o.Token, "PATCH", "/Groups/teachers", `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"Remove","path":"members[value eq \"`+u1+`\"]"}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{u2}, memberIDs(t, r.JSON(t)))
	assert.Equal(t, "member", s.directoryState(t, o.ID, u1).Role, "leaving a group goes back to member")
	r = s.scim(t, o.Token, "PATCH", "/Groups/teachers", `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"remove","path":"members","value":[{"value":"`+u2+`"}]}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Empty(t, memberIDs(t, r.JSON(t)))

	// PUT sets the members; the name cannot change.
	r = s.scim(t, o.Token, "PUT", "/Groups/teachers", map[string]any{
		"schemas": []string{schemaGroup}, "displayName": "teachers", "members": []any{map[string]any{"value": u1}, map[string]any{"value": u2}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.ElementsMatch(t, []string{u1, u2}, memberIDs(t, r.JSON(t)))
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/teachers", `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"displayName","value":"staff"}]}`), http.StatusBadRequest, "mutability")
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/teachers", `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"no-such-user"}]}]}`), http.StatusBadRequest, "invalidValue")
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/member", `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"remove","path":"members[value eq \"`+u1+`\"]"}]}`), http.StatusBadRequest, "mutability")

	// Delete: members go back to member; built-in groups stay.
	r = s.scim(t, o.Token, "DELETE", "/Groups/teachers", nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.String())
	assert.Equal(t, "member", s.directoryState(t, o.ID, u1).Role)
	assert.Equal(t, "member", s.directoryState(t, o.ID, u2).Role)
	scimError(t, s.scim(t, o.Token, "GET", "/Groups/teachers", nil), http.StatusNotFound, "")
	scimError(t, s.scim(t, o.Token, "DELETE", "/Groups/admin", nil), http.StatusBadRequest, "mutability")
	scimError(t, s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "Bad Name!"}), http.StatusBadRequest, "invalidValue")
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
	assert.Equal(t, email, u["userName"])
	assert.Equal(t, "Sam", u["name"].(map[string]any)["givenName"], "a shared account keeps its names")

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

// owners: the owner group is the administrators' to change.
func owners(t *testing.T, s *suite) {
	o := s.newOrg(t)
	owner := s.createUser(t, o, strings.ToLower(unique("owner"))+"@school.test")
	other := s.createUser(t, o, strings.ToLower(unique("other"))+"@school.test")
	r := s.admin(t, "PUT", "/api/v1/admin/organizations/"+o.ID+"/members/"+owner, map[string]string{"role": "owner"})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	add := func(id string) string {
		return `{"schemas":["` + schemaPatch + `"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + id + `"}]}]}`
	}
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/owner", add(other)), http.StatusBadRequest, "mutability")
	scimError(t, s.scim(t, o.Token, "PUT", "/Groups/owner", map[string]any{"schemas": []string{schemaGroup}, "displayName": "owner"}), http.StatusBadRequest, "mutability")
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/admin", add(owner)), http.StatusBadRequest, "mutability")
	assert.Equal(t, "owner", s.directoryState(t, o.ID, owner).Role)
	assert.Equal(t, "member", s.directoryState(t, o.ID, other).Role)

	// Group writes honour If-Match.
	r = s.scim(t, o.Token, "GET", "/Groups/admin", nil)
	tag := r.Header.Get("ETag")
	require.NotEmpty(t, tag)
	r = s.callWith(t, "PATCH", "/scim/v2/Groups/admin", o.Token, "application/scim+json", []byte(add(other)), map[string]string{"If-Match": `W/"stale"`})
	scimError(t, r, http.StatusPreconditionFailed, "")
	r = s.callWith(t, "PATCH", "/scim/v2/Groups/admin", o.Token, "application/scim+json", []byte(add(other)), map[string]string{"If-Match": tag})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "admin", s.directoryState(t, o.ID, other).Role)
}
