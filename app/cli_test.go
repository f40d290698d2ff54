package app_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
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

// checkPlatformAdminCommands creates an account on a server started with
// edit, grants it the platform administrator role with `admin
// grant-platform-admin`, revokes it with `admin revoke-platform-admin`
// (the email in another letter case, the flags after it), and checks
// that the server's own store sees each change and that an unknown email
// is refused by name.
func checkPlatformAdminCommands(t *testing.T, env []string, edit func(*config.Config)) {
	t.Helper()
	srv := startServer(t, edit)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := domain.User{ID: uuid.NewString(), Email: "groundskeeper." + uuid.NewString()[:8] + "@example.edu",
		Status: domain.UserActive, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, srv.Users.CreateUser(ctx, u))
	// The server's user store may cache the row; it learns of the
	// command's write from the database, a moment later.
	holds := func(want bool) {
		t.Helper()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			got, err := srv.Users.GetUser(ctx, u.ID)
			require.NoError(c, err)
			assert.Equal(c, want, got.PlatformAdmin)
		}, 10*time.Second, 20*time.Millisecond, "the server sees platform admin = %v", want)
	}
	holds(false)

	var out, errOut bytes.Buffer
	require.NoError(t, app.Main([]string{"admin", "grant-platform-admin", u.Email}, env, &out, &errOut), "stderr: %s", errOut.String())
	require.Equal(t, u.Email+" (id "+u.ID+") is now a platform administrator\n", out.String())
	holds(true)

	out.Reset()
	require.NoError(t, app.Main([]string{"admin", "revoke-platform-admin", strings.ToUpper(u.Email), "--config", ""}, env, &out, &errOut),
		"stderr: %s", errOut.String())
	require.Equal(t, u.Email+" (id "+u.ID+") is no longer a platform administrator\n", out.String())
	holds(false)

	out.Reset()
	err := app.Main([]string{"admin", "grant-platform-admin", "nobody@example.edu"}, env, &out, &errOut)
	require.EqualError(t, err, `admin grant-platform-admin: no account has the email "nobody@example.edu"`)
	require.Empty(t, out.String())
}

// TestPlatformAdminCommandsRefuseTheMemoryDriver: the change would be made
// in the command's own, empty, process.
func TestPlatformAdminCommandsRefuseTheMemoryDriver(t *testing.T) {
	for _, sub := range []string{"grant-platform-admin", "revoke-platform-admin"} {
		var out, errOut bytes.Buffer
		err := app.Main([]string{"admin", sub, "jane@example.edu"}, nil, &out, &errOut)
		require.ErrorContains(t, err, "admin "+sub+`: storage.driver is "memory"`)
		require.ErrorContains(t, err, "the dev seed's user is a platform administrator")
		require.Empty(t, out.String())
	}
}

// TestPlatformAdminCommandsNeedOneEmail: no email, or two, is refused
// before any configuration is read.
func TestPlatformAdminCommandsNeedOneEmail(t *testing.T) {
	for name, args := range map[string][]string{
		"no email":          {"admin", "grant-platform-admin"},
		"two emails":        {"admin", "revoke-platform-admin", "a@example.edu", "b@example.edu"},
		"an unknown action": {"admin", "make-platform-admin", "a@example.edu"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := app.Main(args, nil, &out, &errOut)
			require.Error(t, err)
			require.Contains(t, errOut.String(), "admin grant-platform-admin EMAIL", "the usage is shown")
			require.Empty(t, out.String())
		})
	}
}
