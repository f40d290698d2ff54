package directoryflow

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var adminChecks = []check{
	{"every admin route refuses a missing or invalid admin key with 401, and nothing changes", adminUnauthenticated},
	{"an organization is created with a derived slug, read and renamed", adminOrgLifecycle},
	{"slugs are unique: creating or renaming onto a taken slug is 409 slug_taken", adminSlugTaken},
	{"mfaPolicy is off by default, set at creation, changed by PATCH with organization.updated, and a bad one is 400 changing nothing", adminOrgMFAPolicy},
	{"organizations page with a cursor", adminOrgList},
	{"setting an organization's own slug again is 200, and parallel creates of one slug are one 201 and the rest 409", adminSlugEdges},
	{"an unknown organization is 404 on every organization route", adminUnknownOrg},
	{"grants are put, listed and deleted", adminGrants},
	{"a grant with an unknown action is 400, for an unknown client or organization 404", adminGrantErrors},
	{"client settings read and change approvedScopes, firstParty and licenseRequired", adminClientSettings},
	{"only extended scopes can be approved: email is 400 invalid_scope", adminClientScopeInvalid},
	{"licenses are assigned (201, then 200), listed and revoked (204, then 404)", adminLicenses},
	{"an organization lists the built-in roles member, admin and owner", adminBuiltInRoles},
	{"custom roles are put and deleted; bad names and unknown roles are refused", adminCustomRoles},
	{"a member gets a custom role, provisioning uses it, and an unknown role is 400 invalid_role", adminMemberRole},
}

// adminRoutes are every admin route, with real ids where they take one.
func adminRoutes(orgID, clientID, userID string) []request {
	body := []byte(`{}`)
	r := func(method, path string) request {
		req := request{method: method, path: path}
		if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			req.body, req.contentType = body, "application/json"
		}
		return req
	}
	return []request{
		{method: http.MethodPost, path: pathAdminOrgs, body: []byte(`{"name":"Not Allowed"}`), contentType: "application/json"},
		r(http.MethodGet, pathAdminOrgs),
		r(http.MethodGet, adminOrgPath(orgID)),
		{method: http.MethodPatch, path: adminOrgPath(orgID), body: []byte(`{"name":"Not Allowed"}`), contentType: "application/json"},
		r(http.MethodGet, adminOrgPath(orgID)+"/users"),
		{method: http.MethodPut, path: adminOrgPath(orgID) + "/members/" + userID, body: []byte(`{"role":"owner"}`), contentType: "application/json"},
		r(http.MethodGet, adminOrgPath(orgID)+"/roles"),
		{method: http.MethodPut, path: adminOrgPath(orgID) + "/roles/intruder", body: []byte(`{"permissions":[]}`), contentType: "application/json"},
		r(http.MethodDelete, adminOrgPath(orgID)+"/roles/member"),
		r(http.MethodGet, pathAdminClients+clientID),
		{method: http.MethodPatch, path: pathAdminClients + clientID, body: []byte(`{"firstParty":true}`), contentType: "application/json"},
		r(http.MethodGet, pathAdminClients+clientID+"/grants"),
		{method: http.MethodPut, path: grantPath(clientID, orgID), body: []byte(`{"actions":["read"]}`), contentType: "application/json"},
		r(http.MethodDelete, grantPath(clientID, orgID)),
		r(http.MethodPut, licensePath(clientID, userID)),
		r(http.MethodDelete, licensePath(clientID, userID)),
		r(http.MethodGet, pathAdminUsers+userID+"/licenses"),
	}
}

