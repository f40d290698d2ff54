package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// bclWorld is a provider over memory stores whose event log and sessions
// the test reads.
type bclWorld struct {
	p        *oidc.Provider
	users    *memory.UserStore
	events   *memory.EventLog
	sessions *memory.SessionStore
	browser  oidc.Browser
}

func newBCLWorld(t *testing.T) *bclWorld {
	w := &bclWorld{users: memory.NewUserStore(), events: memory.NewEventLog(), sessions: memory.NewSessionStore()}
	w.p = newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) {
		d.Users, d.Events, d.Sessions = w.users, w.events, w.sessions
	})
	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	require.NoError(t, w.users.CreateUser(context.Background(), domain.User{
		ID: "0b0f5d5e-0000-4000-8000-0000000000bc", Email: "bcl@example.com", Status: domain.UserActive,
		PasswordHash: domain.HashPassword("a good password", []byte("0123456789abcdef"), params),
	}))
	w.browser = oidc.Browser{Binding: "binding-binding-binding-binding-binding", IP: "127.0.0.1"}
	return w
}

const bclUser = "0b0f5d5e-0000-4000-8000-0000000000bc"

// client registers a client; logoutURI, when set, is its
// backchannel_logout_uri.
func (w *bclWorld) client(t *testing.T, logoutURI string, sessionRequired bool) oidc.ClientCredentials {
	reg, err := w.p.Register(context.Background(), oidc.ClientMetadata{
		RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Scope: "openid email", BackchannelLogoutURI: logoutURI, BackchannelLogoutSessionRequired: sessionRequired,
	})
	require.NoError(t, err)
	return oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret}
}

// code runs the browser flow for cc in the world's browser, signing in
// when it has no session yet, and returns the code and its verifier.
func (w *bclWorld) code(t *testing.T, cc oidc.ClientCredentials) (string, string) {
	ctx := context.Background()
	verifier := "bcl-verifier-bcl-verifier-bcl-verifier-0123456"
	sum := sha256.Sum256([]byte(verifier))
	out, err := w.p.Authorize(ctx, oidc.AuthorizeParams{
		ClientID: cc.ClientID, RedirectURI: "https://app.example/cb", ResponseType: "code", Scope: "openid email",
		Nonce: "n-0S6_WzA2Mj", CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
	}, w.browser)
	require.NoError(t, err)
	if out.Step == oidc.StepLogin {
		pr, _, err := w.p.LoginPrompt(ctx, out.Interaction, w.browser)
		require.NoError(t, err)
		out, err = w.p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: "bcl@example.com", Password: "a good password"}, w.browser)
		require.NoError(t, err)
		require.NotNil(t, out.Session)
		w.browser.SessionCookie = out.Session.Cookie
	}
	if out.Step == oidc.StepConsent {
		pr, _, err := w.p.ConsentPrompt(ctx, out.Interaction, w.browser)
		require.NoError(t, err)
		out, err = w.p.Consent(ctx, oidc.ConsentInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Allow: true}, w.browser)
		require.NoError(t, err)
	}
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	require.NotEmpty(t, u.Query().Get("code"), "redirect: %s", out.RedirectTo)
	return u.Query().Get("code"), verifier
}

// tokens signs in for cc and exchanges the code.
func (w *bclWorld) tokens(t *testing.T, cc oidc.ClientCredentials) oidc.TokenResponse {
	code, verifier := w.code(t, cc)
	resp, err := w.p.Token(context.Background(), oidc.TokenRequest{
		GrantType: "authorization_code", Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc,
	})
	require.NoError(t, err)
	return resp
}

func (w *bclWorld) logoutEvents(t *testing.T) []domain.Event {
	var out []domain.Event
	for _, e := range w.events.Events() {
		if e.Type == domain.EventBackchannelLogout {
			out = append(out, e)
		}
	}
	return out
}

