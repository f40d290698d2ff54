package directoryflow

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// response is an answer, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object, failing the test when it is not one.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "the body must be a JSON object; status %d, body %q", r.Status, r)
	return m
}

// decode decodes the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "status %d, body %q", r.Status, r)
}

// String is the body, clipped for failure messages.
func (r response) String() string {
	if len(r.Body) > 400 {
		return string(r.Body[:400]) + "…"
	}
	return string(r.Body)
}

// request is one call: credentials go in header, body is sent as is.
type request struct {
	method, path string
	header       http.Header
	contentType  string
	body         []byte
}

// send makes a request and reads the answer. It fails on any 5xx: bad
// input gets a 4xx, never a server error.
func (s *suite) send(t *testing.T, r request) response {
	t.Helper()
	out, err := s.roundTrip(r)
	require.NoError(t, err, "%s %s", r.method, r.path)
	require.Less(t, out.Status, 500, "%s %s must not fail with a 5xx; body %q", r.method, r.path, out)
	return out
}

// roundTrip makes a request without failing the test, for goroutines other
// than the test's own.
func (s *suite) roundTrip(r request) (response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, s.env.BaseURL+r.path, body)
	if err != nil {
		return response{}, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, err
}

// jsonRequest makes a request whose body is v as JSON; nil sends no body.
func jsonRequest(t *testing.T, method, path string, header http.Header, v any) request {
	t.Helper()
	r := request{method: method, path: path, header: header}
	if v != nil {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		r.body, r.contentType = raw, "application/json"
	}
	return r
}

// admin calls the admin API with the platform admin key.
func (s *suite) admin(t *testing.T, method, path string, body any) response {
	t.Helper()
	return s.send(t, jsonRequest(t, method, path, s.adminHeader(), body))
}

func (s *suite) adminHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + s.env.AdminKey}}
}

// call calls the user management API as client c.
func (s *suite) call(t *testing.T, c *apiClient, method, path string, body any) response {
	t.Helper()
	return s.send(t, jsonRequest(t, method, path, c.header(), body))
}

// requireError checks a REST error answer: status, JSON {"error", "message"}
// and, when code is set, the error code.
func requireError(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, "status; body %q", r)
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json", "REST errors are JSON")
	m := r.JSON(t)
	if code != "" {
		require.Equal(t, code, m["error"], "error code; body %q", r)
	}
	assert.NotEmpty(t, m["error"], "the error body has an error code")
	assert.NotEmpty(t, m["message"], "the error body has a message")
	return m
}

// require4xx checks that bad input got a 4xx REST error body.
func require4xx(t *testing.T, r response) map[string]any {
	t.Helper()
	require.True(t, r.Status >= 400 && r.Status < 500, "status %d must be a 4xx; body %q", r.Status, r)
	return requireError(t, r, r.Status, "")
}
