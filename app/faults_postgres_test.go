package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// faultProxy forwards TCP to the database and can cut it off: down closes
// the listener and every connection, as a database outage does; up listens
// again on the same address.
type faultProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &faultProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *faultProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *faultProxy) pipe(c net.Conn) {
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, d) {
		return
	}
	go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
	_, _ = io.Copy(c, d)
	_ = c.Close()
}

// track registers a connection pair, unless the proxy went down meanwhile.
func (p *faultProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *faultProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *faultProxy) up(t *testing.T) {
	var ln net.Listener
	require.Eventually(t, func() bool {
		var err error
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the proxy listens again on %s", p.addr)
	p.serve(ln)
}

// TestPostgresOutageAnswers503AndRecovers cuts the database off under a
// running server: readiness fails and the API answers 503
// temporarily_unavailable, never a 500, while JWKS is still served. When
// the database returns, everything recovers with no restart.
func TestPostgresOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newFaultProxy(t, u.Host)
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

	proxy.up(t)
	require.Eventually(t, func() bool {
		status, _ := token()
		return status == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "tokens are issued again once %s is back, with no restart", backend)
	assert.Equal(t, http.StatusOK, get("/readyz"))
}
