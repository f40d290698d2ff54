package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// logoutReceiver is an RP's backchannel_logout_uri on loopback. It answers
// the first fail posts with a 500, then 200, and keeps every logout_token.
type logoutReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	fail   int
	posts  int
	tokens []string
	got    chan string
}

func newLogoutReceiver(t *testing.T, fail int) *logoutReceiver {
	r := &logoutReceiver{fail: fail, got: make(chan string, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.posts++
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			req.Header.Get("X-Webhook-Signature") != "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.posts <= r.fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		tok := req.PostFormValue("logout_token")
		r.tokens = append(r.tokens, tok)
		r.got <- tok
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *logoutReceiver) count() (posts, tokens int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts, len(r.tokens)
}

// wait returns the next logout token, or fails after a while.
func (r *logoutReceiver) wait(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-r.got:
		return tok
	case <-time.After(15 * time.Second):
		require.FailNow(t, "no logout token arrived")
		return ""
	}
}

// registerBCL registers a client whose backchannel_logout_uri is logoutURI.
func registerBCL(t *testing.T, base, redirectURI, logoutURI string) (id, secret string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"client_name": "Back-channel RP", "redirect_uris": []string{redirectURI},
		"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "openid profile email",
		"backchannel_logout_uri": logoutURI, "backchannel_logout_session_required": true,
	})
	require.NoError(t, err)
	resp, err := http.Post(base+"/api/v1/oidc/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "registration: %s", raw)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	require.NoError(t, json.Unmarshal(raw, &reg))
	return reg.ClientID, reg.ClientSecret
}

// idClaims reads an ID token's claims without checking it (the provider's
// own token, read by the test).
func idClaims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, _, err := jwt.NewParser().ParseUnverified(token, claims)
	require.NoError(t, err)
	return claims
}

// verifyLogoutToken checks a logout token as an RP must (OIDC Back-Channel
// Logout 1.0 §2.6), with the provider's JWKS fetched by keyfunc.
func verifyLogoutToken(t *testing.T, base, clientID, raw string, id jwt.MapClaims) {
	t.Helper()
	kf, err := keyfunc.NewDefaultCtx(t.Context(), []string{base + "/api/v1/oidc/jwks"})
	require.NoError(t, err)
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, kf.Keyfunc,
		jwt.WithIssuer(base), jwt.WithAudience(clientID), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
		jwt.WithValidMethods([]string{"RS256", "ES256", "PS256", "EdDSA"}))
	require.NoError(t, err, "the signature verifies against the JWKS; iss, aud, iat and exp hold (§2.6 items 2-4)")
	assert.Equal(t, "logout+jwt", tok.Header["typ"], "explicit typing (§2.4)")
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	assert.InDelta(t, float64(time.Now().Unix()), iat, 30)
	assert.LessOrEqual(t, exp-iat, float64(2*60), "a short life")
	assert.NotEmpty(t, claims["jti"], "§2.4: jti")
	assert.Equal(t, map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}, claims["events"], "§2.4: events")
	assert.Equal(t, id["sid"], claims["sid"], "the sid of the session the ID token came from")
	assert.Equal(t, id["sub"], claims["sub"])
	assert.NotContains(t, claims, "nonce", "§2.4: no nonce")
}

// endSession signs out at the end-session endpoint with the ID token as the
// hint, as an RP's logout button would; the browser flow is as before.
func endSession(t *testing.T, base, idToken string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/api/v1/oidc/end-session?" + url.Values{"id_token_hint": {idToken}}.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the signed-out page: %s", body)
}

func suspendUser(t *testing.T, base, userID string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/admin/users/"+userID+"/suspend", strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+seedAdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "suspend: %s", body)
}

func TestBackchannelLogout(t *testing.T) {
	t.Parallel()
	runBackchannelLogout(t, fastWebhooks)
}

func TestBackchannelLogoutPostgres(t *testing.T) {
	t.Parallel()
	runBackchannelLogout(t, withFastWebhooks(usePostgres(postgresDSN(t), newKEK())))
}

func runBackchannelLogout(t *testing.T, edit func(*config.Config)) {
	srv := startServer(t, edit)
	base := srv.BaseURL
	ctx := context.Background()

	t.Run("end-session tells the client that got tokens, after a failed first post, and not one that got none", func(t *testing.T) {
		rp, idle := newLogoutReceiver(t, 1), newLogoutReceiver(t, 0)
		cb := newCodeCatcher(t)
		id, secret := registerBCL(t, base, cb.URL+"/cb", rp.URL+"/logout")
		registerBCL(t, base, cb.URL+"/cb", idle.URL+"/logout")
		tokens := signInForTokens(t, ctx, base, id, secret, cb)
		claims := idClaims(t, tokens.IDToken)
		require.NotEmpty(t, claims["sid"])

		endSession(t, base, tokens.IDToken)
		raw := rp.wait(t)
		verifyLogoutToken(t, base, id, raw, claims)
		posts, got := rp.count()
		assert.Equal(t, 2, posts, "the first post failed (500) and was retried")
		assert.Equal(t, 1, got)
		time.Sleep(500 * time.Millisecond) // a wrong delivery would have come by now
		posts, _ = idle.count()
		assert.Zero(t, posts, "a client that got no tokens in the session is told nothing")
	})

	t.Run("suspending the user through the directory API tells the client", func(t *testing.T) {
		rp := newLogoutReceiver(t, 0)
		cb := newCodeCatcher(t)
		id, secret := registerBCL(t, base, cb.URL+"/cb", rp.URL+"/logout")
		tokens := signInForTokens(t, ctx, base, id, secret, cb)
		claims := idClaims(t, tokens.IDToken)
		sub, _ := claims["sub"].(string)
		require.NotEmpty(t, sub)

		suspendUser(t, base, sub)
		verifyLogoutToken(t, base, id, rp.wait(t), claims)
	})
}

func TestBackchannelLogoutMongo(t *testing.T) {
	t.Parallel()
	uri, database := mongoURI(t)
	runBackchannelLogout(t, withFastWebhooks(useMongo(uri, database, newKEK())))
}
