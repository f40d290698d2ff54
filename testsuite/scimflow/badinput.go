package scimflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func badInput(t *testing.T, s *suite) {
	o := s.newOrg(t)
	email := strings.ToLower(unique("bad")) + "@school.test"
	id := s.createUser(t, o, email)
	before := s.scim(t, o.Token, "GET", "/Users/"+id, nil).JSON(t)
	patch := func(ops string) string { return `{"schemas":["` + schemaPatch + `"],"Operations":[` + ops + `]}` }

	// Filters.
	for _, f := range []string{`userName eq`, `title eq "x"`, `emails[type eq "work"]`, `active gt true`, `meta.created gt "soon"`, `((`} {
		scimError(t, s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(f), nil), http.StatusBadRequest, "invalidFilter")
	}
	scimError(t, s.scim(t, o.Token, "GET", "/Users?count=many", nil), http.StatusBadRequest, "invalidValue")

	// Bodies.
	for _, c := range []struct {
		method, path, body, status, typ string
	}{
		{"POST", "/Users", `not json`, "400", "invalidSyntax"},
		{"POST", "/Users", `{"userName":"x@y.test"}`, "400", "invalidSyntax"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"]}`, "400", "invalidValue"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"not-an-email"}`, "400", "invalidValue"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"` + email + `"}`, "409", "uniqueness"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","active":"perhaps"}`, "400", "invalidValue"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","emails":"x"}`, "400", "invalidValue"},
		{"PUT", "/Users/" + id, `{"schemas":["` + schemaUser + `"],"userName":"` + email + `","displayName":"` + strings.Repeat("x", 300) + `"}`, "400", "invalidValue"},
		{"PATCH", "/Users/" + id, `{"Operations":[]}`, "400", "invalidSyntax"},
		{"PATCH", "/Users/" + id, patch(`{"op":"jump","path":"active","value":false}`), "400", "invalidSyntax"},
		{"PATCH", "/Users/" + id, patch(`{"op":"remove"}`), "400", "noTarget"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"id","value":"mine"}`), "400", "mutability"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"meta.created","value":"x"}`), "400", "mutability"},
		{"PATCH", "/Users/" + id, patch(`{"op":"remove","path":"userName"}`), "400", "mutability"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"emails[type eq","value":"x"}`), "400", "invalidPath"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"active","value":"yes"}`), "400", "invalidValue"},
		// A valid first operation does not land when a later one fails.
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"userName","value":" "}`), "400", "invalidValue"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"displayName","value":"Changed"},{"op":"add","path":"emails","value":[{"value":"not-an-address"}]}`), "400", "invalidValue"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"title","value":"Changed"},{"op":"add","path":"addresses","value":[{"type":"work"}]}`), "400", "invalidValue"},
		{"PATCH", "/Users/" + id, patch(`{"op":"add","path":"roles","value":"teacher"}`), "400", "invalidValue"},
		// Strict JSON: SCIM names are case-insensitive (RFC 7643 §2.1), so
		// "userName" twice in any case is ambiguous; so are bytes that are
		// not UTF-8.
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"a@y.test","username":"b@y.test"}`, "400", "invalidSyntax"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"a@y.test","userName":"b@y.test"}`, "400", "invalidSyntax"},
		{"PUT", "/Users/" + id, `{"schemas":["` + schemaUser + `"],"userName":"` + email + `","active":true,"ACTIVE":false}`, "400", "invalidSyntax"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"active","value":false,"Value":true}`), "400", "invalidSyntax"},
		{"POST", "/Users", "{\"schemas\":[\"" + schemaUser + "\"],\"userName\":\"ok@y.test\",\"displayName\":\"\xc3\x28\"}", "400", "invalidSyntax"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","displayName":"\udc00"}`, "400", "invalidSyntax"},
		// Names that would display as something else, and addresses that
		// are not plain ASCII addr-specs.
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","name":{"givenName":"Jane\u202eenaJ"}}`, "400", "invalidValue"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","path":"displayName","value":"\u2066Admin\u2069"}`), "400", "invalidValue"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"\u212aate@y.test"}`, "400", "invalidValue"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","emails":[{"value":"jane@[127.0.0.1]"}]}`, "400", "invalidValue"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","emails":[{"value":"jane@10.0.0.1"}]}`, "400", "invalidValue"},
		{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff\u202e"}`, "400", "invalidValue"},
		// One attribute under two spellings: which wins would hang on key order.
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","nickName":"A","` + schemaUser + `:nickName":"B"}`, "400", "invalidSyntax"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","value":{"name.givenName":"G1","name":{"givenName":"G2"}}}`), "400", "invalidSyntax"},
		{"PUT", "/Users/" + id, `{"schemas":["` + schemaUser + `"],"userName":"` + email + `","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"B"}`, "400", "invalidSyntax"},
		{"POST", "/Users", `{"schemas":["` + schemaUser + `"],"userName":"ok@y.test","addresses[type eq \"work\"].locality":"A","` + schemaUser + `:addresses[type eq \"work\"].locality":"B"}`, "400", "invalidSyntax"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","value":{"emails[type eq \"work\"].value":"a@y.test","emails[type  eq  \"work\"].value":"b@y.test"}}`), "400", "invalidSyntax"},
		{"PATCH", "/Users/" + id, patch(`{"op":"replace","value":{"emails[type eq \"work\"].value":"a@y.test","emails.value":"b@y.test"}}`), "400", "invalidSyntax"},
	} {
		r := s.scim(t, o.Token, c.method, c.path, c.body)
		scimError(t, r, atoi(c.status), c.typ)
	}

	// Content types: scim+json and json are accepted, others are not.
	r := s.call(t, "PATCH", "/scim/v2/Users/"+id, o.Token, "text/plain", []byte(patch(`{"op":"replace","path":"displayName","value":"x"}`)))
	scimError(t, r, http.StatusUnsupportedMediaType, "")
	// A compressed body is refused unread (it could inflate without bound).
	r = s.callWith(t, "PATCH", "/scim/v2/Users/"+id, o.Token, "application/scim+json",
		[]byte(patch(`{"op":"replace","path":"displayName","value":"x"}`)), map[string]string{"Content-Encoding": "gzip"})
	scimError(t, r, http.StatusUnsupportedMediaType, "")
	r = s.call(t, "PATCH", "/scim/v2/Users/"+id, o.Token, "application/json; charset=utf-8", []byte(patch(`{"op":"replace","path":"displayName","value":"Plain JSON"}`)))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	r = s.call(t, "PATCH", "/scim/v2/Users/"+id, o.Token, "application/scim+json", []byte(patch(`{"op":"replace","path":"displayName","value":"`+before["displayName"].(string)+`"}`)))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	// An oversized body.
	r = s.call(t, "POST", "/scim/v2/Users", o.Token, "application/scim+json", []byte(`{"schemas":["`+schemaUser+`"],"displayName":"`+strings.Repeat("x", 2<<20)+`"}`))
	scimError(t, r, http.StatusRequestEntityTooLarge, "")

	after := s.scim(t, o.Token, "GET", "/Users/"+id, nil).JSON(t)
	delete(before["meta"].(map[string]any), "lastModified")
	delete(before["meta"].(map[string]any), "version")
	delete(after["meta"].(map[string]any), "lastModified")
	delete(after["meta"].(map[string]any), "version")
	assert.Equal(t, before, after, "bad input changed nothing")
	r = s.scim(t, o.Token, "GET", "/Users", nil)
	assert.EqualValues(t, 1, r.JSON(t)["totalResults"], "no user was created")
	s.expectEvents(t, id, "user.created")
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// etags: If-Match guards writes, If-None-Match saves a read.
func etags(t *testing.T, s *suite) {
	o := s.newOrg(t)
	id := s.createUser(t, o, strings.ToLower(unique("etag"))+"@school.test")
	r := s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	tag := r.Header.Get("ETag")
	require.True(t, strings.HasPrefix(tag, `W/"`), tag)

	req := func(method, ifMatch, body string) response {
		t.Helper()
		var b []byte
		ct := ""
		if body != "" {
			b, ct = []byte(body), "application/scim+json"
		}
		return s.callWith(t, method, "/scim/v2/Users/"+id, o.Token, ct, b, map[string]string{"If-Match": ifMatch})
	}
	p := `{"schemas":["` + schemaPatch + `"],"Operations":[{"op":"replace","path":"displayName","value":"Tagged"}]}`
	scimError(t, req("PATCH", `W/"stale"`, p), http.StatusPreconditionFailed, "")
	r = req("PATCH", tag, p)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	newTag := r.Header.Get("ETag")
	assert.NotEqual(t, tag, newTag, "a change changes the version")
	scimError(t, req("DELETE", tag, ""), http.StatusPreconditionFailed, "")

	r = s.callWith(t, "GET", "/scim/v2/Users/"+id, o.Token, "", nil, map[string]string{"If-None-Match": newTag})
	assert.Equal(t, http.StatusNotModified, r.Status)
	// A projection without meta still has a version.
	r = s.callWith(t, "GET", "/scim/v2/Users/"+id+"?excludedAttributes=meta", o.Token, "", nil, map[string]string{"If-None-Match": newTag})
	assert.Equal(t, http.StatusNotModified, r.Status)
	r = s.callWith(t, "GET", "/scim/v2/Users/"+id+"?attributes=userName", o.Token, "", nil, map[string]string{"If-None-Match": tag})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, newTag, r.Header.Get("ETag"))
	assert.NotContains(t, r.JSON(t), "meta")
}
