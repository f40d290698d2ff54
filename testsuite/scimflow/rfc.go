package scimflow

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Points of RFC 7643 and RFC 7644 that no provider sequence reaches.

// writeProjections: RFC 7644 §3.9, attributes and excludedAttributes shape
// what POST, PUT and PATCH return, as they shape reads.
func writeProjections(t *testing.T, s *suite) {
	o := s.newOrg(t)
	email := strings.ToLower(unique("proj")) + "@school.test"
	keys := func(r response) []string { return slices.Sorted(mapsKeys(r.JSON(t))) }

	r := s.scim(t, o.Token, "POST", "/Users?attributes=userName", map[string]any{
		"schemas": []string{schemaUser}, "userName": email, "displayName": "Projected",
	})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	assert.Equal(t, []string{"id", "schemas", "userName"}, keys(r), "POST returns the attributes asked for")
	id := r.JSON(t)["id"].(string)
	assert.NotEmpty(t, r.Header.Get("ETag"), "the version is sent without meta")
	assert.True(t, strings.HasSuffix(r.Header.Get("Location"), "/Users/"+id), "the location is sent without meta")

	r = s.scim(t, o.Token, "PUT", "/Users/"+id+"?excludedAttributes=emails,meta,name.formatted", map[string]any{
		"schemas": []string{schemaUser}, "userName": email, "displayName": "Replaced",
		"name": map[string]string{"givenName": "Pat", "familyName": "Jones"},
	})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u := r.JSON(t)
	assert.NotContains(t, u, "emails", "PUT leaves out excluded attributes")
	assert.NotContains(t, u, "meta")
	assert.Equal(t, map[string]any{"givenName": "Pat", "familyName": "Jones"}, u["name"])
	assert.Equal(t, "Replaced", u["displayName"])
	assert.NotEmpty(t, r.Header.Get("ETag"))

	r = s.scim(t, o.Token, "PATCH", "/Users/"+id+"?attributes=displayName", patchBody(`{"op":"replace","path":"displayName","value":"Patched"}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{"displayName", "id", "schemas"}, keys(r), "PATCH returns the attributes asked for")
	assert.Equal(t, "Patched", r.JSON(t)["displayName"])

	r = s.scim(t, o.Token, "POST", "/Groups?excludedAttributes=members", map[string]any{
		"schemas": []string{schemaGroup}, "displayName": "projected", "members": []any{map[string]any{"value": id}},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	assert.NotContains(t, r.JSON(t), "members", "a group's POST leaves out excluded attributes")
	gid := r.JSON(t)["id"].(string)
	r = s.scim(t, o.Token, "GET", "/Groups/"+gid, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{id}, memberIDs(t, r.JSON(t)), "and still makes the members")
	r = s.scim(t, o.Token, "PUT", "/Groups/"+gid+"?attributes=displayName", map[string]any{
		"schemas": []string{schemaGroup}, "displayName": "projected", "members": []any{map[string]any{"value": id}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{"displayName", "id", "schemas"}, keys(r), "a group's PUT returns the attributes asked for")
	r = s.scim(t, o.Token, "PATCH", "/Groups/"+gid+"?excludedAttributes=members,meta",
		patchBody(`{"op":"remove","path":"members[value eq \"`+id+`\"]"}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, []string{"displayName", "id", "schemas"}, keys(r), "a group's PATCH leaves out excluded attributes")

	// A bad parameter is refused before anything is written.
	many := strings.Repeat("userName,", 60) + "userName"
	other := strings.ToLower(unique("proj")) + "@school.test"
	r = s.scim(t, o.Token, "POST", "/Users?attributes="+url.QueryEscape(many), map[string]any{"schemas": []string{schemaUser}, "userName": other})
	scimError(t, r, http.StatusBadRequest, "invalidValue")
	assert.Empty(t, s.findByUserName(t, o, other), "a refused POST creates nobody")
}

func patchBody(ops ...string) string {
	return `{"schemas":["` + schemaPatch + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// patchValuesAndPaths: RFC 7644 §3.5.2, add and replace carry a value, and
// a path names an attribute of the resource's schemas. Every attribute of
// those schemas is stored, but password, which is accepted and ignored.
func patchValuesAndPaths(t *testing.T, s *suite) {
	o := s.newOrg(t)
	id := s.createUser(t, o, strings.ToLower(unique("path"))+"@school.test")
	before := s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, before.Status, before.String())

	for _, op := range []string{
		`{"op":"add","path":"displayName"}`,
		`{"op":"replace","path":"displayName"}`,
		`{"op":"Replace","path":"active"}`,
		`{"op":"add"}`,
		`{"op":"add","path":"displayName","value":null}`,
	} {
		r := s.scim(t, o.Token, "PATCH", "/Users/"+id, patchBody(op))
		scimError(t, r, http.StatusBadRequest, "invalidValue")
	}
	r := s.scim(t, o.Token, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "valueless"})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	gid := r.JSON(t)["id"].(string)
	scimError(t, s.scim(t, o.Token, "PATCH", "/Groups/"+gid, patchBody(`{"op":"add","path":"members"}`)), http.StatusBadRequest, "invalidValue")

	for _, path := range []string{
		"nickNameX", "urn:unknown:schema:foo", "name.middleNameX", "displayName.value",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nickName", "addresses[type eq \\\"work\\\"].planet",
	} {
		r := s.scim(t, o.Token, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"`+path+`","value":"x"}`))
		scimError(t, r, http.StatusBadRequest, "invalidPath")
	}

	var kept []string
	for _, op := range []struct{ path, value string }{
		{"nickName", `"Bob"`}, {"title", `"Dean"`}, {"locale", `"en-GB"`}, {"timezone", `"Europe/London"`},
		{"preferredLanguage", `"en"`}, {"userType", `"Staff"`}, {"profileUrl", `"https://example.test/p"`},
		{"name.middleName", `"Q"`}, {"name.honorificPrefix", `"Dr"`},
		{"addresses", `[{"type":"work","streetAddress":"1 Main St"}]`},
		{`addresses[type eq \"work\"].locality`, `"Leeds"`},
		{"x509Certificates", `[{"value":"MIIB"}]`}, {"ims", `[{"value":"bob","type":"xmpp"}]`},
		{"photos", `[{"value":"https://example.test/p.png"}]`}, {"entitlements", `[{"value":"wifi"}]`},
		{"roles", `[{"value":"teacher"}]`},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", `"C1"`},
	} {
		kept = append(kept, `{"op":"add","path":"`+op.path+`","value":`+op.value+`}`)
	}
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, patchBody(kept...))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	got := r.JSON(t)
	for k, want := range map[string]any{
		"nickName": "Bob", "title": "Dean", "locale": "en-GB", "timezone": "Europe/London", "preferredLanguage": "en",
		"userType": "Staff", "profileUrl": "https://example.test/p",
		"addresses":        []any{map[string]any{"type": "work", "streetAddress": "1 Main St", "locality": "Leeds", "primary": false}},
		"x509Certificates": []any{map[string]any{"value": "MIIB", "primary": false}},
		"ims":              []any{map[string]any{"value": "bob", "type": "xmpp", "primary": false}},
		"roles":            []any{map[string]any{"value": "teacher", "primary": false}},
		schemaEnterprise:   map[string]any{"costCenter": "C1"},
	} {
		assert.Equal(t, want, got[k], k)
	}
	assert.Equal(t, "Q", got["name"].(map[string]any)["middleName"])
	assert.Equal(t, "Dr", got["name"].(map[string]any)["honorificPrefix"])

	// password is accepted and neither stored nor shown.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"password","value":"S3cret-from-the-IdP"}`))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, got, r.JSON(t), "password changes nothing")
	assert.NotContains(t, string(r.Body), "S3cret")
}

// flatFilters: a run of one operator is not nesting; real nesting stays
// bounded.
func flatFilters(t *testing.T, s *suite) {
	o := s.newOrg(t)
	email := strings.ToLower(unique("flat")) + "@school.test"
	id := s.createUser(t, o, email)
	terms := make([]string, 64)
	for i := range terms {
		terms[i] = `userName eq "a` + itoa(int64(i)) + `"`
	}
	terms[63] = `userName eq "` + email + `"`
	for _, c := range []struct{ name, filter string }{
		{"64 alternatives", strings.Join(terms, " or ")},
		{"64 alternatives in parentheses", "(" + strings.Join(terms, ") or (") + ")"},
		{"64 conjuncts", strings.Join(append(slices.Repeat([]string{`active eq true`}, 63), `userName eq "`+email+`"`), " and ")},
	} {
		r := s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(c.filter), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", c.name, r.String())
		res := r.JSON(t)["Resources"].([]any)
		require.Len(t, res, 1, c.name)
		assert.Equal(t, id, res[0].(map[string]any)["id"], c.name)
	}
	for _, f := range []string{
		strings.Repeat("not (", 17) + `userName eq "a"` + strings.Repeat(")", 17),
		strings.Join(append(terms, `userName eq "one-too-many"`), " or "),
	} {
		scimError(t, s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(f), nil), http.StatusBadRequest, "invalidFilter")
	}
}

