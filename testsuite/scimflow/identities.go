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

// The organization's own identity for a member: userName kept as sent,
// unique case-insensitively in the organization, independent of the
// emails; the token's rule picks the sign-in email.

// newOrgWithRule makes an organization whose SCIM token signs users in
// under rule.
func (s *suite) newOrgWithRule(t *testing.T, rule string) org {
	t.Helper()
	o := s.newOrg(t)
	r := s.admin(t, "POST", "/api/v1/admin/organizations/"+o.ID+"/scim-tokens", map[string]string{"name": "IdP", "signInEmail": rule})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	tok := r.JSON(t)
	assert.Equal(t, rule, tok["signInEmail"])
	o.Token, o.TokenID = tok["token"].(string), tok["id"].(string)
	return o
}

// entraUser is Entra ID's user with a UPN that is not its mail, as its
// provisioning sends it: userName the UPN, the mail as the work email.
func entraUser(upn, mail, displayName string) map[string]any {
	return map[string]any{
		"schemas":     []string{schemaUser, schemaEnterprise},
		"externalId":  "aad-" + strings.ToLower(upn),
		"userName":    upn,
		"active":      true,
		"displayName": displayName,
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": mail}},
		"name":        map[string]any{"givenName": "Grace", "familyName": "Hopper"},
	}
}

// entraUpdate is Entra ID's PATCH of a user it found: every mapped
// attribute replaced, whether it changed or not.
func entraUpdate(upn, mail, displayName string) string {
	return `{"schemas":["` + schemaPatch + `"],"Operations":[
		{"op":"Replace","path":"userName","value":"` + upn + `"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"` + mail + `"},
		{"op":"Replace","path":"displayName","value":"` + displayName + `"},
		{"op":"Replace","path":"name.givenName","value":"Grace"},
		{"op":"Replace","path":"name.familyName","value":"Hopper"},
		{"op":"Replace","path":"active","value":"True"}
	]}`
}

// entraCyclesByUserName: each cycle Entra looks the user up by userName,
// creates it if missing and patches what it found. Over five cycles there
// is one user, found every time, and nothing moves after the first.
func entraCyclesByUserName(t *testing.T, s *suite) {
	o := s.newOrg(t)
	tag := unique("ghopper")
	upn := "Grace." + tag + "@Contoso.onmicrosoft.com"
	mail := "grace." + strings.ToLower(tag) + "@navy.test"
	var id string
	for cycle := 1; cycle <= 5; cycle++ {
		found := s.findByUserName(t, o, upn)
		if cycle == 1 {
			require.Empty(t, found)
			r := s.scim(t, o.Token, "POST", "/Users", entraUser(upn, mail, "Grace Hopper"))
			require.Equal(t, http.StatusCreated, r.Status, r.String())
			id = r.JSON(t)["id"].(string)
			continue
		}
		require.Len(t, found, 1, "cycle %d finds the user by its UPN", cycle)
		require.Equal(t, id, found[0]["id"], "cycle %d", cycle)
		assert.Equal(t, upn, found[0]["userName"], "cycle %d: userName as sent", cycle)
		r := s.scim(t, o.Token, "PATCH", "/Users/"+id, entraUpdate(upn, mail, "Grace Hopper"))
		require.Equal(t, http.StatusOK, r.Status, "cycle %d: %s", cycle, r)
		u := r.JSON(t)
		assert.Equal(t, upn, u["userName"], "cycle %d", cycle)
		assert.Equal(t, []any{map[string]any{"value": mail, "type": "work", "primary": true}}, u["emails"], "cycle %d", cycle)
		assert.Equal(t, mail, s.directoryState(t, o.ID, id).Email, "cycle %d: the mail signs in", cycle)
	}
	s.expectEvents(t, id, "user.created")
	require.Len(t, s.findByUserName(t, o, strings.ToLower(upn)), 1, "any case finds it")
	require.Empty(t, s.findByUserName(t, o, mail), "the mail is not the userName")
	r := s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(`emails.value eq "`+mail+`"`), nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.EqualValues(t, 1, r.JSON(t)["totalResults"], "the mail is an email")

	// A later change of the mail in Entra moves the sign-in email, never
	// the userName.
	newMail := "grace.hopper." + strings.ToLower(tag) + "@navy.test"
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, entraUpdate(upn, newMail, "Grace Hopper"))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, upn, r.JSON(t)["userName"])
	assert.Equal(t, newMail, s.directoryState(t, o.ID, id).Email)
	s.expectEvents(t, id, "user.created", "user.updated")
}

