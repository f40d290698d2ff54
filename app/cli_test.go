package app_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
)

// checkAdminCreateKeyCommand runs `admin create-key` with env, then checks
// that a server started with edit, on the same database, takes the
// printed key and refuses a key one character off.
func checkAdminCreateKeyCommand(t *testing.T, env []string, edit func(*config.Config)) {
	t.Helper()
	var out, errOut bytes.Buffer
	require.NoError(t, app.Main([]string{"admin", "create-key", "--name", "ops laptop"}, env, &out, &errOut), "stderr: %s", errOut.String())
	key := regexp.MustCompile(`cak_[A-Za-z0-9_-]{43}`).FindString(out.String())
	require.NotEmpty(t, key, "the key is printed: %s", out.String())
	require.Contains(t, out.String(), `"ops laptop"`)
	require.Contains(t, out.String(), "shown only this once")

	srv := startServer(t, edit)
	for _, tc := range []struct {
		key    string
		status int
	}{{key, http.StatusOK}, {key[:len(key)-1] + "x", http.StatusUnauthorized}} {
		req, err := http.NewRequest(http.MethodGet, srv.BaseURL+"/api/v1/admin/organizations", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tc.key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, tc.status, resp.StatusCode)
	}
}

// TestAdminCreateKeyRefusesTheMemoryDriver: a key made by the command
// would live only in the command's own process.
func TestAdminCreateKeyRefusesTheMemoryDriver(t *testing.T) {
	var out, errOut bytes.Buffer
	err := app.Main([]string{"admin", "create-key"}, nil, &out, &errOut)
	require.ErrorContains(t, err, `storage.driver is "memory"`)
	require.ErrorContains(t, err, "dev.seed_admin_key")
	require.Empty(t, out.String(), "no key is printed")
}

// checkKeysRotateCommand runs `keys rotate` with env on an empty store and
// checks what it prints: each algorithm's active key, the next key it
// published, and the key it retired.
func checkKeysRotateCommand(t *testing.T, env []string) {
	t.Helper()
	var out, errOut bytes.Buffer
	require.NoError(t, app.Main([]string{"keys", "rotate"}, env, &out, &errOut), "stderr: %s", errOut.String())
	require.Contains(t, out.String(), "keys rotated")
	perAlg := map[string]int{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			perAlg[f[0]]++
		}
	}
	require.NotEmpty(t, perAlg, "the published keys are listed: %s", out.String())
	for alg, n := range perAlg {
		require.Equal(t, 3, n, "%s: active, next and retired keys are published: %s", alg, out.String())
	}
}

// TestKeysRotateRefusesMemoryWithLocalKeys: those keys live in the
// server's process, out of the command's reach.
func TestKeysRotateRefusesMemoryWithLocalKeys(t *testing.T) {
	var out, errOut bytes.Buffer
	err := app.Main([]string{"keys", "rotate"}, nil, &out, &errOut)
	require.ErrorContains(t, err, "POST /api/v1/admin/keys/rotate")
	require.Empty(t, out.String())
}
