package vault_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/vault"
	"github.com/calimatic/calimatic-auth/core/domain"
)

var bothAlgorithms = []string{domain.AlgRS256, domain.AlgES256}

// vaultEnv returns the test Vault's address and root token. It skips
// without CALIMATIC_TEST_VAULT_ADDR, unless CALIMATIC_TEST_REQUIRE_BACKENDS=1
// (CI) makes that a failure. The transit engine is enabled at "transit" if
// it is not already.
func vaultEnv(t testing.TB) (addr, token string) {
	t.Helper()
	addr, token = os.Getenv("CALIMATIC_TEST_VAULT_ADDR"), os.Getenv("CALIMATIC_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("CALIMATIC_TEST_VAULT_ADDR or CALIMATIC_TEST_VAULT_TOKEN is not set and CALIMATIC_TEST_REQUIRE_BACKENDS=1")
		}
		t.Skip("CALIMATIC_TEST_VAULT_ADDR or CALIMATIC_TEST_VAULT_TOKEN is not set")
	}
	transitOnce.Do(func() { transitErr = enableTransit(addr, token) })
	require.NoError(t, transitErr, "enable the transit engine")
	return addr, token
}

var (
	transitOnce sync.Once
	transitErr  error
)

func enableTransit(addr, token string) error {
	c := rootClient(addr, token)
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		return err
	}
	if _, ok := mounts["transit/"]; ok {
		return nil
	}
	err = c.Sys().Mount("transit", &api.MountInput{Type: "transit"})
	if err != nil && strings.Contains(err.Error(), "already in use") {
		return nil
	}
	return err
}

func rootClient(addr, token string) *api.Client {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	if err != nil {
		panic(err)
	}
	c.SetToken(token)
	return c
}

// randomSuffix keeps each test's transit keys apart from every other's.
func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testKeys names fresh transit keys for both algorithms.
func testKeys() map[string]string {
	s := randomSuffix()
	return map[string]string{domain.AlgRS256: "test-rs256-" + s, domain.AlgES256: "test-es256-" + s}
}

// newSigner returns a signer on the test Vault over fresh keys, closed when
// t ends. opts fills in what it leaves empty: address, token, keys,
// RetireAfter, and no periodic refresh.
func newSigner(t testing.TB, opts vault.Options) *vault.Signer {
	t.Helper()
	addr, token := vaultEnv(t)
	if opts.Address == "" {
		opts.Address = addr
	}
	if opts.Token == "" && opts.RoleID == "" {
		opts.Token = token
	}
	if opts.Keys == nil {
		opts.Keys = testKeys()
	}
	if opts.RetireAfter == 0 {
		opts.RetireAfter = time.Hour
	}
	if opts.Refresh == 0 {
		opts.Refresh = -1
	}
	s, err := vault.New(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// proxy is an HTTP reverse proxy in front of Vault that counts transit sign
// calls and can be stopped and started again on the same address, to play
// an outage.
type proxy struct {
	handler   http.Handler
	signCalls atomic.Int64

	mu   sync.Mutex
	addr string
	srv  *http.Server
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &proxy{addr: "127.0.0.1:0"}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/sign/") {
			p.signCalls.Add(1)
		}
		rp.ServeHTTP(w, r)
	})
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) url() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.addr
}

// start listens again, on the address the proxy had before if any.
func (p *proxy) start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.srv = &http.Server{Handler: p.handler, ReadHeaderTimeout: 5 * time.Second}
	srv := p.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
}

// stop closes the listener and every open connection, so that Vault looks
// gone: connections are refused.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		_ = p.srv.Close()
		p.srv = nil
	}
}