// entraCyclesByID: once Entra knows the user's id it patches by id alone.
// Five cycles of the same PATCH leave userName, email and events where the
// first left them: nothing flips between the UPN and the mail.
func entraCyclesByID(t *testing.T, s *suite) {
	o := s.newOrg(t)
	tag := unique("amazing")
	upn := "AGrace." + tag + "@Contoso.onmicrosoft.com"
	mail := "amazing." + strings.ToLower(tag) + "@navy.test"
	r := s.scim(t, o.Token, "POST", "/Users", entraUser(upn, mail, "Amazing Grace"))
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	created := r.JSON(t)
	id := created["id"].(string)
	version := created["meta"].(map[string]any)["version"]
	for cycle := 1; cycle <= 5; cycle++ {
		r = s.scim(t, o.Token, "PATCH", "/Users/"+id, entraUpdate(upn, mail, "Amazing Grace"))
		require.Equal(t, http.StatusOK, r.Status, "cycle %d: %s", cycle, r)
		u := r.JSON(t)
		assert.Equal(t, upn, u["userName"], "cycle %d", cycle)
		assert.Equal(t, version, u["meta"].(map[string]any)["version"], "cycle %d: nothing the organization sees changed", cycle)
		assert.Equal(t, mail, s.directoryState(t, o.ID, id).Email, "cycle %d", cycle)
	}
	s.expectEvents(t, id, "user.created")

	// Entra renames the UPN: the userName follows, the email stays.
	renamed := "Grace.Renamed." + tag + "@Contoso.onmicrosoft.com"
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, entraUpdate(renamed, mail, "Amazing Grace"))
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, renamed, r.JSON(t)["userName"])
	require.Empty(t, s.findByUserName(t, o, upn), "the old UPN is free")
	require.Len(t, s.findByUserName(t, o, renamed), 1)
	assert.Equal(t, mail, s.directoryState(t, o.ID, id).Email)
	s.expectEvents(t, id, "user.created")
}

