package directoryflow

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

var badInputChecks = []check{
	{"every JSON endpoint answers malformed bodies with a 4xx REST error", badBodies},
	{"application/json with a charset is accepted", badCharsetAccepted},
	{"a compressed body is 415 and changes nothing", badCompressed},
	{"names are 1 to 100 characters: 100 pass, 101 or empty are 400", badNameLength},
	{"a bad email, a missing organizationId or an unknown organization is refused", badProvisionFields},
	{"an oversized organization name is 400", badOrgName},
	{"names with bidirectional or other control characters are 400", badControlNames},
	{"emails must be ASCII addr-specs with a dotted DNS domain", badStrictEmails},
	{"a duplicate email key cannot pick the stored address", badDuplicateEmailKey},
}

// bodyRoute is an endpoint that reads a JSON body, with a body of the wrong
// types for it.
type bodyRoute struct {
	name, method, path string
	header             http.Header
	wrongType          string
}

func (s *suite) bodyRoutes(t *testing.T) []bodyRoute {
	t.Helper()
	o, c := s.newTenant(t, "badbody")
	p := s.newUser(t, c, o.ID, "badbody")
	admin := s.adminHeader()
	return []bodyRoute{
		{"provision", http.MethodPost, pathProvision, c.header(), `{"email": 1}`},
		{"bulk provision", http.MethodPost, pathProvisionBulk, c.header(), `{"users": {"email": "a@example.com"}}`},
		{"patch user", http.MethodPatch, userPath(p.UserID), c.header(), `{"firstName": true}`},
		{"create organization", http.MethodPost, pathAdminOrgs, admin, `{"name": 5}`},
		{"patch organization", http.MethodPatch, adminOrgPath(o.ID), admin, `{"name": ["x"]}`},
		{"put member", http.MethodPut, adminOrgPath(o.ID) + "/members/" + p.UserID, admin, `{"role": {}}`},
		{"put role", http.MethodPut, adminOrgPath(o.ID) + "/roles/teacher", admin, `{"permissions": "all"}`},
		{"patch client", http.MethodPatch, pathAdminClients + c.ID, admin, `{"firstParty": "yes"}`},
		{"put grant", http.MethodPut, grantPath(c.ID, o.ID), admin, `{"actions": [1]}`},
	}
}

func badBodies(t *testing.T, s *suite) {
	kinds := []struct {
		name        string
		contentType string
		body        func(bodyRoute) string
		status      int
		code        string
	}{
		{"malformed JSON is 400 invalid_json", "application/json", func(bodyRoute) string { return `{"name": ` }, 400, "invalid_json"},
		{"an empty body is 400 invalid_json", "application/json", func(bodyRoute) string { return `` }, 400, "invalid_json"},
		{"two JSON values are 400 invalid_json", "application/json", func(bodyRoute) string { return `{} {}` }, 400, "invalid_json"},
		{"an array instead of an object is 400", "application/json", func(bodyRoute) string { return `[1, 2]` }, 400, ""},
		{"text/plain is 415", "text/plain", func(bodyRoute) string { return `{}` }, 415, "unsupported_media_type"},
		{"a form is 415", "application/x-www-form-urlencoded", func(bodyRoute) string { return `name=x` }, 415, "unsupported_media_type"},
		{"no content type is 415", "", func(bodyRoute) string { return `{}` }, 415, "unsupported_media_type"},
		{"an unknown field is 400 unknown_field", "application/json", func(bodyRoute) string { return `{"isAdmin": true}` }, 400, "unknown_field"},
		{"a field of the wrong type is 400 invalid_request", "application/json", func(r bodyRoute) string { return r.wrongType }, 400, "invalid_request"},
		{"deep nesting is 4xx", "application/json", func(bodyRoute) string { return strings.Repeat("[", 20000) }, 0, ""},
		// Strict JSON: what encoding/json would read one way and another
		// parser another is refused before anything is done.
		{"a duplicate key is 400 invalid_json", "application/json", func(bodyRoute) string { return `{"name":"a","name":"b"}` }, 400, "invalid_json"},
		{"keys that differ in case are 400 invalid_json", "application/json", func(bodyRoute) string { return `{"name":"a","Name":"b"}` }, 400, "invalid_json"},
		{"a key with the Kelvin sign is 400 invalid_json", "application/json", func(bodyRoute) string { return "{\"kind\":1,\"\u212aind\":2}" }, 400, "invalid_json"},
		{"invalid UTF-8 is 400 invalid_json", "application/json", func(bodyRoute) string { return "{\"name\":\"\xff\xfe\"}" }, 400, "invalid_json"},
		{"an unpaired surrogate escape is 400 invalid_json", "application/json", func(bodyRoute) string { return `{"name":"\ud800"}` }, 400, "invalid_json"},
	}
	for _, rt := range s.bodyRoutes(t) {
		for _, k := range kinds {
			t.Run(rt.name+": "+k.name, func(t *testing.T) {
				r := s.send(t, request{method: rt.method, path: rt.path, header: rt.header, contentType: k.contentType, body: []byte(k.body(rt))})
				if k.status == 0 {
					require4xx(t, r)
					return
				}
				requireError(t, r, k.status, k.code)
			})
		}
	}
}

func badCharsetAccepted(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "charset")
	r := s.send(t, request{
		method: http.MethodPost, path: pathProvision, header: c.header(), contentType: "application/json; charset=utf-8",
		body: []byte(`{"email": "` + newEmail("charset") + `", "firstName": "A", "lastName": "B", "organizationId": "` + o.ID + `"}`),
	})
	assert.Equal(t, http.StatusCreated, r.Status, "body %q", r)
}

