package scimflow

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// entraCreate is shaped like Entra ID's POST /Users (Microsoft's SCIM
// validator and provisioning logs): URN-keyed enterprise extension, an
// empty manager, "roles" and other attributes this server does not keep.
func entraCreate(userName, externalID string) string {
	return `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "` + externalID + `",
  "userName": "` + userName + `",
  "active": true,
  "displayName": "Grace Hopper",
  "title": "Rear Admiral",
  "preferredLanguage": "en-US",
  "emails": [{"primary": true, "type": "work", "value": "` + userName + `"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
  "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
  "roles": [],
  "addresses": [{"type": "work", "streetAddress": "1 Navy Way", "primary": true}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "1906",
    "department": "Computing",
    "manager": {"value": ""}
  }
}`
}

// entraSequence runs Entra ID's provisioning cycle for one user.
func entraSequence(t *testing.T, s *suite) {
	o := s.newOrg(t)
	userName := strings.ToLower(unique("grace")) + "@navy.test"
	externalID := unique("aad-object")

	// 1. Does the user exist? Entra asks by userName first.
	require.Empty(t, s.findByUserName(t, o, userName))

	// 2. Create.
	r := s.scim(t, o.Token, "POST", "/Users", entraCreate(userName, externalID))
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	u := r.JSON(t)
	id := u["id"].(string)
	assert.Equal(t, s.env.BaseURL+"/scim/v2/Users/"+id, r.Header.Get("Location"))
	assert.NotEmpty(t, r.Header.Get("ETag"))
	assert.Equal(t, userName, u["userName"])
	assert.Equal(t, externalID, u["externalId"])
	assert.Equal(t, true, u["active"])
	assert.Equal(t, "Grace Hopper", u["displayName"])
	assert.Equal(t, map[string]any{"givenName": "Grace", "familyName": "Hopper", "formatted": "Grace Hopper"}, u["name"])
	assert.Equal(t, []any{map[string]any{"value": userName, "type": "work", "primary": true}}, u["emails"])
	assert.Equal(t, []any{map[string]any{"value": "+1 555 0100", "type": "mobile", "primary": false}}, u["phoneNumbers"])
	assert.Equal(t, map[string]any{"employeeNumber": "1906", "department": "Computing"}, u[schemaEnterprise])
	assert.ElementsMatch(t, []any{schemaUser, schemaEnterprise}, u["schemas"])
	assert.Equal(t, "Rear Admiral", u["title"])
	assert.Equal(t, "en-US", u["preferredLanguage"])
	assert.Equal(t, []any{map[string]any{"type": "work", "streetAddress": "1 Navy Way", "primary": true}}, u["addresses"])
	assert.NotContains(t, u, "roles", "an empty list is no value")
	meta := u["meta"].(map[string]any)
	assert.Equal(t, "User", meta["resourceType"])
	assert.Equal(t, r.Header.Get("ETag"), meta["version"])
	assert.NotEmpty(t, meta["created"])
	assert.NotEmpty(t, meta["lastModified"])
	assert.Equal(t, member{Found: true, Email: userName, Status: "invited", Role: "member"}, s.directoryState(t, o.ID, id),
		"the user is a member of the token's organization")
	s.expectEvents(t, id, "user.created")

	// 3. Read back, and find by userName in another case and by externalId.
	r = s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, u, r.JSON(t))
	found := s.findByUserName(t, o, strings.ToUpper(userName))
	require.Len(t, found, 1, "userName compares case-insensitively")
	assert.Equal(t, id, found[0]["id"])
	r = s.scim(t, o.Token, "GET", "/Users?filter=externalId+eq+%22"+externalID+"%22", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.EqualValues(t, 1, r.JSON(t)["totalResults"])

	// 4. Patch attributes, as Entra does: capitalised ops, the enterprise
	// manager path with a bare id, a filtered email path, and a path-less
	// value object.
	mgr := s.createUser(t, o, strings.ToLower(unique("mgr"))+"@navy.test")
	newEmail := strings.ToLower(unique("hopper")) + "@navy.test"
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[
		{"op":"Replace","path":"displayName","value":"Amazing Grace"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+mgr+`"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"`+newEmail+`"},
		{"op":"Replace","path":"name.familyName","value":"Murray Hopper"},
		{"op":"Add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Navy Computing","title":"Commodore"}}
	]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u = r.JSON(t)
	assert.Equal(t, "Amazing Grace", u["displayName"])
	assert.Equal(t, userName, u["userName"], "userName is not an email's")
	assert.Equal(t, "Murray Hopper", u["name"].(map[string]any)["familyName"])
	ent := u[schemaEnterprise].(map[string]any)
	assert.Equal(t, "Navy Computing", ent["department"])
	assert.Equal(t, mgr, ent["manager"].(map[string]any)["value"])
	assert.Equal(t, member{Found: true, Email: newEmail, Status: "invited", Role: "member"}, s.directoryState(t, o.ID, id))
	s.expectEvents(t, id, "user.created", "user.updated")
	require.Len(t, s.findByUserName(t, o, userName), 1, "the userName stays")
	require.Empty(t, s.findByUserName(t, o, newEmail))

	// 5. Deactivate: Entra sends "active": "False" as a string.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, false, r.JSON(t)["active"])
	assert.Equal(t, "suspended", s.directoryState(t, o.ID, id).Status)
	s.expectEvents(t, id, "user.created", "user.updated", "user.suspended")

	// 6. Reactivate.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, true, r.JSON(t)["active"])
	assert.Equal(t, "invited", s.directoryState(t, o.ID, id).Status, "an account without a password goes back to invited")
	s.expectEvents(t, id, "user.created", "user.updated", "user.suspended", "user.reactivated")

	// 7. Delete.
	s.deleteAndCheck(t, o, id, "user.created", "user.updated", "user.suspended", "user.reactivated")
}

// createUser makes a plain user through SCIM and returns its id.
func (s *suite) createUser(t *testing.T, o org, userName string) string {
	t.Helper()
	r := s.scim(t, o.Token, "POST", "/Users", map[string]any{
		"schemas": []string{schemaUser}, "userName": userName,
		"name": map[string]string{"givenName": "Test", "familyName": "User"},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	return r.JSON(t)["id"].(string)
}

// deleteAndCheck deletes a user and checks the directory and events.
func (s *suite) deleteAndCheck(t *testing.T, o org, id string, before ...string) {
	t.Helper()
	r := s.scim(t, o.Token, "DELETE", "/Users/"+id, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.String())
	if s.env.DeleteDeactivates {
		assert.Equal(t, "deactivated", s.directoryState(t, o.ID, id).Status)
		s.expectEvents(t, id, append(before, "user.deactivated")...)
		return
	}
	scimError(t, s.scim(t, o.Token, "GET", "/Users/"+id, nil), http.StatusNotFound, "")
	assert.Equal(t, member{}, s.directoryState(t, o.ID, id), "the user is gone from the directory")
	s.expectEvents(t, id, append(before, "user.deleted")...)
	scimError(t, s.scim(t, o.Token, "DELETE", "/Users/"+id, nil), http.StatusNotFound, "")
}

// oktaCreate is shaped like Okta's POST /Users: a password (which a SCIM
// server that does not take passwords must ignore), locale and groups.
func oktaCreate(userName string) map[string]any {
	return map[string]any{
		"schemas":     []string{schemaUser},
		"userName":    userName,
		"name":        map[string]any{"givenName": "Katherine", "familyName": "Johnson"},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": "Katherine Johnson",
		"locale":      "en-US",
		"externalId":  unique("00u1okta"),
		"groups":      []any{},
		"password":    "Okta-Sent-This-1!",
		"active":      true,
	}
}

// oktaSequence runs Okta's provisioning cycle: Okta updates with PUT and
// deactivates with a path-less PATCH of active.
func oktaSequence(t *testing.T, s *suite) {
	o := s.newOrg(t)
	userName := strings.ToLower(unique("katherine")) + "@nasa.test"

	// 1. Okta checks with paging parameters.
	r := s.scim(t, o.Token, "GET", "/Users?filter=userName%20eq%20%22"+userName+"%22&startIndex=1&count=100", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	list := r.JSON(t)
	assert.EqualValues(t, 0, list["totalResults"])
	assert.EqualValues(t, 1, list["startIndex"])

	// 2. Create.
	body := oktaCreate(userName)
	r = s.scim(t, o.Token, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	u := r.JSON(t)
	id := u["id"].(string)
	assert.NotContains(t, u, "password")
	assert.Equal(t, body["externalId"], u["externalId"])
	assert.Equal(t, member{Found: true, Email: userName, Status: "invited", Role: "member"}, s.directoryState(t, o.ID, id))
	s.expectEvents(t, id, "user.created")

	// Okta retries a create it thinks failed: a uniqueness conflict.
	scimError(t, s.scim(t, o.Token, "POST", "/Users", body), http.StatusConflict, "uniqueness")
	s.expectEvents(t, id, "user.created")

	// 3. Read back.
	r = s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, u, r.JSON(t))

	// 4. Update with PUT: the whole user, changed.
	body["name"] = map[string]any{"givenName": "Katherine", "familyName": "Goble Johnson"}
	body["displayName"] = "Katherine G. Johnson"
	body["phoneNumbers"] = []any{map[string]any{"value": "+1 555 0199", "type": "work", "primary": true}}
	body["id"] = id
	r = s.scim(t, o.Token, "PUT", "/Users/"+id, body)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u = r.JSON(t)
	assert.Equal(t, "Goble Johnson", u["name"].(map[string]any)["familyName"])
	assert.Equal(t, "Katherine G. Johnson", u["displayName"])
	assert.Equal(t, []any{map[string]any{"value": "+1 555 0199", "type": "work", "primary": true}}, u["phoneNumbers"])
	assert.Equal(t, true, u["active"], "a PUT that carries active true keeps the user active")
	s.expectEvents(t, id, "user.created", "user.updated")

	// A PUT that changes only what the organization records emits nothing.
	body["displayName"] = "KGJ"
	r = s.scim(t, o.Token, "PUT", "/Users/"+id, body)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	s.expectEvents(t, id, "user.created", "user.updated")

	// 5. Deactivate: Okta's path-less PATCH.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, false, r.JSON(t)["active"])
	assert.Equal(t, "suspended", s.directoryState(t, o.ID, id).Status)
	s.expectEvents(t, id, "user.created", "user.updated", "user.suspended")
	// Repeating it changes nothing and emits nothing.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	r = s.scim(t, o.Token, "GET", "/Users?filter=active+eq+false", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.EqualValues(t, 1, r.JSON(t)["totalResults"])

	// 6. Reactivate.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","value":{"active":true}}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "invited", s.directoryState(t, o.ID, id).Status)
	s.expectEvents(t, id, "user.created", "user.updated", "user.suspended", "user.reactivated")

	// 7. Delete.
	s.deleteAndCheck(t, o, id, "user.created", "user.updated", "user.suspended", "user.reactivated")
}

// deleteDeactivates runs DELETE with scim.on_delete: deactivate.
func deleteDeactivates(t *testing.T, s *suite) {
	o := s.newOrg(t)
	id := s.createUser(t, o, strings.ToLower(unique("keep"))+"@school.test")
	s.deleteAndCheck(t, o, id, "user.created")
	r := s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, "a deactivated user stays visible")
	assert.Equal(t, false, r.JSON(t)["active"])
}

// userNameDecides: Okta's login (userName) may differ from the user's
// email. The primary email signs in (the token's default rule) and
// userName stays as sent; repeating the same PUT changes nothing.
func userNameDecides(t *testing.T, s *suite) {
	o := s.newOrg(t)
	login := "Lin." + unique("Login") + "@corp.test"
	mail := strings.ToLower(unique("mail")) + "@mail.test"
	body := map[string]any{
		"schemas": []string{schemaUser}, "userName": login,
		"name":   map[string]string{"givenName": "Lin", "familyName": "Gin"},
		"emails": []any{map[string]any{"value": mail, "type": "work", "primary": true}},
	}
	r := s.scim(t, o.Token, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	id := r.JSON(t)["id"].(string)
	for range 3 {
		r = s.scim(t, o.Token, "PUT", "/Users/"+id, body)
		require.Equal(t, http.StatusOK, r.Status, r.String())
		assert.Equal(t, login, r.JSON(t)["userName"])
	}
	assert.Equal(t, mail, s.directoryState(t, o.ID, id).Email)
	s.expectEvents(t, id, "user.created")

	// A PATCH of the primary email alone moves the account to it; the
	// userName stays.
	moved := strings.ToLower(unique("moved")) + "@mail.test"
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"emails[primary eq true].value","value":"`+moved+`"}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, login, r.JSON(t)["userName"])
	assert.Equal(t, moved, s.directoryState(t, o.ID, id).Email)
	s.expectEvents(t, id, "user.created", "user.updated")

	// A PATCH of userName alone renames it and leaves the email.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"userName","value":"lgin"}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "lgin", r.JSON(t)["userName"])
	assert.Equal(t, moved, s.directoryState(t, o.ID, id).Email)
	s.expectEvents(t, id, "user.created", "user.updated")
}
