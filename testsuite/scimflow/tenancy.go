package scimflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tenancy: one organization's token never reaches another's users.
func tenancy(t *testing.T, s *suite) {
	a, b := s.newOrg(t), s.newOrg(t)
	bName := strings.ToLower(unique("other")) + "@b.test"
	bID := s.createUser(t, b, bName)
	aID := s.createUser(t, a, strings.ToLower(unique("mine"))+"@a.test")
	aGroup := s.createGroup(t, a, "Staff", aID)
	bGroup := s.createGroup(t, b, "Staff", bID)
	before := s.scim(t, b.Token, "GET", "/Users/"+bID, nil).JSON(t)

	// Reads: not found, and never listed.
	scimError(t, s.scim(t, a.Token, "GET", "/Users/"+bID, nil), http.StatusNotFound, "")
	assert.Empty(t, s.findByUserName(t, a, bName))
	r := s.scim(t, a.Token, "GET", "/Users?filter="+url.QueryEscape(`id eq "`+bID+`"`), nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.EqualValues(t, 0, r.JSON(t)["totalResults"])
	r = s.scim(t, a.Token, "GET", "/Users", nil)
	require.Equal(t, http.StatusOK, r.Status)
	list := r.JSON(t)
	assert.EqualValues(t, 1, list["totalResults"], "a's token lists a's users only")
	assert.Equal(t, aID, list["Resources"].([]any)[0].(map[string]any)["id"])

	// Writes: not found, and nothing changes.
	patch := `{"schemas":["` + schemaPatch + `"],"Operations":[{"op":"replace","path":"active","value":false}]}`
	scimError(t, s.scim(t, a.Token, "PATCH", "/Users/"+bID, patch), http.StatusNotFound, "")
	scimError(t, s.scim(t, a.Token, "PUT", "/Users/"+bID, map[string]any{"schemas": []string{schemaUser}, "userName": "x@a.test"}), http.StatusNotFound, "")
	scimError(t, s.scim(t, a.Token, "DELETE", "/Users/"+bID, nil), http.StatusNotFound, "")

	// Groups: a's group cannot take b's user, a cannot see or change b's
	// group, and b's member list is b's.
	r = s.scim(t, a.Token, "PATCH", "/Groups/"+aGroup, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+bID+`"}]}]}`)
	scimError(t, r, http.StatusBadRequest, "invalidValue")
	scimError(t, s.scim(t, a.Token, "GET", "/Groups/"+bGroup, nil), http.StatusNotFound, "")
	scimError(t, s.scim(t, a.Token, "DELETE", "/Groups/"+bGroup, nil), http.StatusNotFound, "")
	scimError(t, s.scim(t, a.Token, "PATCH", "/Groups/"+bGroup, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+aID+`"}]}]}`), http.StatusNotFound, "")
	r = s.scim(t, a.Token, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "staff"`), nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	require.EqualValues(t, 1, r.JSON(t)["totalResults"], "a sees its own Staff only")
	assert.Equal(t, aGroup, r.JSON(t)["Resources"].([]any)[0].(map[string]any)["id"])
	r = s.scim(t, b.Token, "GET", "/Groups/"+bGroup, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{bID}, memberIDs(t, r.JSON(t)), "b's group is as b made it")
	bMembersOnly := s.scim(t, a.Token, "GET", "/Groups?filter="+url.QueryEscape(`members.value eq "`+bID+`"`), nil)
	require.Equal(t, http.StatusOK, bMembersOnly.Status, bMembersOnly.String())
	assert.EqualValues(t, 0, bMembersOnly.JSON(t)["totalResults"])

	after := s.scim(t, b.Token, "GET", "/Users/"+bID, nil).JSON(t)
	assert.Equal(t, before, after, "b's user is unchanged")
	assert.Equal(t, member{Found: false}, s.directoryState(t, a.ID, bID))
	assert.Equal(t, "member", s.directoryState(t, b.ID, bID).Role)

	// A token that is revoked stops at once; one that never was is refused.
	r = s.admin(t, "DELETE", "/api/v1/admin/organizations/"+b.ID+"/scim-tokens/"+b.TokenID, nil)
	require.Equal(t, http.StatusNoContent, r.Status, r.String())
	scimError(t, s.scim(t, b.Token, "GET", "/Users/"+bID, nil), http.StatusUnauthorized, "")
	scimError(t, s.scim(t, "cst_not-a-token", "GET", "/Users", nil), http.StatusUnauthorized, "")
	scimError(t, s.scim(t, "", "GET", "/Users", nil), http.StatusUnauthorized, "")
	scimError(t, s.scim(t, s.env.AdminKey, "GET", "/Users", nil), http.StatusUnauthorized, "")
	// Revoking b's token through a's organization is not found.
	r = s.admin(t, "DELETE", "/api/v1/admin/organizations/"+b.ID+"/scim-tokens/"+a.TokenID, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, r.String())
	assert.Equal(t, http.StatusOK, s.scim(t, a.Token, "GET", "/Users", nil).Status)

	t.Run("a verified domain lets the organization's provider take in another organization's account", func(t *testing.T) {
		verifiedDomainJoins(t, s)
	})
}

// tokenAdmin: tokens are made, listed and revoked with the admin key, and
// shown once.
func tokenAdmin(t *testing.T, s *suite) {
	o := s.newOrg(t)
	path := "/api/v1/admin/organizations/" + o.ID + "/scim-tokens"
	r := s.call(t, "POST", path, "", "application/json", []byte(`{"name":"x"}`))
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	r = s.call(t, "GET", path, o.Token, "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "a SCIM token is not an admin key")

	r = s.admin(t, "GET", path, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	toks := r.JSON(t)["tokens"].([]any)
	require.Len(t, toks, 1)
	tok := toks[0].(map[string]any)
	assert.Equal(t, o.TokenID, tok["id"])
	assert.Equal(t, "Entra ID", tok["name"])
	assert.NotContains(t, tok, "token", "a token is shown only when made")
	assert.NotContains(t, r.String(), o.Token)

	r = s.admin(t, "POST", "/api/v1/admin/organizations/no-such-org/scim-tokens", map[string]string{"name": "x"})
	assert.Equal(t, http.StatusNotFound, r.Status, r.String())
	r = s.admin(t, "POST", path, map[string]string{"name": strings.Repeat("n", 101)})
	assert.Equal(t, http.StatusBadRequest, r.Status, r.String())
	r = s.admin(t, "DELETE", path+"/no-such-token", nil)
	assert.Equal(t, http.StatusNotFound, r.Status, r.String())
}

// verifiedDomainJoins: an account another organization made (and is home
// to) whose holder never proved the address does not join the token's
// organization through a domain verified since: anyone could have named it
// so. Its holder is asked, as without the domain. (An account whose email
// is verified joins at once; the OIDC suite's join checks cover it.)
func verifiedDomainJoins(t *testing.T, s *suite) {
	a, b := s.newOrg(t), s.newOrg(t)
	school := strings.ToLower(unique("d")) + ".school.test"
	email := "teacher@" + school
	s.createUser(t, a, email)
	body := map[string]any{"schemas": []string{schemaUser}, "userName": email, "externalId": "B-7"}
	scimError(t, s.scim(t, b.Token, "POST", "/Users", body), http.StatusConflict, "uniqueness")
	assert.Empty(t, s.findByUserName(t, b, email), "without the domain, b waits for the holder")

	r := s.admin(t, "PUT", "/api/v1/admin/organizations/"+b.ID+"/domains/"+school, nil)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	scimError(t, s.scim(t, b.Token, "POST", "/Users", body), http.StatusConflict, "uniqueness")
	assert.Empty(t, s.findByUserName(t, b, email), "an unproven address is not linked by the domain")

	// The domain is b's now: a neither creates accounts there nor moves its
	// accounts into it.
	scimError(t, s.scim(t, a.Token, "POST", "/Users", map[string]any{"schemas": []string{schemaUser}, "userName": "other@" + school}), http.StatusForbidden, "")
	id := s.createUser(t, a, strings.ToLower(unique("mover"))+"@a.test")
	r = s.scim(t, a.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"userName","value":"mover@`+school+`"}]}`)
	scimError(t, r, http.StatusForbidden, "")
}