// oktaMixedCase is Okta's SPEC test sequence with a mixed-case userName:
// it comes back exactly as sent, every lookup finds it in any case, and a
// second user cannot take it in another case.
func oktaMixedCase(t *testing.T, s *suite) {
	o := s.newOrg(t)
	userName := "Katherine.Johnson." + unique("Spec") + "@NASA.test"
	// Okta's SPEC test: "Test Users endpoint with filter", any case.
	require.Empty(t, s.findByUserName(t, o, strings.ToLower(userName)))
	body := oktaCreate(userName)
	r := s.scim(t, o.Token, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	u := r.JSON(t)
	id := u["id"].(string)
	assert.Equal(t, userName, u["userName"], "the case is kept")
	assert.Equal(t, strings.ToLower(userName), s.directoryState(t, o.ID, id).Email, "the sign-in email is normalised")
	for _, q := range []string{userName, strings.ToLower(userName), strings.ToUpper(userName)} {
		found := s.findByUserName(t, o, q)
		require.Len(t, found, 1, q)
		assert.Equal(t, userName, found[0]["userName"])
	}
	r = s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, userName, r.JSON(t)["userName"])

	// "Test Users endpoint with an invalid user" / duplicate: 409 in any case.
	dup := oktaCreate(strings.ToUpper(userName))
	dup["emails"] = []any{map[string]any{"primary": true, "value": strings.ToLower(unique("other")) + "@nasa.test", "type": "work"}}
	scimError(t, s.scim(t, o.Token, "POST", "/Users", dup), http.StatusConflict, "uniqueness")

	// PUT with the same body keeps it; a PUT changing only the case
	// renames.
	body["id"] = id
	r = s.scim(t, o.Token, "PUT", "/Users/"+id, body)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, userName, r.JSON(t)["userName"])
	body["userName"] = strings.ToLower(userName)
	r = s.scim(t, o.Token, "PUT", "/Users/"+id, body)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, strings.ToLower(userName), r.JSON(t)["userName"])
	s.expectEvents(t, id, "user.created")

	// Another member cannot be renamed onto it either.
	other := s.createUser(t, o, strings.ToLower(unique("second"))+"@nasa.test")
	r = s.scim(t, o.Token, "PATCH", "/Users/"+other, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"userName","value":"`+userName+`"}]}`)
	scimError(t, r, http.StatusConflict, "uniqueness")
	r = s.scim(t, o.Token, "GET", "/Users/"+other, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.NotEqual(t, userName, r.JSON(t)["userName"], "the refused rename wrote nothing")
}

// signInWithUserName: a token with the user_name rule signs users in with
// userName, which must then be an address; the primary_email rule takes
// the emails and accepts any userName.
func signInWithUserName(t *testing.T, s *suite) {
	o := s.newOrgWithRule(t, "user_name")
	login := "Lin." + unique("Login") + "@Corp.test"
	mail := strings.ToLower(unique("mail")) + "@mail.test"
	body := map[string]any{
		"schemas": []string{schemaUser}, "userName": login,
		"emails": []any{map[string]any{"value": mail, "type": "work", "primary": true}},
	}
	r := s.scim(t, o.Token, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	id := r.JSON(t)["id"].(string)
	assert.Equal(t, strings.ToLower(login), s.directoryState(t, o.ID, id).Email)
	for range 3 {
		r = s.scim(t, o.Token, "PUT", "/Users/"+id, body)
		require.Equal(t, http.StatusOK, r.Status, r.String())
	}
	assert.Equal(t, strings.ToLower(login), s.directoryState(t, o.ID, id).Email)
	s.expectEvents(t, id, "user.created")

	body["userName"] = "lin-no-address"
	scimError(t, s.scim(t, o.Token, "POST", "/Users", body), http.StatusBadRequest, "invalidValue")

	// primary_email (the default) accepts a userName that is no address.
	p := s.newOrg(t)
	body["emails"] = []any{map[string]any{"value": strings.ToLower(unique("pe")) + "@mail.test", "type": "work"}}
	r = s.scim(t, p.Token, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	assert.Equal(t, "lin-no-address", r.JSON(t)["userName"])
	delete(body, "emails")
	body["userName"] = "no-address-" + unique("x")
	scimError(t, s.scim(t, p.Token, "POST", "/Users", body), http.StatusBadRequest, "invalidValue")

	bad := s.admin(t, "POST", "/api/v1/admin/organizations/"+o.ID+"/scim-tokens", map[string]string{"signInEmail": "upn"})
	assert.Equal(t, http.StatusBadRequest, bad.Status, bad.String())
}

// fullUser carries every attribute of RFC 7643's User and Enterprise User.
func fullUser(userName, mail string) map[string]any {
	return map[string]any{
		"schemas":    []any{schemaUser, schemaEnterprise},
		"userName":   userName,
		"externalId": "ext-" + userName,
		"name": map[string]any{
			"formatted": "Ms. Barbara Jane Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
			"middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III",
		},
		"displayName":       "Babs Jensen",
		"nickName":          "Babs",
		"profileUrl":        "https://login.example.com/bjensen",
		"title":             "Tour Guide",
		"userType":          "Employee",
		"preferredLanguage": "en-US",
		"locale":            "en-US",
		"timezone":          "America/Los_Angeles",
		"active":            true,
		"emails": []any{
			map[string]any{"value": mail, "type": "work", "primary": true, "display": "Work"},
			map[string]any{"value": "babs@jensen.test", "type": "home", "primary": false},
		},
		"phoneNumbers": []any{map[string]any{"value": "555-555-5555", "type": "work", "primary": false}},
		"ims":          []any{map[string]any{"value": "someaimhandle", "type": "aim", "primary": false}},
		"photos":       []any{map[string]any{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo", "primary": false}},
		"addresses": []any{
			map[string]any{
				"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
				"region": "CA", "postalCode": "91608", "country": "US",
				"formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true,
			},
			map[string]any{"type": "home", "locality": "Hollywood", "primary": false},
		},
		"entitlements":     []any{map[string]any{"value": "Employee of the Month", "primary": false}},
		"roles":            []any{map[string]any{"value": "Tour Guide", "display": "Guide", "type": "job", "primary": true}},
		"x509Certificates": []any{map[string]any{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw", "primary": false}},
		"password":         "t1meMa$heen",
		schemaEnterprise: map[string]any{
			"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
			"division": "Theme Park", "department": "Tour Operations",
			"manager": map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
		},
	}
}

// allAttributes: RFC 7643's full example user comes back as sent, but for
// the password, which is never returned, and the manager's $ref, which is
// added.
func allAttributes(t *testing.T, s *suite) {
	o := s.newOrg(t)
	userName := "BJensen." + unique("full")
	mail := strings.ToLower(unique("bjensen")) + "@example.com"
	body := fullUser(userName, mail)
	r := s.scim(t, o.Token, "POST", "/Users", body)
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	u := r.JSON(t)
	id := u["id"].(string)
	check := func(u map[string]any, body map[string]any) {
		t.Helper()
		for k, want := range body {
			switch k {
			case "password":
				assert.NotContains(t, u, k)
			case schemaEnterprise:
				got := u[k].(map[string]any)
				for ek, ev := range want.(map[string]any) {
					if ek == "manager" {
						mgr := got[ek].(map[string]any)
						assert.Equal(t, ev.(map[string]any)["value"], mgr["value"])
						assert.Equal(t, ev.(map[string]any)["displayName"], mgr["displayName"])
						continue
					}
					assert.Equal(t, ev, got[ek], ek)
				}
			case "schemas":
				assert.ElementsMatch(t, want, u[k])
			default:
				assert.Equal(t, normalizeJSON(t, want), u[k], k)
			}
		}
	}
	check(u, body)
	r = s.scim(t, o.Token, "GET", "/Users/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	check(r.JSON(t), body)
	assert.Equal(t, mail, s.directoryState(t, o.ID, id).Email)

	// Entra's address and name PATCHes land where they belong.
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[
		{"op":"Replace","path":"addresses[type eq \"work\"].locality","value":"Burbank"},
		{"op":"Add","path":"addresses[type eq \"other\"].country","value":"CA"},
		{"op":"Replace","path":"name.middleName","value":"J."},
		{"op":"Remove","path":"ims"},
		{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter","value":"4131"}
	]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u = r.JSON(t)
	addrs := u["addresses"].([]any)
	require.Len(t, addrs, 3)
	assert.Equal(t, "Burbank", addrs[0].(map[string]any)["locality"])
	assert.Equal(t, "91608", addrs[0].(map[string]any)["postalCode"], "the rest of the address stays")
	assert.Equal(t, map[string]any{"type": "other", "country": "CA", "primary": false}, addrs[2])
	assert.Equal(t, "J.", u["name"].(map[string]any)["middleName"])
	assert.NotContains(t, u, "ims")
	assert.Equal(t, "4131", u[schemaEnterprise].(map[string]any)["costCenter"])

	// A certificate in base64 DER and a signed photo URL run past the
	// usual 256 characters, and are kept; a value filter naming no
	// sub-attribute of the list is refused even on an empty list.
	cert := strings.Repeat("MIIDQzCCAqygAwIBAgICEAAwDQYJ", 60)
	r = s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[
		{"op":"replace","path":"x509Certificates","value":[{"value":"`+cert+`"}]},
		{"op":"replace","path":"photos","value":[{"value":"https://photos.example.com/p.png?sig=`+strings.Repeat("a", 900)+`","type":"photo"}]}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	assert.Equal(t, cert, r.JSON(t)["x509Certificates"].([]any)[0].(map[string]any)["value"])
	scimError(t, s.scim(t, o.Token, "PATCH", "/Users/"+id, `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"remove","path":"ims[colour eq \"x\"]"}]}`),
		http.StatusBadRequest, "invalidFilter")

	// PUT replaces the lot: what it leaves out is gone.
	r = s.scim(t, o.Token, "PUT", "/Users/"+id, map[string]any{
		"schemas": []any{schemaUser}, "userName": userName,
		"emails": []any{map[string]any{"value": mail, "type": "work", "primary": true}},
	})
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u = r.JSON(t)
	for _, k := range []string{"title", "addresses", "nickName", "photos", "roles", "entitlements", "x509Certificates", schemaEnterprise} {
		assert.NotContains(t, u, k)
	}
}

// normalizeJSON is v as a JSON decoder would give it back.
func normalizeJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
