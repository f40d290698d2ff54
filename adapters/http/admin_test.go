package http

import (
	"encoding/json"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func adminRequest(method, target, body string) *nethttp.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	return req
}

// adminOrg sends an admin request about organizations and decodes the
// organization it answers with.
func adminOrg(t *testing.T, s *Server, method, target, body string, status int) orgJSON {
	t.Helper()
	resp, text := do(t, s, adminRequest(method, target, body))
	require.Equal(t, status, resp.StatusCode, text)
	var o orgJSON
	require.NoError(t, json.Unmarshal([]byte(text), &o))
	assert.Contains(t, text, `"mfaPolicy":`, "every organization answer names its policy")
	return o
}

func TestAdminOrganizationsSetAndShowTheMFAPolicy(t *testing.T) {
	s := newTestServer(t)
	seeded := adminOrg(t, s, "GET", pathAdminOrgs+"/"+testOrgID, "", 200)
	assert.Equal(t, "off", seeded.MFAPolicy, "an organization stored without a policy is under off")

	plain := adminOrg(t, s, "POST", pathAdminOrgs, `{"name":"Plain School"}`, 201)
	assert.Equal(t, "off", plain.MFAPolicy, "created without one: off")

	o := adminOrg(t, s, "POST", pathAdminOrgs, `{"name":"Strict School","mfaPolicy":"required"}`, 201)
	assert.Equal(t, "required", o.MFAPolicy)
	assert.Equal(t, o, adminOrg(t, s, "GET", pathAdminOrgs+"/"+o.ID, "", 200), "it reads back as created")

	path := pathAdminOrgs + "/" + o.ID
	changed := adminOrg(t, s, "PATCH", path, `{"mfaPolicy":"required_for_admins"}`, 200)
	assert.Equal(t, "required_for_admins", changed.MFAPolicy)
	assert.Equal(t, o.Name, changed.Name, "the fields left out stay")
	assert.Equal(t, o.Slug, changed.Slug)
	renamed := adminOrg(t, s, "PATCH", path, `{"name":"Strict School Renamed"}`, 200)
	assert.Equal(t, "required_for_admins", renamed.MFAPolicy, "a rename keeps the policy")
	both := adminOrg(t, s, "PATCH", path, `{"name":"Easy School","mfaPolicy":"optional"}`, 200)
	assert.Equal(t, "Easy School", both.Name)
	assert.Equal(t, "optional", both.MFAPolicy)
	assert.Equal(t, both, adminOrg(t, s, "GET", path, "", 200))

	resp, text := do(t, s, adminRequest("GET", pathAdminOrgs+"?limit=100", ""))
	require.Equal(t, 200, resp.StatusCode, text)
	var list struct {
		Organizations []orgJSON `json:"organizations"`
	}
	require.NoError(t, json.Unmarshal([]byte(text), &list))
	policies := map[string]string{}
	for _, l := range list.Organizations {
		policies[l.ID] = l.MFAPolicy
	}
	assert.Equal(t, map[string]string{testOrgID: "off", plain.ID: "off", o.ID: "optional"}, policies, "the listing shows each policy")
}

func TestAdminOrganizationsRefuseABadMFAPolicyAndChangeNothing(t *testing.T) {
	s := newTestServer(t)
	path := pathAdminOrgs + "/" + testOrgID
	adminOrg(t, s, "PATCH", path, `{"mfaPolicy":"required"}`, 200)
	before := adminOrg(t, s, "GET", path, "", 200)
	count := func() int {
		_, text := do(t, s, adminRequest("GET", pathAdminOrgs+"?limit=100", ""))
		return strings.Count(text, `"id":`)
	}
	orgs := count()

	for _, bad := range []string{`"sometimes"`, `""`, `"Required"`, `5`, `null`, `true`, `["required"]`, `{"policy":"required"}`} {
		t.Run(bad, func(t *testing.T) {
			for _, req := range []*nethttp.Request{
				adminRequest("POST", pathAdminOrgs, `{"name":"Bad School","mfaPolicy":`+bad+`}`),
				adminRequest("PATCH", path, `{"mfaPolicy":`+bad+`}`),
				adminRequest("PATCH", path, `{"name":"Renamed","mfaPolicy":`+bad+`}`),
			} {
				resp, text := do(t, s, req)
				assert.Equal(t, 400, resp.StatusCode, "%s %s: %s", req.Method, req.URL.Path, text)
				var e restBody
				require.NoError(t, json.Unmarshal([]byte(text), &e), text)
				assert.Equal(t, "invalid_mfa_policy", e.Error, text)
				assert.Equal(t, `mfaPolicy must be one of "off", "optional", "required_for_admins" or "required"`, e.Message)
			}
			assert.Equal(t, before, adminOrg(t, s, "GET", path, "", 200), "the organization is unchanged")
			assert.Equal(t, orgs, count(), "no organization was made")
		})
	}
}

// Only a platform administrator changes an organization's policy. A
// client granted every action on the organization has no route to it: its
// credentials do not open the admin API, and the organization-scoped API
// has no organization settings.
func TestAnOrganizationsClientCannotChangeItsMFAPolicy(t *testing.T) {
	s := newTestServer(t)
	path := pathAdminOrgs + "/" + testOrgID
	before := adminOrg(t, s, "GET", path, "", 200)
	for _, tt := range []struct {
		req    *nethttp.Request
		status int
	}{
		{clientRequest("PATCH", path, `{"mfaPolicy":"off"}`), 401},
		{clientRequest("PATCH", path, `{"mfaPolicy":"required"}`), 401},
		{clientRequest("PATCH", "/api/v1/organizations/"+testOrgID, `{"mfaPolicy":"required"}`), 404},
		{clientRequest("PUT", "/api/v1/organizations/"+testOrgID, `{"mfaPolicy":"required"}`), 404},
	} {
		resp, text := do(t, s, tt.req)
		assert.Equal(t, tt.status, resp.StatusCode, "%s %s: %s", tt.req.Method, tt.req.URL.Path, text)
	}
	// An admin key of the wrong shape is refused as well.
	req := adminRequest("PATCH", path, `{"mfaPolicy":"required"}`)
	req.Header.Set("Authorization", "Bearer cak_"+strings.Repeat("x", 40))
	resp, text := do(t, s, req)
	assert.Equal(t, 401, resp.StatusCode, text)
	assert.Equal(t, before, adminOrg(t, s, "GET", path, "", 200), "the organization is unchanged")
}
