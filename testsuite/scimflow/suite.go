// Package scimflow is the black-box suite of SCIM 2.0 at /scim/v2: it drives
// a running server over HTTP with traffic shaped like Entra ID's and Okta's
// provisioning, and checks the directory's state and the events after each
// step. Every backend runs it.
package scimflow

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Env is the server under test.
type Env struct {
	// BaseURL is the issuer, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// AdminKey is a platform admin key for /api/v1/admin.
	AdminKey string
	// Events returns every event the server published so far, in order.
	Events func(t *testing.T) []domain.Event
	// DeleteDeactivates: the server runs with scim.on_delete: deactivate.
	DeleteDeactivates bool
}

// Run runs the whole suite.
func Run(t *testing.T, env Env) {
	s := &suite{env: env, http: &http.Client{Timeout: 30 * time.Second}}
	for _, c := range []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"an Entra ID provisioning sequence, step by step", entraSequence},
		{"an Okta provisioning sequence, step by step", oktaSequence},
		{"a token reaches only its own organization", tenancy},
		{"tokens are made and revoked by the admin API only", tokenAdmin},
		{"discovery describes exactly what is supported", discovery},
		{"filters, paging and attribute selection", listing},
		{"groups have free names, renames, external ids and many members", groups},
		{"a group mapped to a role lifts its members' effective role", mappedRoles},
		{"userName and the primary email are independent; the primary email signs in", userNameDecides},
		{"Entra ID with UPN ≠ mail converges over 5 cycles of lookup by userName", entraCyclesByUserName},
		{"Entra ID with UPN ≠ mail converges over 5 cycles by cached id", entraCyclesByID},
		{"Okta's SPEC sequence keeps a mixed-case userName", oktaMixedCase},
		{"a token's user_name rule signs users in with userName", signInWithUserName},
		{"every RFC 7643 User and Enterprise attribute is kept as sent", allAttributes},
		{"an account in two organizations keeps each one's profile", sharedAccount},
		{"bad input gets a SCIM 4xx and changes nothing", badInput},
		{"ETags guard writes", etags},
		{"attributes and excludedAttributes shape what writes return", writeProjections},
		{"a PATCH needs a value, and a path of the User schemas", patchValuesAndPaths},
		{"a flat run of 64 terms is no nesting, and nesting stays bounded", flatFilters},
		{"discovery is read-only and /Me is not implemented", readOnlyDiscovery},
		{"a client that asks for JSON alone is answered in application/json", plainJSON},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, s)
		})
	}
}

// RunDeactivateOnDelete checks DELETE with scim.on_delete: deactivate.
func RunDeactivateOnDelete(t *testing.T, env Env) {
	s := &suite{env: env, http: &http.Client{Timeout: 30 * time.Second}}
	deleteDeactivates(t, s)
}

type suite struct {
	env  Env
	http *http.Client
}

var counter atomic.Int64

// unique returns a fresh tag for names and emails.
func unique(prefix string) string {
	return prefix + "-" + time.Now().Format("150405.000000") + "-" + itoa(counter.Add(1))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// response is an answer, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	if len(r.Body) > 600 {
		return string(r.Body[:600]) + "…"
	}
	return string(r.Body)
}

// JSON decodes the body as an object.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "status %d, body %q", r.Status, r)
	return m
}

// call makes one request; SCIM calls carry a token, admin calls the admin
// key. It fails the test on a 5xx: bad input is never a server error.
func (s *suite) call(t *testing.T, method, path, bearer, contentType string, body []byte) response {
	t.Helper()
	return s.callWith(t, method, path, bearer, contentType, body, nil)
}

// callWith is call with extra headers.
func (s *suite) callWith(t *testing.T, method, path, bearer, contentType string, body []byte, headers map[string]string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.env.BaseURL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := s.http.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{Status: res.StatusCode, Header: res.Header, Body: b}
	if out.Status != http.StatusNotImplemented { // RFC 7644's answer to an unsupported operation
		require.Less(t, out.Status, 500, "%s %s must not fail with a 5xx; body %q", method, path, out)
	}
	return out
}

// scim sends a SCIM request with a JSON body (nil for none).
func (s *suite) scim(t *testing.T, token, method, path string, body any) response {
	t.Helper()
	var b []byte
	ct := ""
	if body != nil {
		switch v := body.(type) {
		case string:
			b = []byte(v)
		default:
			var err error
			b, err = json.Marshal(v)
			require.NoError(t, err)
		}
		ct = "application/scim+json"
	}
	r := s.call(t, method, "/scim/v2"+path, token, ct, b)
	if r.Status != http.StatusNoContent && r.Status != http.StatusNotModified && len(r.Body) > 0 {
		assert.Equal(t, "application/scim+json", mediaType(r.Header.Get("Content-Type")), "%s %s answers SCIM JSON", method, path)
	}
	return r
}

