package scimflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func discovery(t *testing.T, s *suite) {
	r := s.scim(t, "", "GET", "/ServiceProviderConfig", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	spc := r.JSON(t)
	assert.Equal(t, map[string]any{"supported": true}, spc["patch"])
	assert.Equal(t, false, spc["bulk"].(map[string]any)["supported"])
	assert.Equal(t, true, spc["filter"].(map[string]any)["supported"])
	assert.EqualValues(t, 200, spc["filter"].(map[string]any)["maxResults"])
	assert.Equal(t, false, spc["sort"].(map[string]any)["supported"])
	assert.Equal(t, false, spc["changePassword"].(map[string]any)["supported"])
	assert.Equal(t, true, spc["etag"].(map[string]any)["supported"])
	schemes := spc["authenticationSchemes"].([]any)
	require.Len(t, schemes, 1)
	assert.Equal(t, "oauthbearertoken", schemes[0].(map[string]any)["type"])

	r = s.scim(t, "", "GET", "/ResourceTypes", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	var names []any
	for _, rt := range r.JSON(t)["Resources"].([]any) {
		names = append(names, rt.(map[string]any)["name"])
	}
	assert.Equal(t, []any{"User", "Group"}, names)
	r = s.scim(t, "", "GET", "/ResourceTypes/User", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "/Users", r.JSON(t)["endpoint"])
	scimError(t, s.scim(t, "", "GET", "/ResourceTypes/Printer", nil), http.StatusNotFound, "")

	r = s.scim(t, "", "GET", "/Schemas", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	attrs := map[string][]string{}
	for _, sc := range r.JSON(t)["Resources"].([]any) {
		m := sc.(map[string]any)
		for _, a := range m["attributes"].([]any) {
			attrs[m["id"].(string)] = append(attrs[m["id"].(string)], a.(map[string]any)["name"].(string))
		}
	}
	assert.Equal(t, []string{
		"userName", "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale",
		"timezone", "active", "password", "externalId", "emails", "phoneNumbers", "ims", "photos", "addresses",
		"entitlements", "roles", "x509Certificates", "groups",
	}, attrs[schemaUser], "every attribute of RFC 7643 §4.1")
	assert.Equal(t, []string{"employeeNumber", "costCenter", "organization", "division", "department", "manager"}, attrs[schemaEnterprise])
	assert.Equal(t, []string{"displayName", "members"}, attrs["urn:ietf:params:scim:schemas:core:2.0:Group"])
	r = s.scim(t, "", "GET", "/Schemas/"+schemaUser, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	scimError(t, s.scim(t, "", "GET", "/Schemas/urn:nope", nil), http.StatusNotFound, "")

	// Bulk and search by POST are not supported, and say so.
	o := s.newOrg(t)
	scimError(t, s.scim(t, o.Token, "POST", "/Bulk", `{}`), http.StatusNotImplemented, "")
	scimError(t, s.scim(t, o.Token, "GET", "/Printers", nil), http.StatusNotFound, "")
}