func adminUnauthenticated(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "noadmin")
	p := s.newUser(t, c, o.ID, "noadmin")
	keys := []struct {
		name   string
		header http.Header
	}{
		{"no key", http.Header{}},
		{"an unknown cak_ key", http.Header{"Authorization": {"Bearer cak_" + strings.Repeat("x", 40)}}},
		{"a key without the cak_ prefix", http.Header{"Authorization": {"Bearer " + strings.TrimPrefix(s.env.AdminKey, "cak_")}}},
		{"the key without Bearer", http.Header{"Authorization": {s.env.AdminKey}}},
		{"a client's credentials", c.header()},
		{"a very long key", http.Header{"Authorization": {"Bearer cak_" + strings.Repeat("y", 5000)}}},
	}
	for _, route := range adminRoutes(o.ID, c.ID, p.UserID) {
		for _, k := range keys {
			route.header = k.header
			r := s.send(t, route)
			assert.Equal(t, http.StatusUnauthorized, r.Status, "%s %s with %s is 401; body %q", route.method, route.path, k.name, r)
			requireError(t, r, r.Status, "unauthorized")
		}
	}
	r := s.admin(t, http.MethodGet, adminOrgPath(o.ID), nil)
	require.Equal(t, http.StatusOK, r.Status)
	var got org
	r.decode(t, &got)
	assert.Equal(t, o, got, "the organization is unchanged")
	assert.Equal(t, []membership{{OrganizationID: o.ID, Role: "member", Status: "active", Primary: true}}, s.getUser(t, c, p.UserID).Organizations)
	r = s.admin(t, http.MethodGet, pathAdminClients+c.ID+"/grants", nil)
	assert.Contains(t, string(r.Body), `"provision"`, "the grant is still there")
	assert.Equal(t, false, s.clientSettings(t, c.ID)["firstParty"])
}

func adminOrgLifecycle(t *testing.T, s *suite) {
	tag := suffix()
	r := s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "  St. Mary's School " + tag + "  "})
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	var o org
	r.decode(t, &o)
	assert.NotEmpty(t, o.ID)
	assert.Equal(t, "St. Mary's School "+tag, o.Name, "the name is trimmed")
	assert.Equal(t, "st-mary-s-school-"+tag, o.Slug, "the slug is derived from the name")
	assert.Regexp(t, jsTime, o.CreatedAt)

	r = s.admin(t, http.MethodGet, adminOrgPath(o.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var got org
	r.decode(t, &got)
	assert.Equal(t, o, got)

	r = s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"name": "Renamed " + tag})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	r.decode(t, &got)
	assert.Equal(t, "Renamed "+tag, got.Name)
	assert.Equal(t, o.Slug, got.Slug, "renaming keeps the slug")
	r = s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"slug": "renamed-" + tag})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	r = s.admin(t, http.MethodGet, adminOrgPath(o.ID), nil)
	r.decode(t, &got)
	assert.Equal(t, "Renamed "+tag, got.Name)
	assert.Equal(t, "renamed-"+tag, got.Slug)

	requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "   "}), http.StatusBadRequest, "")
	requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{}), http.StatusBadRequest, "")
	requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "X", "slug": "Bad Slug"}), http.StatusBadRequest, "invalid_slug")
}

func adminSlugTaken(t *testing.T, s *suite) {
	a := s.newOrg(t, "slug")
	b := s.newOrg(t, "slug")
	requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": a.Name}), http.StatusConflict, "slug_taken")
	requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "Other", "slug": a.Slug}), http.StatusConflict, "slug_taken")
	requireError(t, s.admin(t, http.MethodPatch, adminOrgPath(b.ID), map[string]any{"slug": a.Slug}), http.StatusConflict, "slug_taken")
	r := s.admin(t, http.MethodGet, adminOrgPath(b.ID), nil)
	var got org
	r.decode(t, &got)
	assert.Equal(t, b, got, "the refused rename changed nothing")
}

