package oidcflow

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var scopeChecks = []dirCheck{
	{"the organization and permissions scopes need an administrator's approval, which can be withdrawn", extendedScopes},
	{"a client without approval never gets the directory claims", unapprovedClient},
	{"the claims follow the effective role: the highest of the member's own and its groups' mapped roles", groupRoles},
}

// groupRoles: the organization's identity provider puts a member in groups
// over SCIM, an administrator maps them to roles, and the claims follow the
// highest role.
func groupRoles(t *testing.T, d *directory) {
	s := d.s
	c := d.register(t)
	d.settings(t, c, map[string]any{"approvedScopes": []string{"organization", "permissions"}})
	m := d.activeMember(t)
	teacher := "teacher-" + suffix()
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/roles/"+teacher, map[string]any{"permissions": []string{"grades:write"}}, http.StatusOK)

	tok := d.admin(t, http.MethodPost, pathAdminOrgs+"/"+d.org.ID+"/scim-tokens", map[string]any{"name": "IdP"}, http.StatusCreated).JSON(t)["token"].(string)
	group := func(name string) string {
		r := d.call(t, http.MethodPost, "/scim/v2/Groups", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name + " " + suffix(),
			"members": []any{map[string]any{"value": m.ID}},
		}, func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+tok) })
		require.Equal(t, http.StatusCreated, r.Status, clipText(string(r.Body)))
		return r.JSON(t)["id"].(string)
	}
	teachers, staff := group("Teachers"), group("Staff")
	mapRole := func(g, role string) {
		d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/groups/"+g+"/role", map[string]any{"role": role}, http.StatusOK)
	}
	claims := func() map[string]any {
		ms := s.as(m)
		tok := ms.signInTokens(t, ms.newAgent(t), ms.newAuthRequest(c, "openid", "organization", "permissions"))
		require.NotNil(t, tok.Token)
		return idClaims(t, tok)
	}
	check := func(role string, perms []any) {
		t.Helper()
		got := claims()
		assert.Equal(t, role, got["roles"].([]any)[0], "the effective role comes first")
		assert.Subset(t, got["permissions"], perms)
		ms, _ := got["organization_memberships"].([]any)
		require.Len(t, ms, 1)
		assert.Equal(t, role, ms[0].(map[string]any)["role"], "the membership claim shows the effective role")
	}

	check("member", []any{"organization:read"})
	mapRole(teachers, teacher)
	check(teacher, []any{"grades:write"}) // one permission each: the custom role outranks member
	mapRole(staff, "admin")
	check("admin", []any{"organization:read", "users:read", "users:manage"})
	d.admin(t, http.MethodDelete, pathAdminOrgs+"/"+d.org.ID+"/groups/"+staff+"/role", nil, http.StatusOK)
	check(teacher, []any{"grades:write"})

	// A group adds to a member's own role, never takes from it: an owner in
	// the Teachers group keeps every owner permission.
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/members/"+m.ID, map[string]any{"role": "owner"}, http.StatusOK)
	got := claims()
	assert.Equal(t, []any{"owner", teacher}, got["roles"], "the effective role first, then the others")
	assert.ElementsMatch(t, []any{"organization:read", "organization:manage", "roles:manage", "users:read", "users:manage", "grades:write"},
		got["permissions"], "the union of the roles' permissions")

	// A mapped role that comes to carry an owner's permissions stops
	// counting: a group never gives them.
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/members/"+m.ID, map[string]any{"role": "member"}, http.StatusOK)
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/roles/"+teacher, map[string]any{"permissions": []string{"grades:write", "roles:manage"}}, http.StatusOK)
	check("member", []any{"organization:read"})
}

