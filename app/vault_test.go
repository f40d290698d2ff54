package app_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// vaultAddr returns CALIMATIC_TEST_VAULT_ADDR and _TOKEN (a dev server with
// the transit engine mounted at transit/). Without them the test is skipped,
// unless CALIMATIC_TEST_REQUIRE_BACKENDS=1 (CI), where it fails.
func vaultAddr(t *testing.T) (addr, token string) {
	t.Helper()
	addr, token = os.Getenv("CALIMATIC_TEST_VAULT_ADDR"), os.Getenv("CALIMATIC_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("CALIMATIC_TEST_VAULT_ADDR and CALIMATIC_TEST_VAULT_TOKEN are not set (CALIMATIC_TEST_REQUIRE_BACKENDS=1)")
		}
		t.Skip("CALIMATIC_TEST_VAULT_ADDR and CALIMATIC_TEST_VAULT_TOKEN are not set")
	}
	return addr, token
}

// useVault is a startServer edit that signs with Vault's transit engine, on
// transit keys of this test's own.
func useVault(addr, token string) func(*config.Config) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	return func(c *config.Config) {
		c.Signer.Kind = config.SignerVault
		v := &c.Signer.Vault
		v.Address, v.Token = addr, token
		v.KeyRS256, v.KeyES256 = "app-rs256-"+suffix, "app-es256-"+suffix
		v.Refresh = time.Second
	}
}

// TestEndToEndVault runs the black-box OIDC suite with keys in Vault:
// tokens verify through the JWKS endpoint with keyfunc and go-oidc.
func TestEndToEndVault(t *testing.T) {
	t.Parallel()
	addr, token := vaultAddr(t)
	srv := startServer(t, func(c *config.Config) {
		useVault(addr, token)(c)
		c.RateLimit.Enabled = false
	})
	oidcflow.Run(t, srv.env())
}

// TestVaultOutageAnswers503AndRecovers cuts Vault off under a running
// server: readiness fails and the token endpoint answers 503
// temporarily_unavailable, never a 500, while JWKS is still served from the
// signer's cache. When Vault returns, tokens are issued again, with no
// restart.
func TestVaultOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	addr, token := vaultAddr(t)
	u, err := url.Parse(addr)
	require.NoError(t, err)
	proxy := newFaultProxy(t, u.Host, 0)
	u.Host = proxy.addr
	srv := startServer(t, func(c *config.Config) {
		useVault(u.String(), token)(c)
		c.Signer.Vault.Timeout = 2 * time.Second
		c.RateLimit.Enabled = false
	})

	checkOutage(t, srv, proxy, "Vault")
}

// TestVaultRotationByCLIAndAdminAPI rotates the transit keys twice, with
// `calimatic-auth keys rotate` and with POST /api/v1/admin/keys/rotate: each
// time a new key appears in the running server's JWKS (the CLI's through
// the signer's refresh), and the old ones stay published.
func TestVaultRotationByCLIAndAdminAPI(t *testing.T) {
	t.Parallel()
	addr, token := vaultAddr(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	rs, es := "rot-rs256-"+hex.EncodeToString(b), "rot-es256-"+hex.EncodeToString(b)
	srv := startServer(t, func(c *config.Config) {
		c.Signer.Kind = config.SignerVault
		v := &c.Signer.Vault
		v.Address, v.Token, v.KeyRS256, v.KeyES256, v.Refresh = addr, token, rs, es, 500*time.Millisecond
	})
	before := jwksKids(t, srv.BaseURL)

	var out, errOut strings.Builder
	require.NoError(t, app.Main([]string{"keys", "rotate"}, []string{
		"CALIMATIC_SIGNER_KIND=vault", "CALIMATIC_SIGNER_VAULT_ADDRESS=" + addr, "CALIMATIC_SIGNER_VAULT_TOKEN=" + token,
		"CALIMATIC_SIGNER_VAULT_KEY_RS256=" + rs, "CALIMATIC_SIGNER_VAULT_KEY_ES256=" + es,
	}, &out, &errOut), "stderr: %s", errOut.String())
	require.Contains(t, out.String(), "keys rotated")
	require.Eventually(t, func() bool { return len(jwksKids(t, srv.BaseURL)) > len(before) },
		20*time.Second, 100*time.Millisecond, "the running server publishes the CLI's new key")
	afterCLI := jwksKids(t, srv.BaseURL)
	for kid := range before {
		assert.True(t, afterCLI[kid], "key %s stays published", kid)
	}

	req, err := http.NewRequest(http.MethodPost, srv.BaseURL+"/api/v1/admin/keys/rotate", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+seedAdminKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return len(jwksKids(t, srv.BaseURL)) > len(afterCLI) },
		20*time.Second, 100*time.Millisecond, "the admin API's rotation publishes another key")
}
