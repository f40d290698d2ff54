package http

import (
	"context"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// The test server's directory: one client granted everything on one
// organization, and an admin key.
const (
	testClientID     = "cca_fuzz"
	testClientSecret = "ccas_fuzz-secret-0123456789abcdefghijklmnopqrstuv"
	testOrgID        = "11111111-2222-4333-8444-555555555555"
	testAdminKey     = "cak_fuzz-admin-key-0123456789abcdefghijklmnop"
)

func seedDirectory(t testing.TB, dir *directory.Service, clients *memory.ClientStore, orgs *memory.OrganizationStore) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, orgs.CreateOrganization(ctx, domain.Organization{ID: testOrgID, Name: "Fuzz School", Slug: "fuzz-school"}))
	require.NoError(t, clients.CreateClient(ctx, domain.Client{
		ID: testClientID, SecretHash: domain.HashToken(testClientSecret), Name: "Fuzz", TokenEndpointAuthMethod: domain.AuthMethodSecretPost,
	}))
	_, err := dir.PutClientGrant(ctx, testClientID, testOrgID, domain.GrantActions)
	require.NoError(t, err)
	_, err = dir.PutAdminKey(ctx, testAdminKey, "test")
	require.NoError(t, err)
}

func clientRequest(method, target, body string) *nethttp.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-client-id", testClientID)
	req.Header.Set("x-client-secret", testClientSecret)
	return req
}

func TestRESTErrorsUseTheRESTFormat(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name   string
		req    *nethttp.Request
		status int
		code   string
	}{
		{"malformed JSON", clientRequest("POST", pathProvision, `{"email":`), 400, "invalid_json"},
		{"two JSON objects", clientRequest("POST", pathProvision, `{} {}`), 400, "invalid_json"},
		{"a wrong type", clientRequest("POST", pathProvision, `{"email": 5}`), 400, "invalid_request"},
		{"an unknown field", clientRequest("POST", pathProvision, `{"emial": "a@b.example"}`), 400, "unknown_field"},
		{"an unknown route under the API", clientRequest("GET", "/api/v1/users/x/y/z", ""), 404, "not_found"},
		{"a wrong method", clientRequest("PUT", pathProvision, `{}`), 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, s, tt.req)
			assert.Equal(t, tt.status, resp.StatusCode, body)
			assert.Contains(t, body, `"error":"`+tt.code+`"`)
			assert.Contains(t, body, `"message":`)
		})
	}
	req := clientRequest("POST", pathProvision, `{}`)
	req.Header.Set("Content-Type", "text/plain")
	resp, body := do(t, s, req)
	assert.Equal(t, 415, resp.StatusCode, body)
}

func FuzzProvision(f *testing.F) {
	f.Add(`{"email":"a@b.example","firstName":"A","lastName":"B","organizationId":"` + testOrgID + `"}`)
	f.Add(`{"email":"a@b.example","firstName":"A","lastName":"B","organizationId":"` + testOrgID + `","role":"owner","sendInviteEmail":true}`)
	f.Add(`{"users":[{"email":"x"},{"email":5},null,[]]}`)
	f.Add(`{"email":"\u0000@\ud800","firstName":"` + strings.Repeat("é", 200) + `"}`)
	s := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{pathProvision, pathProvisionBulk} {
			resp, err := s.App().Test(clientRequest("POST", path, body), -1)
			if err != nil {
				return
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("status %d on %s for body %q", resp.StatusCode, path, body)
			}
		}
	})
}

func FuzzAdmin(f *testing.F) {
	f.Add("PUT", "/api/v1/admin/clients/"+testClientID+"/grants/"+testOrgID, `{"actions":["read"]}`)
	f.Add("PATCH", "/api/v1/admin/clients/"+testClientID, `{"approvedScopes":["organization"],"firstParty":true}`)
	f.Add("POST", "/api/v1/admin/organizations", `{"name":"  "}`)
	f.Add("POST", "/api/v1/admin/organizations", `{"name":"A","mfaPolicy":"required"}`)
	f.Add("PATCH", "/api/v1/admin/organizations/"+testOrgID, `{"mfaPolicy":null}`)
	f.Add("PUT", "/api/v1/admin/organizations/"+testOrgID+"/roles/Teacher", `{"permissions":["a"]}`)
	s := newTestServer(f)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") {
			return
		}
		req, err := nethttp.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		resp, err := s.App().Test(req, -1)
		if err != nil {
			return
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %s %s %q", resp.StatusCode, method, path, body)
		}
	})
}