// readOnlyDiscovery: discovery answers GET alone, with 405 and Allow for
// anything else; /Me is not implemented (RFC 7644 §3.11).
func readOnlyDiscovery(t *testing.T, s *suite) {
	o := s.newOrg(t)
	for _, path := range []string{
		"/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas", "/Schemas/" + schemaUser,
	} {
		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			r := s.scim(t, o.Token, method, path, `{"schemas":["`+schemaUser+`"]}`)
			scimError(t, r, http.StatusMethodNotAllowed, "")
			assert.Contains(t, r.Header.Get("Allow"), "GET", "%s %s says what is allowed", method, path)
		}
	}
	scimError(t, s.scim(t, "", "GET", "/ServiceProviderConfig/extra", nil), http.StatusNotFound, "")

	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		for _, token := range []string{o.Token, ""} {
			var body any
			if method != "GET" && method != "DELETE" {
				body = `{"schemas":["` + schemaUser + `"]}`
			}
			scimError(t, s.scim(t, token, method, "/Me", body), http.StatusNotImplemented, "")
		}
	}
}

// plainJSON: a client that asks for application/json alone is answered in
// it (RFC 7644 §3.8 names both); anyone else gets application/scim+json.
func plainJSON(t *testing.T, s *suite) {
	o := s.newOrg(t)
	id := s.createUser(t, o, strings.ToLower(unique("accept"))+"@school.test")
	get := func(path, accept string) response {
		t.Helper()
		h := map[string]string{}
		if accept != "" {
			h["Accept"] = accept
		}
		return s.callWith(t, "GET", "/scim/v2"+path, o.Token, "", nil, h)
	}
	for _, c := range []struct {
		accept, path, want string
		status             int
	}{
		{"application/json", "/Users/" + id, "application/json", http.StatusOK},
		{"application/json", "/Users?count=1", "application/json", http.StatusOK},
		{"application/json", "/ServiceProviderConfig", "application/json", http.StatusOK},
		{"application/json", "/Users/nobody", "application/json", http.StatusNotFound},
		{"application/json", "/Users?filter=((", "application/json", http.StatusBadRequest},
		{"application/json;q=0.9, */*;q=0.1", "/Users/" + id, "application/json", http.StatusOK},
		{"application/scim+json", "/Users/" + id, "application/scim+json", http.StatusOK},
		{"application/json, application/scim+json", "/Users/" + id, "application/scim+json", http.StatusOK},
		{"*/*", "/Users/" + id, "application/scim+json", http.StatusOK},
		{"", "/Users/" + id, "application/scim+json", http.StatusOK},
		{"", "/Users/nobody", "application/scim+json", http.StatusNotFound},
	} {
		r := get(c.path, c.accept)
		require.Equal(t, c.status, r.Status, "Accept %q, GET %s: %s", c.accept, c.path, r.String())
		assert.Equal(t, c.want, mediaType(r.Header.Get("Content-Type")), "Accept %q, GET %s", c.accept, c.path)
		assert.NotEmpty(t, r.JSON(t)["schemas"], "the body is the same SCIM JSON")
	}
	r := s.callWith(t, "PATCH", "/scim/v2/Users/"+id, o.Token, "application/json", []byte(patchBody(`{"op":"replace","path":"displayName","value":"Plain"}`)),
		map[string]string{"Accept": "application/json"})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, "application/json", mediaType(r.Header.Get("Content-Type")), "a write answers in JSON too")
}
