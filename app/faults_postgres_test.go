package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// TestPostgresOutageAnswers503AndRecovers cuts the database off under a
// running server: readiness fails and the API answers 503
// temporarily_unavailable, never a 500, while JWKS is still served. When
// the database returns, everything recovers with no restart.
func TestPostgresOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newFaultProxy(t, u.Host, 0)
	u.Host = proxy.addr
	srv := startServer(t, func(c *config.Config) {
		usePostgres(u.String(), newKEK())(c)
		c.RateLimit.Enabled = false
	})

	checkOutage(t, srv, proxy, "the database")
}

// checkOutage cuts a backend off behind proxy under a running server: the
// token endpoint answers 503 temporarily_unavailable, never a 500,
// readiness fails and JWKS is still served. When the backend returns,
// tokens are issued again with no restart.
func checkOutage(t *testing.T, srv *testServer, proxy *faultProxy, backend string) {
	t.Helper()
	reg, err := http.Post(srv.BaseURL+"/api/v1/oidc/register", "application/json",
		strings.NewReader(`{"client_name":"machine","grant_types":["client_credentials"],"scope":"profile"}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(reg.Body)
	_ = reg.Body.Close()
	require.Equal(t, http.StatusCreated, reg.StatusCode, string(body))
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	clientID, secret := m["client_id"].(string), m["client_secret"].(string)

	token := func() (int, string) {
		resp, err := http.PostForm(srv.BaseURL+"/api/v1/oidc/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		})
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) int {
		resp, err := http.Get(srv.BaseURL + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	status, b := token()
	require.Equal(t, http.StatusOK, status, "tokens are issued while %s is up: %s", backend, b)

	proxy.down()
	require.Eventually(t, func() bool {
		status, body := token()
		require.NotEqual(t, http.StatusInternalServerError, status, "an outage is never a 500: %s", body)
		return status == http.StatusServiceUnavailable && strings.Contains(body, "temporarily_unavailable")
	}, 30*time.Second, 100*time.Millisecond, "the token endpoint answers 503 temporarily_unavailable")
	assert.Equal(t, http.StatusServiceUnavailable, get("/readyz"), "readiness fails during the outage")
	assert.Equal(t, http.StatusOK, get("/api/v1/oidc/jwks"), "JWKS is still served")

	require.NoError(t, proxy.up())
	require.Eventually(t, func() bool {
		status, _ := token()
		return status == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "tokens are issued again once %s is back, with no restart", backend)
	assert.Equal(t, http.StatusOK, get("/readyz"))
}