// extendedScopes follows one client from unapproved to approved and back
// (integration guide §3).
func extendedScopes(t *testing.T, d *directory) {
	s := d.s
	c := d.register(t)

	t.Run("before approval authorize answers invalid_scope at the redirect URI", func(t *testing.T) {
		for _, scope := range []string{"organization", "permissions"} {
			requireScopeRefused(t, s, c, scope)
		}
	})

	// The user: a custom role in their primary organization, and a second
	// organization where they are an admin.
	m := d.activeMember(t)
	role := "teacher-" + suffix()
	perms := []string{"courses:read", "grades:write"}
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/roles/"+role, map[string]any{"permissions": perms}, http.StatusOK)
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+d.org.ID+"/members/"+m.ID, map[string]any{"role": role}, http.StatusOK)
	second := d.newOrg(t)
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+second.ID+"/members/"+m.ID, map[string]any{"role": "admin"}, http.StatusOK)
	want := map[string]any{
		"organization_id": d.org.ID,
		"organization_memberships": []any{
			map[string]any{"organization_id": d.org.ID, "name": d.org.Name, "role": role},
			map[string]any{"organization_id": second.ID, "name": second.Name, "role": "admin"},
		},
		"roles":       []any{role},
		"permissions": []any{"courses:read", "grades:write"},
	}

	settings := d.settings(t, c, map[string]any{"approvedScopes": []string{"organization", "permissions"}})
	require.ElementsMatch(t, []any{"organization", "permissions"}, settings["approvedScopes"])

	ms := s.as(m)
	r := ms.newAuthRequest(c, "openid", "organization", "permissions")
	var tok tokens
	t.Run("after approval the client gets tokens for openid organization permissions", func(t *testing.T) {
		tok = ms.signInTokens(t, ms.newAgent(t), r)
		assert.ElementsMatch(t, []string{"openid", "organization", "permissions"}, strings.Fields(tokenScope(tok.Token.Extra("scope"))))
	})
	require.NotNil(t, tok.Token, "the approved sign-in failed")

	t.Run("the ID token carries the primary organization, the memberships, the role and its permissions", func(t *testing.T) {
		requireDirectoryClaims(t, idClaims(t, tok), want, "the ID token")
		assert.Equal(t, m.ID, tok.IDToken.Subject)
	})
	t.Run("userinfo returns the same directory claims", func(t *testing.T) {
		resp := s.userinfo(t, tok.AccessToken)
		require.Equal(t, http.StatusOK, resp.Status, "body %q", clipText(string(resp.Body)))
		requireDirectoryClaims(t, resp.JSON(t), want, "userinfo")
	})

	settings = d.settings(t, c, map[string]any{"approvedScopes": []string{}})
	require.Empty(t, settings["approvedScopes"], "the approval is withdrawn")

	t.Run("after withdrawal the next refresh succeeds with the scope narrowed and no directory claims", func(t *testing.T) {
		next, err := s.refresh(t, c, tok.RefreshToken)
		require.NoError(t, err, "the refresh succeeds")
		assert.Equal(t, "openid", tokenScope(next.Extra("scope")), "the extended scopes are dropped")
		raw, _ := next.Extra("id_token").(string)
		require.NotEmpty(t, raw, "an openid refresh returns an ID token")
		idt, err := c.verifier.Verify(s.ctx, raw)
		require.NoError(t, err)
		var claims map[string]any
		require.NoError(t, idt.Claims(&claims))
		requireNoDirectoryClaims(t, claims, "the refreshed ID token")

		resp := s.userinfo(t, next.AccessToken)
		require.Equal(t, http.StatusOK, resp.Status)
		requireNoDirectoryClaims(t, resp.JSON(t), "userinfo for the refreshed access token")
		intro := s.introspect(t, c, next.AccessToken)
		assert.Equal(t, "openid", intro["scope"], "the refreshed access token's scope")
	})
	t.Run("after withdrawal authorize answers invalid_scope again", func(t *testing.T) {
		requireScopeRefused(t, s, c, "organization")
	})
}

// unapprovedClient signs the same kind of user in to a client that was
// never approved: standard scopes only, no directory claims anywhere.
func unapprovedClient(t *testing.T, d *directory) {
	s := d.s
	m := d.activeMember(t)
	ms := s.as(m)
	c := d.register(t)
	tok := ms.signInTokens(t, ms.newAgent(t), ms.newAuthRequest(c, "openid", "profile", "email"))

	t.Run("the ID token has no directory claims", func(t *testing.T) {
		requireNoDirectoryClaims(t, idClaims(t, tok), "the ID token")
	})
	t.Run("userinfo has no directory claims", func(t *testing.T) {
		resp := s.userinfo(t, tok.AccessToken)
		require.Equal(t, http.StatusOK, resp.Status)
		claims := resp.JSON(t)
		assert.Equal(t, m.Email, claims["email"], "the standard claims are there")
		requireNoDirectoryClaims(t, claims, "userinfo")
	})
	t.Run("a refresh cannot widen the scope to organization", func(t *testing.T) {
		resp := s.postForm(t, pathToken, url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid organization"},
		}, c)
		requireOAuthError(t, resp, http.StatusBadRequest, "invalid_scope")
	})
	t.Run("the client's registration cannot add an extended scope by itself", func(t *testing.T) {
		md := defaultMetadata(t.Name())
		md["scope"] = "openid organization"
		resp := s.postJSON(t, http.MethodPost, pathRegister, "", md)
		requireOAuthError(t, resp, http.StatusBadRequest, "invalid_client_metadata")
	})
}

// requireScopeRefused checks that asking for scope is an invalid_scope
// error redirect, before any sign-in.
func requireScopeRefused(t *testing.T, s *suite, c *client, scope string) {
	t.Helper()
	r := s.newAuthRequest(c, "openid", scope)
	q := s.newAgent(t).get(t, r.URL()).Query(t)
	assert.Equal(t, "invalid_scope", q.Get("error"), "scope %s: %s", scope, q.Get("error_description"))
	assert.Equal(t, r.State, q.Get("state"), "the state is echoed")
	assert.Empty(t, q.Get("code"))
}

// requireDirectoryClaims compares the four directory claims; the lists are
// compared without regard to order.
func requireDirectoryClaims(t *testing.T, got, want map[string]any, where string) {
	t.Helper()
	assert.Equal(t, want["organization_id"], got["organization_id"], "%s: organization_id is the primary organization", where)
	for _, k := range []string{"organization_memberships", "roles", "permissions"} {
		list, ok := got[k].([]any)
		if assert.True(t, ok, "%s: %s is a list, got %T", where, k, got[k]) {
			assert.ElementsMatch(t, want[k], list, "%s: %s", where, k)
		}
	}
}

// tokenScope reads the scope member of a token response.
func tokenScope(v any) string {
	s, _ := v.(string)
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}
