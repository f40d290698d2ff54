package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// TestPlatformAdminAPI grants and revokes the platform administrator role
// through the admin API on the memory driver.
func TestPlatformAdminAPI(t *testing.T) {
	t.Parallel()
	runPlatformAdminAPI(t, nil)
}

// TestPlatformAdminAPIPostgres does it on the postgres driver, whose ids
// and text reach a real database.
func TestPlatformAdminAPIPostgres(t *testing.T) {
	t.Parallel()
	runPlatformAdminAPI(t, usePostgres(postgresDSN(t), newKEK()))
}

func runPlatformAdminAPI(t *testing.T, edit func(*config.Config)) {
	srv := startServer(t, edit)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := domain.User{ID: uuid.NewString(), Email: "willie." + uuid.NewString()[:8] + "@example.edu",
		Status: domain.UserActive, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, srv.Users.CreateUser(ctx, u))
	path := srv.BaseURL + "/api/v1/admin/platform-admins/"

	holds := func() bool {
		t.Helper()
		got, err := srv.Users.GetUser(ctx, u.ID)
		require.NoError(t, err)
		return got.PlatformAdmin
	}
	call := func(method, target, key string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, target, nil)
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var body struct {
			Error string `json:"error"`
		}
		if res.StatusCode != http.StatusNoContent {
			require.NoError(t, json.NewDecoder(res.Body).Decode(&body), "%s %s answers REST error JSON", method, target)
		}
		return res.StatusCode, body.Error
	}

	t.Run("without the admin key both are 401 and change nothing", func(t *testing.T) {
		for _, method := range []string{http.MethodPut, http.MethodDelete} {
			for _, key := range []string{"", "cak_not-a-key-0123456789abcdefghijklmnop"} {
				status, code := call(method, path+u.ID, key)
				assert.Equal(t, http.StatusUnauthorized, status, "%s with key %q", method, key)
				assert.Equal(t, "unauthorized", code)
			}
		}
		assert.False(t, holds())
	})

	t.Run("PUT grants the role, twice as once", func(t *testing.T) {
		for range 2 {
			status, _ := call(http.MethodPut, path+u.ID, seedAdminKey)
			require.Equal(t, http.StatusNoContent, status)
			assert.True(t, holds())
		}
	})

	t.Run("DELETE revokes the role, twice as once", func(t *testing.T) {
		for range 2 {
			status, _ := call(http.MethodDelete, path+u.ID, seedAdminKey)
			require.Equal(t, http.StatusNoContent, status)
			assert.False(t, holds())
		}
	})

	t.Run("an unknown, too long or malformed id is 404 user_not_found", func(t *testing.T) {
		for name, id := range map[string]string{
			"an unknown id":          uuid.NewString(),
			"an id too long":         strings.Repeat("a", 65),
			"an id far too long":     strings.Repeat("a", 2000),
			"an escaped NUL":         url.PathEscape("a\x00b"),
			"an escaped bad UTF-8":   "%ff%fe",
			"an escaped slash":       url.PathEscape("a/b"),
			"an id of many percents": strings.Repeat("%25", 60),
		} {
			for _, method := range []string{http.MethodPut, http.MethodDelete} {
				status, code := call(method, path+id, seedAdminKey)
				assert.Equal(t, http.StatusNotFound, status, "%s %s", method, name)
				assert.Equal(t, "user_not_found", code, "%s %s", method, name)
			}
		}
	})
}