func adminOrgList(t *testing.T, s *suite) {
	mine := map[string]bool{}
	for range 3 {
		mine[s.newOrg(t, "list").ID] = true
	}
	seen := map[string]bool{}
	r := s.admin(t, http.MethodGet, pathAdminOrgs+"?limit=2", nil)
	for pages := 0; ; pages++ {
		require.Equal(t, http.StatusOK, r.Status, "body %q", r)
		var p struct {
			Organizations []org  `json:"organizations"`
			NextCursor    string `json:"nextCursor"`
		}
		r.decode(t, &p)
		if pages == 0 {
			assert.Len(t, p.Organizations, 2, "the first page holds limit organizations")
			require.NotEmpty(t, p.NextCursor, "there are more than two organizations")
		}
		for _, o := range p.Organizations {
			require.False(t, seen[o.ID], "organization %s is listed twice", o.ID)
			seen[o.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		require.Less(t, pages, 10000, "the listing must end")
		// The cursor does not depend on the page size.
		r = s.admin(t, http.MethodGet, pathAdminOrgs+"?limit=200&cursor="+p.NextCursor, nil)
	}
	for id := range mine {
		assert.True(t, seen[id], "organization %s is listed", id)
	}
	requireError(t, s.admin(t, http.MethodGet, pathAdminOrgs+"?cursor=***", nil), http.StatusBadRequest, "invalid_cursor")
	requireError(t, s.admin(t, http.MethodGet, pathAdminOrgs+"?limit=201", nil), http.StatusBadRequest, "")
}

func adminUnknownOrg(t *testing.T, s *suite) {
	_, c := s.newTenant(t, "unknownorg")
	missing := "00000000-0000-4000-8000-" + strings.Repeat("0", 12)
	routes := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, adminOrgPath(missing), nil},
		{http.MethodPatch, adminOrgPath(missing), map[string]any{"name": "Ghost"}},
		{http.MethodGet, adminOrgPath(missing) + "/users", nil},
		{http.MethodGet, adminOrgPath(missing) + "/roles", nil},
		{http.MethodPut, adminOrgPath(missing) + "/roles/teacher", map[string]any{"permissions": []string{}}},
		{http.MethodPut, adminOrgPath(missing) + "/members/" + missing, map[string]any{"role": "member"}},
		{http.MethodPut, grantPath(c.ID, missing), map[string]any{"actions": []string{"read"}}},
	}
	for _, rt := range routes {
		r := s.admin(t, rt.method, rt.path, rt.body)
		assert.Equal(t, http.StatusNotFound, r.Status, "%s %s is 404; body %q", rt.method, rt.path, r)
		requireError(t, r, r.Status, "organization_not_found")
	}
}

