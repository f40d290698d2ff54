package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

// TestTwoInstancesOnOneDatabase runs two servers on one schema, behind one
// issuer as behind a load balancer, and checks that they act as one: a code
// is redeemed once when both race for it (and the replay revokes it), a refresh token rotated on one is
// a replay on the other, the rate limit is counted once for both, a key
// rotation on one is published by the other, and a token issued by one is
// accepted by the other.
func TestTwoInstancesOnOneDatabase(t *testing.T) {
	t.Parallel()
	testTwoInstances(t, usePostgres(postgresDSN(t), newKEK()))
}

// testTwoInstances is the two-instance test on a backend: backend selects
// it, on the same data for both servers.
func testTwoInstances(t *testing.T, backend func(*config.Config)) {
	ctx := context.Background()
	shared := func(c *config.Config) {
		backend(c)
		c.Signer.Reload = time.Second
		// A day-long window, so that no window boundary falls inside the
		// test and resets the count half-way.
		c.RateLimit.Register = config.Rate{Limit: 5, Window: 24 * time.Hour}
	}
	a := startServer(t, shared)
	b := startServer(t, func(c *config.Config) {
		shared(c)
		c.Issuer = a.BaseURL
	})
	require.NotEqual(t, a.URL, b.URL)
	require.Equal(t, a.BaseURL, b.BaseURL, "one issuer for both")

	// Registrations 1 (on A) and 2 (on B) of the shared limit of 5.
	callback := newCodeCatcher(t)
	raceClient, raceSecret := guideRegister(t, a.URL, callback.URL+"/cb")
	refreshClient, refreshSecret := guideRegister(t, b.URL, callback.URL+"/cb")

	t.Run("a code is redeemed once when both instances race for it", func(t *testing.T) {
		code, verifier := signInForCode(t, ctx, a.URL, raceClient, callback)
		form := url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {code},
			"redirect_uri":  {callback.URL + "/cb"},
			"code_verifier": {verifier},
			"client_id":     {raceClient},
			"client_secret": {raceSecret},
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [2]tokenAttempt
		)
		for i, srv := range []*testServer{a, b} {
			wg.Go(func() {
				<-start
				results[i] = tryToken(t, srv.URL, form)
			})
		}
		close(start)
		wg.Wait()
		// The store lets exactly one request redeem the code; the other
		// finds it used. That replay revokes what the redemption issued
		// (RFC 6749 §4.1.2), and the winner checks for such a revocation
		// after creating its refresh family, so when the replay lands first
		// the winner fails too: "exactly one redemption" shows as at most
		// one 200, and never a token that outlives the replay.
		ok, usedTwice := -1, 0
		for i, r := range results {
			switch {
			case r.status == http.StatusOK:
				require.Equal(t, -1, ok, "two instances redeemed one code: %+v", results)
				ok = i
			case r.status == http.StatusBadRequest && r.err == "invalid_grant":
				if strings.Contains(r.body, "already used") {
					usedTwice++
				}
			default:
				require.Failf(t, "unexpected answer", "%+v", r)
			}
		}
		t.Logf("race outcome: winner %d (-1: the replay revoked the redemption first)", ok)
		if ok < 0 {
			assert.Equal(t, 2, usedTwice, "with no winner, both found the code used (one redeemed it, then the replay revoked it): %+v", results)
			return
		}
		assert.Equal(t, 1, usedTwice, "the loser found the code used: %+v", results)
		// The loser's replay revoked the winner's grant, on both instances.
		requireUserInfo(t, a.URL, results[ok].tokens.AccessToken, http.StatusUnauthorized)
		requireUserInfo(t, b.URL, results[ok].tokens.AccessToken, http.StatusUnauthorized)
		// And the code stays spent.
		again := tryToken(t, b.URL, form)
		assert.Equal(t, "invalid_grant", again.err, "a third redemption: %s", again.body)
	})

	t.Run("a refresh token rotated on B is a replay on A", func(t *testing.T) {
		tokens := signInForTokens(t, ctx, a.URL, refreshClient, refreshSecret, callback)
		require.NotEmpty(t, tokens.RefreshToken)
		refresh := func(base, token string) tokenAttempt {
			return tryToken(t, base, url.Values{
				"grant_type":    {"refresh_token"},
				"refresh_token": {token},
				"client_id":     {refreshClient},
				"client_secret": {refreshSecret},
			})
		}
		rotated := refresh(b.URL, tokens.RefreshToken)
		require.Equal(t, http.StatusOK, rotated.status, "B rotates: %s", rotated.body)
		require.NotEmpty(t, rotated.tokens.RefreshToken)

		replay := refresh(a.URL, tokens.RefreshToken)
		assert.Equal(t, http.StatusBadRequest, replay.status, "A rejects the spent token: %s", replay.body)
		assert.Equal(t, "invalid_grant", replay.err, "A rejects the spent token: %s", replay.body)

		// Reuse detection: the replay revoked the family, on both instances.
		after := refresh(b.URL, rotated.tokens.RefreshToken)
		assert.Equal(t, "invalid_grant", after.err, "the replay revoked the family: %s", after.body)
	})

	t.Run("the rate limit is shared", func(t *testing.T) {
		// Two registrations are already counted (one on each). Three more
		// pass, alternating, and the sixth is refused on either instance.
		for i, srv := range []*testServer{a, b, a} {
			require.Equal(t, http.StatusCreated, registerStatus(t, srv.URL, callback.URL+"/cb"),
				"registration %d of 5", i+3)
		}
		assert.Equal(t, http.StatusTooManyRequests, registerStatus(t, b.URL, callback.URL+"/cb"),
			"the sixth registration (3 on A, 3 on B) is over the shared limit")
		assert.Equal(t, http.StatusTooManyRequests, registerStatus(t, a.URL, callback.URL+"/cb"),
			"and so is the next one on A")
	})

	t.Run("a key rotation on A is published by B", func(t *testing.T) {
		before := jwksKids(t, b.URL)
		require.Equal(t, before, jwksKids(t, a.URL), "both instances start with one key set")
		require.NoError(t, a.Signer.Rotate(ctx))
		after := jwksKids(t, a.URL)
		var added []string
		for kid := range after {
			if !before[kid] {
				added = append(added, kid)
			}
		}
		require.NotEmpty(t, added, "the rotation publishes a new key on A")

		deadline := time.Now().Add(20 * time.Second)
		for {
			got := jwksKids(t, b.URL)
			missing := 0
			for _, kid := range added {
				if !got[kid] {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			require.True(t, time.Now().Before(deadline), "B never published A's new keys %v; it has %v", added, got)
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("a token issued on A is accepted by B", func(t *testing.T) {
		// Signed after the rotation, with the key that was "next" before it.
		tokens := signInForTokens(t, ctx, a.URL, refreshClient, refreshSecret, callback)
		requireUserInfo(t, b.URL, tokens.AccessToken, http.StatusOK)
		requireUserInfo(t, a.URL, tokens.AccessToken, http.StatusOK)
	})

	t.Run("a token revoked on A is refused by B within a second", func(t *testing.T) {
		// Each instance caches "not revoked" per token and grant
		// (CachedGrantStore); the revocation tables' triggers tell the
		// other at commit.
		tokens := signInForTokens(t, ctx, a.URL, refreshClient, refreshSecret, callback)
		requireUserInfo(t, b.URL, tokens.AccessToken, http.StatusOK) // B has "not revoked" cached now
		requireUserInfo(t, a.URL, tokens.AccessToken, http.StatusOK)
		resp, err := http.PostForm(a.URL+"/api/v1/oidc/revoke", url.Values{
			"token": {tokens.AccessToken}, "client_id": {refreshClient}, "client_secret": {refreshSecret},
		})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		requireUserInfo(t, a.URL, tokens.AccessToken, http.StatusUnauthorized) // at once on A
		assert.Eventually(t, func() bool { return userInfoStatus(t, b.URL, tokens.AccessToken) == http.StatusUnauthorized },
			time.Second, 10*time.Millisecond, "within a second on B")
	})

	t.Run("a user suspended on A is refused by B within a second", func(t *testing.T) {
		// Each instance caches users by id (CachedUserStore); the users
		// trigger tells the other at commit.
		tokens := signInForTokens(t, ctx, a.URL, refreshClient, refreshSecret, callback)
		requireUserInfo(t, b.URL, tokens.AccessToken, http.StatusOK) // B has the user cached now
		u, err := a.Users.GetUserByEmail(ctx, seedEmail)
		require.NoError(t, err)
		lifecycle := func(base, action string) {
			req, err := http.NewRequest(http.MethodPost, base+"/api/v1/admin/users/"+u.ID+"/"+action, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+seedAdminKey)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, action)
		}
		lifecycle(a.URL, "suspend")
		requireUserInfo(t, a.URL, tokens.AccessToken, http.StatusUnauthorized) // at once on A
		assert.Eventually(t, func() bool { return userInfoStatus(t, b.URL, tokens.AccessToken) == http.StatusUnauthorized },
			time.Second, 10*time.Millisecond, "within a second on B")
		// Back, through B: A's cache hears of it too. (The suspension
		// ended what the user had signed in to, so the old token stays
		// refused; the status is what is cached.)
		lifecycle(b.URL, "reactivate")
		assert.Eventually(t, func() bool {
			got, err := a.Users.GetUser(ctx, u.ID)
			return err == nil && got.CanSignIn()
		}, time.Second, 10*time.Millisecond, "within a second on A")
	})
}

// userInfoStatus is the status of a UserInfo request with accessToken.
func userInfoStatus(t *testing.T, base, accessToken string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/oidc/userinfo", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// tokenAttempt is a token endpoint answer, successful or not.
type tokenAttempt struct {
	status int
	err    string // the OAuth error code, if any
	tokens tokenResponse
	body   string
}

func tryToken(t *testing.T, base string, form url.Values) tokenAttempt {
	t.Helper()
	resp, err := http.PostForm(base+"/api/v1/oidc/token", form)
	if !assert.NoError(t, err) {
		return tokenAttempt{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := tokenAttempt{status: resp.StatusCode, body: string(raw)}
	var body struct {
		Error string `json:"error"`
		tokenResponse
	}
	if json.Unmarshal(raw, &body) == nil {
		r.err, r.tokens = body.Error, body.tokenResponse
	}
	return r
}

// registerStatus registers a client and returns only the status.
func registerStatus(t *testing.T, base, redirectURI string) int {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"client_name":   "Rate-limited App",
		"redirect_uris": []string{redirectURI},
	})
	require.NoError(t, err)
	resp, err := http.Post(base+"/api/v1/oidc/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// jwksKids returns the kids a server publishes.
func jwksKids(t *testing.T, base string) map[string]bool {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/oidc/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	kids := make(map[string]bool, len(set.Keys))
	for _, k := range set.Keys {
		kids[k.Kid] = true
	}
	return kids
}
