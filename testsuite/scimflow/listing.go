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

// people makes an organization with a few users with distinct attributes.
func (s *suite) people(t *testing.T) (org, map[string]string) {
	t.Helper()
	o := s.newOrg(t)
	tag := strings.ToLower(unique("p"))
	ids := map[string]string{}
	for _, p := range []struct{ key, given, dept, emp string }{
		{"ann", "Ann", "Math", "E100"},
		{"bob", "Bob", "Science", "E200"},
		{"cat", "Cat", "Math", "E300"},
		{"dan", "Dan", "", ""},
	} {
		body := map[string]any{
			"schemas": []string{schemaUser, schemaEnterprise}, "userName": p.key + "." + tag + "@school.test",
			"name":       map[string]string{"givenName": p.given, "familyName": "Tester"},
			"externalId": "EXT-" + strings.ToUpper(p.key),
			"emails":     []any{map[string]any{"value": p.key + "@home.test", "type": "home"}},
		}
		if p.dept != "" {
			body[schemaEnterprise] = map[string]any{"department": p.dept, "employeeNumber": p.emp}
		}
		r := s.scim(t, o.Token, "POST", "/Users", body)
		require.Equal(t, http.StatusCreated, r.Status, r.String())
		ids[p.key] = r.JSON(t)["id"].(string)
	}
	r := s.scim(t, o.Token, "PATCH", "/Users/"+ids["dan"], `{"schemas":["`+schemaPatch+`"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	return o, ids
}

// search returns the keys of the users a filter finds.
func (s *suite) search(t *testing.T, o org, ids map[string]string, filter string) []string {
	t.Helper()
	r := s.scim(t, o.Token, "GET", "/Users?count=200&filter="+url.QueryEscape(filter), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s: %s", filter, r.String())
	byID := map[string]string{}
	for k, id := range ids {
		byID[id] = k
	}
	var out []string
	for _, x := range r.JSON(t)["Resources"].([]any) {
		out = append(out, byID[x.(map[string]any)["id"].(string)])
	}
	slices.Sort(out)
	return out
}

func listing(t *testing.T, s *suite) {
	o, ids := s.people(t)
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`name.givenName eq "ANN"`, []string{"ann"}},
		{`name.givenName ne "ann"`, []string{"bob", "cat", "dan"}},
		{`userName sw "B"`, []string{"bob"}},
		{`userName ew "@SCHOOL.TEST" and name.givenName co "a"`, []string{"ann", "cat", "dan"}},
		{`externalId eq "EXT-ANN"`, []string{"ann"}},
		{`externalId eq "ext-ann"`, nil}, // externalId is case-exact
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "math"`, []string{"ann", "cat"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt "E100"`, []string{"bob", "cat"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ge "E200" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber le "E300"`, []string{"bob", "cat"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber lt "E200" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr`, []string{"ann"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr`, []string{"ann", "bob", "cat"}},
		{`not (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr)`, []string{"dan"}},
		{`active eq false`, []string{"dan"}},
		{`active eq true and (name.givenName eq "bob" or name.givenName eq "cat")`, []string{"bob", "cat"}},
		{`emails co "@home.TEST" and not (emails.value sw "a")`, []string{"bob", "cat", "dan"}},
		{`emails.type eq "home"`, []string{"ann", "bob", "cat", "dan"}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"ann", "bob", "cat", "dan"}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, nil},
		{`userName co "%"`, nil},
		{`userName co "_"`, nil},
	} {
		assert.Equal(t, c.want, s.search(t, o, ids, c.filter), c.filter)
	}

	// Paging: startIndex is 1-based, count bounds the page, totalResults
	// counts every match.
	var seen []string
	for start := 1; start <= 4; start += 2 {
		r := s.scim(t, o.Token, "GET", "/Users?startIndex="+itoa(int64(start))+"&count=2", nil)
		require.Equal(t, http.StatusOK, r.Status, r.String())
		page := r.JSON(t)
		assert.EqualValues(t, 4, page["totalResults"])
		assert.EqualValues(t, start, page["startIndex"])
		assert.EqualValues(t, 2, page["itemsPerPage"])
		for _, x := range page["Resources"].([]any) {
			seen = append(seen, x.(map[string]any)["id"].(string))
		}
	}
	want := []string{ids["ann"], ids["bob"], ids["cat"], ids["dan"]}
	slices.Sort(want)
	slices.Sort(seen)
	assert.Equal(t, want, seen, "the pages cover every user once")
	r := s.scim(t, o.Token, "GET", "/Users?count=0", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.EqualValues(t, 4, r.JSON(t)["totalResults"])
	assert.Empty(t, r.JSON(t)["Resources"])
	r = s.scim(t, o.Token, "GET", "/Users?startIndex=99", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Empty(t, r.JSON(t)["Resources"])

	// attributes and excludedAttributes.
	r = s.scim(t, o.Token, "GET", "/Users/"+ids["ann"]+"?attributes=userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u := r.JSON(t)
	keys := slices.Sorted(mapsKeys(u))
	assert.Equal(t, []string{"id", "name", "schemas", schemaEnterprise, "userName"}, keys)
	assert.Equal(t, map[string]any{"givenName": "Ann"}, u["name"])
	assert.Equal(t, map[string]any{"department": "Math"}, u[schemaEnterprise])
	r = s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(`name.givenName eq "bob"`)+"&excludedAttributes=emails,meta,name.familyName", nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	u = r.JSON(t)["Resources"].([]any)[0].(map[string]any)
	assert.NotContains(t, u, "emails")
	assert.NotContains(t, u, "meta")
	assert.Equal(t, map[string]any{"givenName": "Bob", "formatted": "Bob Tester"}, u["name"])
	assert.Contains(t, u, "id", "id is always returned")
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