type grantView struct {
	OrganizationID string   `json:"organizationId"`
	Actions        []string `json:"actions"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
}

func (s *suite) listGrants(t *testing.T, clientID string) []grantView {
	t.Helper()
	r := s.admin(t, http.MethodGet, pathAdminClients+clientID+"/grants", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var out struct {
		Grants []grantView `json:"grants"`
	}
	r.decode(t, &out)
	return out.Grants
}

func adminGrants(t *testing.T, s *suite) {
	a, b := s.newOrg(t, "grants"), s.newOrg(t, "grants")
	c := s.register(t)
	assert.Empty(t, s.listGrants(t, c.ID), "a registered client has no grants")
	r := s.admin(t, http.MethodPut, grantPath(c.ID, a.ID), map[string]any{"actions": []string{"read", "provision", "read"}})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var g grantView
	r.decode(t, &g)
	assert.Equal(t, a.ID, g.OrganizationID)
	assert.Equal(t, []string{"provision", "read"}, g.Actions, "actions are sorted and deduplicated")
	assert.Regexp(t, jsTime, g.CreatedAt)
	s.grant(t, c, b.ID, allActions...)
	s.grant(t, c, a.ID, actRead) // replaces the first grant

	gs := s.listGrants(t, c.ID)
	require.Len(t, gs, 2)
	byOrg := map[string][]string{}
	for _, g := range gs {
		byOrg[g.OrganizationID] = g.Actions
	}
	assert.Equal(t, []string{"read"}, byOrg[a.ID], "putting a grant again replaces its actions")
	assert.ElementsMatch(t, allActions, byOrg[b.ID])

	r = s.admin(t, http.MethodDelete, grantPath(c.ID, a.ID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.admin(t, http.MethodDelete, grantPath(c.ID, a.ID), nil), http.StatusNotFound, "grant_not_found")
	gs = s.listGrants(t, c.ID)
	require.Len(t, gs, 1)
	assert.Equal(t, b.ID, gs[0].OrganizationID)
}

func adminGrantErrors(t *testing.T, s *suite) {
	o := s.newOrg(t, "granterr")
	c := s.register(t)
	requireError(t, s.admin(t, http.MethodPut, grantPath(c.ID, o.ID), map[string]any{"actions": []string{"read", "impersonate"}}),
		http.StatusBadRequest, "invalid_action")
	requireError(t, s.admin(t, http.MethodPut, grantPath(c.ID, o.ID), map[string]any{"actions": []string{}}), http.StatusBadRequest, "")
	requireError(t, s.admin(t, http.MethodPut, grantPath(c.ID, o.ID), map[string]any{"actions": "read"}), http.StatusBadRequest, "")
	requireError(t, s.admin(t, http.MethodPut, grantPath("cca_no-such-client", o.ID), map[string]any{"actions": []string{"read"}}),
		http.StatusNotFound, "client_not_found")
	requireError(t, s.admin(t, http.MethodPut, grantPath(c.ID, "00000000-0000-4000-8000-000000000001"), map[string]any{"actions": []string{"read"}}),
		http.StatusNotFound, "organization_not_found")
	requireError(t, s.admin(t, http.MethodGet, pathAdminClients+"cca_no-such-client/grants", nil), http.StatusNotFound, "client_not_found")
	public := s.registerPublic(t)
	requireError(t, s.admin(t, http.MethodPut, grantPath(public, o.ID), map[string]any{"actions": []string{"read"}}),
		http.StatusBadRequest, "public_client")
	assert.Empty(t, s.listGrants(t, c.ID), "refused grants were not stored")
}

func (s *suite) clientSettings(t *testing.T, clientID string) map[string]any {
	t.Helper()
	r := s.admin(t, http.MethodGet, pathAdminClients+clientID, nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	return r.JSON(t)
}

func adminClientSettings(t *testing.T, s *suite) {
	c := s.register(t)
	m := s.clientSettings(t, c.ID)
	assert.Equal(t, c.ID, m["clientId"])
	assert.True(t, strings.HasPrefix(m["clientName"].(string), "directoryflow "), "clientName %v", m["clientName"])
	assert.Equal(t, []any{}, m["approvedScopes"])
	assert.Equal(t, false, m["firstParty"])
	assert.Equal(t, false, m["licenseRequired"])

	r := s.admin(t, http.MethodPatch, pathAdminClients+c.ID, map[string]any{"approvedScopes": []string{"permissions", "organization", "permissions"}})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	assert.Equal(t, []any{"organization", "permissions"}, r.JSON(t)["approvedScopes"], "sorted and deduplicated")
	r = s.admin(t, http.MethodPatch, pathAdminClients+c.ID, map[string]any{"firstParty": true})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	r = s.admin(t, http.MethodPatch, pathAdminClients+c.ID, map[string]any{"licenseRequired": true})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)

	m = s.clientSettings(t, c.ID)
	assert.Equal(t, []any{"organization", "permissions"}, m["approvedScopes"], "fields left out stay")
	assert.Equal(t, true, m["firstParty"])
	assert.Equal(t, true, m["licenseRequired"])

	r = s.admin(t, http.MethodPatch, pathAdminClients+c.ID, map[string]any{"approvedScopes": []string{}, "firstParty": false})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	m = s.clientSettings(t, c.ID)
	assert.Equal(t, []any{}, m["approvedScopes"])
	assert.Equal(t, false, m["firstParty"])
	assert.Equal(t, true, m["licenseRequired"])

	requireError(t, s.admin(t, http.MethodGet, pathAdminClients+"cca_no-such-client", nil), http.StatusNotFound, "client_not_found")
	requireError(t, s.admin(t, http.MethodPatch, pathAdminClients+"cca_no-such-client", map[string]any{"firstParty": true}),
		http.StatusNotFound, "client_not_found")
}

func adminClientScopeInvalid(t *testing.T, s *suite) {
	c := s.register(t)
	for _, scope := range []string{"email", "openid", "admin", ""} {
		r := s.admin(t, http.MethodPatch, pathAdminClients+c.ID, map[string]any{"approvedScopes": []string{"organization", scope}})
		requireError(t, r, http.StatusBadRequest, "invalid_scope")
	}
	assert.Equal(t, []any{}, s.clientSettings(t, c.ID)["approvedScopes"], "a refused change approves nothing")
}

func adminLicenses(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "licenses")
	p := s.newUser(t, c, o.ID, "licenses")
	other := s.register(t)
	r := s.admin(t, http.MethodPut, licensePath(other.ID, p.UserID), nil)
	require.Equal(t, http.StatusCreated, r.Status, "a new license is 201; body %q", r)
	m := r.JSON(t)
	assert.Equal(t, true, m["assigned"])
	assert.Equal(t, other.ID, m["clientId"])
	assert.Equal(t, p.UserID, m["userId"])
	r = s.admin(t, http.MethodPut, licensePath(other.ID, p.UserID), nil)
	require.Equal(t, http.StatusOK, r.Status, "a license held already is 200; body %q", r)
	assert.Equal(t, false, r.JSON(t)["assigned"])

	assert.ElementsMatch(t, []string{c.ID, other.ID}, s.licenses(t, p.UserID))
	r = s.admin(t, http.MethodDelete, licensePath(other.ID, p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.admin(t, http.MethodDelete, licensePath(other.ID, p.UserID), nil), http.StatusNotFound, "license_not_found")
	assert.Equal(t, []string{c.ID}, s.licenses(t, p.UserID))

	missing := "00000000-0000-4000-8000-000000000002"
	requireError(t, s.admin(t, http.MethodPut, licensePath(other.ID, missing), nil), http.StatusNotFound, "user_not_found")
	requireError(t, s.admin(t, http.MethodPut, licensePath("cca_no-such-client", p.UserID), nil), http.StatusNotFound, "client_not_found")
	requireError(t, s.admin(t, http.MethodGet, pathAdminUsers+missing+"/licenses", nil), http.StatusNotFound, "user_not_found")
}

// licenses lists the client ids of a user's licenses.
func (s *suite) licenses(t *testing.T, userID string) []string {
	t.Helper()
	r := s.admin(t, http.MethodGet, pathAdminUsers+userID+"/licenses", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var out struct {
		Licenses []struct {
			ClientID   string `json:"clientId"`
			AssignedAt string `json:"assignedAt"`
		} `json:"licenses"`
	}
	r.decode(t, &out)
	ids := make([]string, 0, len(out.Licenses))
	for _, l := range out.Licenses {
		ids = append(ids, l.ClientID)
		assert.Regexp(t, jsTime, l.AssignedAt)
	}
	return ids
}

type roleView struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	BuiltIn     bool     `json:"builtIn"`
}

func (s *suite) roles(t *testing.T, orgID string) map[string]roleView {
	t.Helper()
	r := s.admin(t, http.MethodGet, adminOrgPath(orgID)+"/roles", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var out struct {
		Roles []roleView `json:"roles"`
	}
	r.decode(t, &out)
	m := map[string]roleView{}
	for _, rv := range out.Roles {
		m[rv.Name] = rv
	}
	return m
}

func adminBuiltInRoles(t *testing.T, s *suite) {
	o := s.newOrg(t, "roles")
	rs := s.roles(t, o.ID)
	require.Len(t, rs, 3)
	for _, name := range []string{"member", "admin", "owner"} {
		assert.True(t, rs[name].BuiltIn, "%s is built in", name)
		assert.NotEmpty(t, rs[name].Permissions, "%s has permissions", name)
	}
	assert.Equal(t, []string{"organization:read"}, rs["member"].Permissions)
}

func adminCustomRoles(t *testing.T, s *suite) {
	o := s.newOrg(t, "custom")
	path := adminOrgPath(o.ID) + "/roles/"
	r := s.admin(t, http.MethodPut, path+"teacher", map[string]any{"permissions": []string{"grades:write", "classes:read"}})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var rv roleView
	r.decode(t, &rv)
	assert.Equal(t, roleView{Name: "teacher", Permissions: []string{"classes:read", "grades:write"}, BuiltIn: false}, rv)
	rs := s.roles(t, o.ID)
	assert.Len(t, rs, 4)
	assert.Equal(t, rv, rs["teacher"])
	assert.NotContains(t, s.roles(t, s.newOrg(t, "custom other").ID), "teacher", "a custom role lives in one organization")

	for _, name := range []string{"Teacher", "9lives", "has%20space", strings.Repeat("r", 65)} {
		requireError(t, s.admin(t, http.MethodPut, path+name, map[string]any{"permissions": []string{}}), http.StatusBadRequest, "invalid_role")
	}
	requireError(t, s.admin(t, http.MethodPut, path+"tutor", map[string]any{"permissions": []string{"Bad Perm"}}), http.StatusBadRequest, "invalid_permission")

	r = s.admin(t, http.MethodDelete, path+"teacher", nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	assert.NotContains(t, s.roles(t, o.ID), "teacher")
	requireError(t, s.admin(t, http.MethodDelete, path+"teacher", nil), http.StatusNotFound, "role_not_found")
	requireError(t, s.admin(t, http.MethodDelete, path+"no-such-role", nil), http.StatusNotFound, "role_not_found")
}

func adminMemberRole(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "memberrole")
	r := s.admin(t, http.MethodPut, adminOrgPath(o.ID)+"/roles/teacher", map[string]any{"permissions": []string{"grades:write"}})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	p := s.newUser(t, c, o.ID, "memberrole")

	r = s.admin(t, http.MethodPut, adminOrgPath(o.ID)+"/members/"+p.UserID, map[string]any{"role": "teacher"})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	assert.Equal(t, map[string]any{"organizationId": o.ID, "role": "teacher", "status": "active", "primary": true}, r.JSON(t))
	assert.Equal(t, "teacher", s.getUser(t, c, p.UserID).Organizations[0].Role)
	requireError(t, s.admin(t, http.MethodPut, adminOrgPath(o.ID)+"/members/"+p.UserID, map[string]any{"role": "principal"}),
		http.StatusBadRequest, "invalid_role")
	requireError(t, s.admin(t, http.MethodPut, adminOrgPath(o.ID)+"/members/00000000-0000-4000-8000-000000000003", map[string]any{"role": "member"}),
		http.StatusNotFound, "user_not_found")

	in := newUserReq(o.ID, "memberrole")
	in.Role = "teacher"
	created := s.provision(t, c, in)
	assert.True(t, created.IsNewUser)
	assert.Equal(t, "teacher", created.Role, "provisioning accepts the organization's custom role")

	in = newUserReq(o.ID, "memberrole")
	in.Role = "principal"
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusBadRequest, "invalid_role")
	assert.Len(t, s.members(t, o.ID), 2, "the refused user was not provisioned")
}

// registerPublic registers a client with no secret and returns its id.
func (s *suite) registerPublic(t *testing.T) string {
	t.Helper()
	r := s.send(t, jsonRequest(t, http.MethodPost, pathRegister, nil, map[string]any{
		"client_name":                "directoryflow public " + suffix(),
		"redirect_uris":              []string{"http://127.0.0.1:5173/cb"},
		"grant_types":                []string{"authorization_code"},
		"token_endpoint_auth_method": "none",
	}))
	require.Equal(t, http.StatusCreated, r.Status, "registration; body %q", r)
	id, _ := r.JSON(t)["client_id"].(string)
	require.NotEmpty(t, id)
	return id
}

func adminSlugEdges(t *testing.T, s *suite) {
	o := s.newOrg(t, "slugedge")
	r := s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"name": o.Name, "slug": o.Slug})
	assert.Equal(t, http.StatusOK, r.Status, "an organization may keep its own slug; body %q", r)

	requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "!!! ???"}), http.StatusBadRequest, "invalid_slug")

	name := "Directory Flow Race " + suffix()
	const n = 8
	answers, errs := make([]response, n), make([]error, n)
	req := jsonRequest(t, http.MethodPost, pathAdminOrgs, s.adminHeader(), map[string]any{"name": name})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = s.roundTrip(req)
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for i, r := range answers {
		require.NoError(t, errs[i])
		switch r.Status {
		case http.StatusCreated:
			created++
		default:
			requireError(t, r, http.StatusConflict, "slug_taken")
		}
	}
	assert.Equal(t, 1, created, "one create wins the slug")
}