func badNameLength(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "namelen")
	ok := newUserReq(o.ID, "namelen")
	ok.FirstName, ok.LastName = strings.Repeat("é", 100), strings.Repeat("L", 100)
	p := s.provision(t, c, ok)
	assert.Equal(t, ok.FirstName, p.FirstName, "100 characters pass, however many bytes")
	for _, bad := range []struct{ name, first, last string }{
		{"a first name of 101 characters", strings.Repeat("é", 101), "Smith"},
		{"a last name of 101 characters", "Jane", strings.Repeat("L", 101)},
		{"a first name of 10,000 characters", strings.Repeat("F", 10000), "Smith"},
		{"an empty first name", "", "Smith"},
		{"a blank last name", "Jane", "   "},
		{"a name with a newline", "Ja\nne", "Smith"},
	} {
		in := newUserReq(o.ID, "namelen")
		in.FirstName, in.LastName = bad.first, bad.last
		r := s.call(t, c, http.MethodPost, pathProvision, in)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s is 400; body %q", bad.name, r)
		requireError(t, r, r.Status, "invalid_request")
	}
	assert.Len(t, s.members(t, o.ID), 1, "refused rows wrote nothing")
}

func badProvisionFields(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "fields")
	for _, email := range []string{"", "plain", "two@@example.com", "Jane <jane@example.com>", strings.Repeat("a", 250) + "@example.com"} {
		in := newUserReq(o.ID, "fields")
		in.Email = email
		requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusBadRequest, "invalid_email")
	}
	in := newUserReq("", "fields")
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusBadRequest, "invalid_request")
	in = newUserReq("00000000-0000-4000-8000-000000000004", "fields")
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusForbidden, "forbidden")
	in = newUserReq(strings.Repeat("o", 5000), "fields")
	require4xx(t, s.call(t, c, http.MethodPost, pathProvision, in))
	in = newUserReq(o.ID, "fields")
	in.Role = "Not A Role"
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusBadRequest, "invalid_role")
	assert.Empty(t, s.members(t, o.ID))
}

func badOrgName(t *testing.T, s *suite) {
	for _, name := range []string{strings.Repeat("N", 201), strings.Repeat("N", 100000), "bad\x00name"} {
		r := s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": name})
		require4xx(t, r)
		assert.Equal(t, http.StatusBadRequest, r.Status, "body %q", r)
	}
	o := s.newOrg(t, "orgname")
	requireError(t, s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"name": strings.Repeat("N", 201)}), http.StatusBadRequest, "")
}

// controlNames are names that would display as something else.
var controlNames = map[string]string{
	"a right-to-left override": "Jane\u202eenaJ",
	"a left-to-right isolate":  "\u2066Jane\u2069",
	"a right-to-left mark":     "Ja\u200fne",
	"a C1 control":             "Ja\u0085ne",
	"an escape":                "Ja\u001bne",
}

func badControlNames(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "bidi")
	p := s.newUser(t, c, o.ID, "bidi")
	for what, name := range controlNames {
		in := newUserReq(o.ID, "bidi")
		in.FirstName = name
		requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusBadRequest, "invalid_request")
		requireError(t, s.call(t, c, http.MethodPatch, userPath(p.UserID), map[string]any{"lastName": name}), http.StatusBadRequest, "invalid_request")
		r := s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "Springfield " + name})
		assert.Equal(t, http.StatusBadRequest, r.Status, "an organization named with %s; body %q", what, r)
		r = s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"name": name})
		assert.Equal(t, http.StatusBadRequest, r.Status, "a rename with %s; body %q", what, r)
	}
	assert.Len(t, s.members(t, o.ID), 1, "refused rows wrote nothing")
	got := s.getUser(t, c, p.UserID)
	assert.Equal(t, p.LastName, got.LastName, "the refused rename changed nothing")
}

func badStrictEmails(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "strictmail")
	for _, email := range []string{
		"jane@[127.0.0.1]", "jane@127.0.0.1", "jane@[IPv6:::1]", "jane@localhost", "jane@example",
		"\u212aate@example.com", "\u017fam@example.com", "élodie@example.com", "jane(x)@example.com",
		"jane@example.com\u202e",
	} {
		in := newUserReq(o.ID, "strictmail")
		in.Email = email
		requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusBadRequest, "invalid_email")
	}
	assert.Empty(t, s.members(t, o.ID))
}

// Go's decoder keeps the last of two keys and another parser (a WAF, an
// audit log) the first: so a body with two "email" keys is refused.
func badDuplicateEmailKey(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "dupkey")
	first, second := newEmail("dupkey-a"), newEmail("dupkey-b")
	body := `{"email":"` + first + `","firstName":"A","lastName":"B","organizationId":"` + o.ID + `","Email":"` + second + `"}`
	r := s.send(t, request{method: http.MethodPost, path: pathProvision, header: c.header(), contentType: "application/json", body: []byte(body)})
	requireError(t, r, http.StatusBadRequest, "invalid_json")
	assert.Empty(t, s.members(t, o.ID))
}

func badCompressed(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "gzip")
	h := c.header().Clone()
	h.Set("Content-Encoding", "gzip")
	body := `{"email": "` + newEmail("gzip") + `", "firstName": "A", "lastName": "B", "organizationId": "` + o.ID + `"}`
	r := s.send(t, request{method: http.MethodPost, path: pathProvision, header: h, contentType: "application/json", body: []byte(body)})
	assert.Equal(t, http.StatusUnsupportedMediaType, r.Status, "body %q", r)
	require4xx(t, r)
	assert.Empty(t, s.members(t, o.ID))
}