func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestBackchannelLogoutTellsOnlyTheClientsThatGotTokensInTheSession(t *testing.T) {
	w := newBCLWorld(t)
	withTokens := w.client(t, "https://rp-a.example/logout", true)
	codeOnly := w.client(t, "https://rp-b.example/logout", false)
	unregistered := w.client(t, "", false)

	idToken := w.tokens(t, withTokens).IDToken
	w.code(t, codeOnly) // authorized in the session, but never redeemed the code
	w.tokens(t, unregistered)
	sid, _ := jwtPart(t, idToken, 1)["sid"].(string)
	require.NotEmpty(t, sid)

	out, err := w.p.EndSession(context.Background(), oidc.EndSessionParams{IDTokenHint: idToken}, w.browser, false, "")
	require.NoError(t, err)
	assert.True(t, out.SignedOut, "the browser flow is unchanged: the signed-out page")

	events := w.logoutEvents(t)
	require.Len(t, events, 1, "one event for the one ended session")
	notices := domain.LogoutNotices(events[0])
	assert.Equal(t, []domain.LogoutNotice{{ClientID: withTokens.ClientID, Subject: bclUser, SID: sid}}, notices,
		"only the registered client that was issued tokens is told")
}

func TestBackchannelLogoutOnANewLoginInTheSameBrowser(t *testing.T) {
	w := newBCLWorld(t)
	rp := w.client(t, "https://rp-a.example/logout", false)
	w.tokens(t, rp)
	// The app asks for a fresh login: the new sign-in ends the old session.
	out, err := w.p.Authorize(context.Background(), oidc.AuthorizeParams{
		ClientID: rp.ClientID, RedirectURI: "https://app.example/cb", ResponseType: "code", Scope: "openid email",
		Prompt: "login", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
	}, w.browser)
	require.NoError(t, err)
	require.Equal(t, oidc.StepLogin, out.Step)
	pr, _, err := w.p.LoginPrompt(context.Background(), out.Interaction, w.browser)
	require.NoError(t, err)
	_, err = w.p.Login(context.Background(), oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: "bcl@example.com", Password: "a good password"}, w.browser)
	require.NoError(t, err)
	require.Len(t, w.logoutEvents(t), 1, "the replaced session's client is told")
}

func TestBackchannelAClientWithoutALogoutURIIsNotRecorded(t *testing.T) {
	w := newBCLWorld(t)
	rp := w.client(t, "", false)
	resp := w.tokens(t, rp)
	sid, _ := jwtPart(t, resp.IDToken, 1)["sid"].(string)
	sess, err := w.sessions.GetSessionBySID(context.Background(), sid, time.Now())
	require.NoError(t, err)
	assert.Empty(t, sess.ClientIDs, "a client with no backchannel_logout_uri is not recorded")
}

func TestLogoutTokenClaims(t *testing.T) {
	w := newBCLWorld(t)
	rp := w.client(t, "https://rp-a.example/logout", true)
	tok, err := w.p.LogoutToken(context.Background(), domain.LogoutNotice{ClientID: rp.ClientID, Subject: bclUser, SID: "sid-1"})
	require.NoError(t, err)

	h := jwtPart(t, tok, 0)
	assert.Equal(t, "logout+jwt", h["typ"], "explicit typing (§2.4)")
	assert.Equal(t, "RS256", h["alg"], "signed as ID tokens are")
	assert.NotEmpty(t, h["kid"])

	c := jwtPart(t, tok, 1)
	assert.Equal(t, "https://auth.calimatic.test", c["iss"])
	assert.Equal(t, rp.ClientID, c["aud"])
	assert.Equal(t, bclUser, c["sub"])
	assert.Equal(t, "sid-1", c["sid"], "sid always, as session-required clients need (§2.2)")
	assert.NotEmpty(t, c["jti"])
	iat, exp := c["iat"].(float64), c["exp"].(float64)
	assert.InDelta(t, time.Now().Unix(), iat, 5)
	assert.Equal(t, float64(oidc.LogoutTokenTTL/time.Second), exp-iat, "a short life")
	assert.Equal(t, map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}, c["events"])
	assert.NotContains(t, c, "nonce", "§2.4: a logout token must not carry a nonce")

	again, err := w.p.LogoutToken(context.Background(), domain.LogoutNotice{ClientID: rp.ClientID, Subject: bclUser, SID: "sid-1"})
	require.NoError(t, err)
	assert.NotEqual(t, c["jti"], jwtPart(t, again, 1)["jti"], "each token has its own jti")
}