func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt)
}

// admin sends an admin API request.
func (s *suite) admin(t *testing.T, method, path string, body any) response {
	t.Helper()
	var b []byte
	ct := ""
	if body != nil {
		var err error
		b, err = json.Marshal(body)
		require.NoError(t, err)
		ct = "application/json"
	}
	return s.call(t, method, path, s.env.AdminKey, ct, b)
}

// org is an organization with a SCIM token.
type org struct {
	ID, Token, TokenID string
}

// newOrg makes an organization and a SCIM token for it.
func (s *suite) newOrg(t *testing.T) org {
	t.Helper()
	r := s.admin(t, "POST", "/api/v1/admin/organizations", map[string]string{"name": unique("SCIM School")})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	id := r.JSON(t)["id"].(string)
	r = s.admin(t, "POST", "/api/v1/admin/organizations/"+id+"/scim-tokens", map[string]string{"name": "Entra ID"})
	require.Equal(t, http.StatusCreated, r.Status, r.String())
	tok := r.JSON(t)
	require.True(t, strings.HasPrefix(tok["token"].(string), "cst_"), "SCIM tokens carry the cst_ prefix")
	return org{ID: id, Token: tok["token"].(string), TokenID: tok["id"].(string)}
}

// findByUserName runs the existence check every provider starts with.
func (s *suite) findByUserName(t *testing.T, o org, userName string) []map[string]any {
	t.Helper()
	r := s.scim(t, o.Token, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`), nil)
	require.Equal(t, http.StatusOK, r.Status, r.String())
	body := r.JSON(t)
	assert.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}, body["schemas"])
	res, _ := body["Resources"].([]any)
	assert.EqualValues(t, len(res), body["totalResults"])
	out := make([]map[string]any, len(res))
	for i, x := range res {
		out[i] = x.(map[string]any)
	}
	return out
}

// member is the directory's view of a user in an organization, from the
// admin API.
type member struct {
	Found  bool
	Email  string
	Status string
	Role   string
}

// directoryState reads a user's account and membership through the admin
// API, independently of SCIM.
func (s *suite) directoryState(t *testing.T, orgID, userID string) member {
	t.Helper()
	cursor := ""
	for {
		path := "/api/v1/admin/organizations/" + orgID + "/users?limit=200"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := s.admin(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, r.Status, r.String())
		var page struct {
			Users []struct {
				ID            string `json:"userId"`
				Email         string `json:"email"`
				Status        string `json:"status"`
				Organizations []struct {
					OrganizationID string `json:"organizationId"`
					Role           string `json:"role"`
				} `json:"organizations"`
			} `json:"users"`
			NextCursor string `json:"nextCursor"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &page))
		for _, u := range page.Users {
			if u.ID == userID {
				m := member{Found: true, Email: u.Email, Status: u.Status}
				for _, o := range u.Organizations {
					if o.OrganizationID == orgID {
						m.Role = o.Role
					}
				}
				return m
			}
		}
		if page.NextCursor == "" {
			return member{}
		}
		cursor = page.NextCursor
	}
}

// events returns the types of the events about a user, oldest first.
func (s *suite) events(t *testing.T, userID string) []string {
	t.Helper()
	var out []string
	for _, e := range s.env.Events(t) {
		if e.UserID == userID {
			out = append(out, e.Type)
		}
	}
	return out
}

// expectEvents checks that the user's events are exactly want so far;
// events are published after the change commits, so it waits briefly.
func (s *suite) expectEvents(t *testing.T, userID string, want ...string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = s.events(t, userID); len(got) >= len(want) {
			break
		}
	}
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	assert.Equal(t, want, got, "events about user %s", userID)
}

// scimError checks a SCIM error response.
func scimError(t *testing.T, r response, status int, scimType string) {
	t.Helper()
	require.Equal(t, status, r.Status, r.String())
	body := r.JSON(t)
	assert.Equal(t, []any{"urn:ietf:params:scim:api:messages:2.0:Error"}, body["schemas"], r.String())
	assert.Equal(t, itoaInt(status), body["status"], "status is a string")
	if scimType != "" {
		assert.Equal(t, scimType, body["scimType"], r.String())
	}
	assert.NotEmpty(t, body["detail"])
}

func itoaInt(n int) string { return strconv.Itoa(n) }
