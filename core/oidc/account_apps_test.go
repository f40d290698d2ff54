package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// appsWorld is a provider over memory stores, with a clock the test moves,
// whose sessions, grants and events the test reads.
type appsWorld struct {
	p        *oidc.Provider
	users    *memory.UserStore
	clients  *memory.ClientStore
	sessions *memory.SessionStore
	grants   *memory.GrantStore
	events   *memory.EventLog
	clock    *testsuite.FakeClock
	browsers int
}

const (
	appsRedirect = "https://app.example/cb"
	appsPassword = "a good password"
	appsVerifier = "apps-verifier-apps-verifier-apps-verifier-01234"
)

// Two users: the holder, whose account page it is, and a bystander.
var (
	holder    = appsUser{ID: "0b0f5d5e-0000-4000-8000-0000000000a1", Email: "holder@example.com"}
	bystander = appsUser{ID: "0b0f5d5e-0000-4000-8000-0000000000a2", Email: "bystander@example.com"}
)

type appsUser struct{ ID, Email string }

func newAppsWorld(t *testing.T) *appsWorld {
	t.Helper()
	w := &appsWorld{
		users: memory.NewUserStore(), clients: memory.NewClientStore(), sessions: memory.NewSessionStore(),
		grants: memory.NewGrantStore(), events: memory.NewEventLog(),
		clock: testsuite.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)),
	}
	w.p = newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) {
		d.Users, d.Clients, d.Sessions, d.Grants, d.Events, d.Clock = w.users, w.clients, w.sessions, w.grants, w.events, w.clock
	})
	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	for _, u := range []appsUser{holder, bystander} {
		require.NoError(t, w.users.CreateUser(context.Background(), domain.User{
			ID: u.ID, Email: u.Email, Status: domain.UserActive,
			PasswordHash: domain.HashPassword(appsPassword, []byte("0123456789abcdef"), params),
		}))
	}
	return w
}

// app registers a client named name; with refresh it may use the
// refresh_token grant, and with logout it is registered for back-channel
// logout.
func (w *appsWorld) app(t *testing.T, name string, refresh, logout bool) oidc.ClientCredentials {
	t.Helper()
	md := oidc.ClientMetadata{
		ClientName: name, RedirectURIs: []string{appsRedirect}, GrantTypes: []string{"authorization_code"},
		Scope: "openid email", ClientURI: "https://" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example",
	}
	if refresh {
		md.GrantTypes = append(md.GrantTypes, "refresh_token")
	}
	if logout {
		md.BackchannelLogoutURI = "https://app.example/logout"
	}
	reg, err := w.p.Register(context.Background(), md)
	require.NoError(t, err)
	return oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret}
}

// browser is a new browser, not signed in.
func (w *appsWorld) browser() *oidc.Browser {
	w.browsers++
	return &oidc.Browser{Binding: fmt.Sprintf("binding-%02d-binding-binding-binding-binding", w.browsers), IP: "127.0.0.1"}
}

// tokens runs the code flow for cc in b as u, signing in and consenting
// when asked, and redeems the code.
func (w *appsWorld) tokens(t *testing.T, b *oidc.Browser, u appsUser, cc oidc.ClientCredentials) oidc.TokenResponse {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(appsVerifier))
	out, err := w.p.Authorize(ctx, oidc.AuthorizeParams{
		ClientID: cc.ClientID, RedirectURI: appsRedirect, ResponseType: "code", Scope: "openid email",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
	}, *b)
	require.NoError(t, err)
	if out.Step == oidc.StepLogin {
		pr, _, err := w.p.LoginPrompt(ctx, out.Interaction, *b)
		require.NoError(t, err)
		out, err = w.p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: u.Email, Password: appsPassword}, *b)
		require.NoError(t, err)
		require.NotNil(t, out.Session, "%+v", out)
		b.SessionCookie = out.Session.Cookie
	}
	if out.Step == oidc.StepConsent {
		pr, _, err := w.p.ConsentPrompt(ctx, out.Interaction, *b)
		require.NoError(t, err)
		out, err = w.p.Consent(ctx, oidc.ConsentInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Allow: true}, *b)
		require.NoError(t, err)
	}
	u2, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	code := u2.Query().Get("code")
	require.NotEmpty(t, code, "redirect: %s", out.RedirectTo)
	resp, err := w.p.Token(ctx, oidc.TokenRequest{GrantType: "authorization_code", Code: code, RedirectURI: appsRedirect, CodeVerifier: appsVerifier, Client: cc})
	require.NoError(t, err)
	return resp
}

func (w *appsWorld) active(t *testing.T, cc oidc.ClientCredentials, token string) bool {
	t.Helper()
	in, err := w.p.Introspect(context.Background(), cc, token, "")
	require.NoError(t, err)
	return in.Active
}

func (w *appsWorld) refresh(cc oidc.ClientCredentials, token string) error {
	_, err := w.p.Token(context.Background(), oidc.TokenRequest{GrantType: "refresh_token", RefreshToken: token, Client: cc})
	return err
}

func (w *appsWorld) userinfo(token string) error {
	_, err := w.p.UserInfo(context.Background(), oidc.ResourceRequest{Scheme: oidc.SchemeBearer, Token: token, Method: "GET"})
	return err
}

func (w *appsWorld) logoutSIDs(t *testing.T) []string {
	t.Helper()
	var sids []string
	for _, e := range w.events.Events() {
		if e.Type == domain.EventBackchannelLogout {
			for _, n := range domain.LogoutNotices(e) {
				sids = append(sids, n.SID)
			}
		}
	}
	return sids
}

func TestAccountSessionsListNewestFirstAndMarkThisBrowser(t *testing.T) {
	w := newAppsWorld(t)
	told := w.app(t, "Gradebook", false, true)
	untold := w.app(t, "Library", false, false)
	first, second, third := w.browser(), w.browser(), w.browser()
	w.tokens(t, first, holder, told)
	w.clock.Advance(time.Minute)
	w.tokens(t, second, holder, untold)
	w.clock.Advance(time.Minute)
	w.tokens(t, third, holder, told)
	w.tokens(t, w.browser(), bystander, told)

	got, err := w.p.AccountSessions(context.Background(), *second)
	require.NoError(t, err)
	require.Len(t, got, 3, "the holder's three sessions, and not the bystander's")
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for i, want := range []struct {
		at      time.Time
		apps    []string
		current bool
	}{
		{start.Add(2 * time.Minute), []string{"Gradebook"}, false},
		{start.Add(time.Minute), nil, true},
		{start, []string{"Gradebook"}, false},
	} {
		assert.True(t, want.at.Equal(got[i].AuthTime), "session %d signed in at %v, want %v", i, got[i].AuthTime, want.at)
		assert.Equal(t, want.apps, got[i].Apps, "session %d: only apps registered for back-channel logout are recorded", i)
		assert.Equal(t, want.current, got[i].Current, "session %d", i)
		assert.Equal(t, []string{"pwd"}, got[i].AMR)
		assert.NotEmpty(t, got[i].SID)
	}

	_, err = w.p.AccountSessions(context.Background(), *w.browser())
	assert.ErrorIs(t, err, oidc.ErrNotSignedIn, "a browser without a session lists nothing")
}

func TestEndOtherSessionsLeavesOnlyThisBrowsersAndTellsTheEndedOnesApps(t *testing.T) {
	w := newAppsWorld(t)
	told := w.app(t, "Gradebook", true, true)
	ctx := context.Background()
	keep, other1, other2 := w.browser(), w.browser(), w.browser()
	w.tokens(t, keep, holder, told)
	t1 := w.tokens(t, other1, holder, told)
	w.tokens(t, other2, holder, told)
	byBystander := w.browser()
	w.tokens(t, byBystander, bystander, told)
	sids := map[*oidc.Browser]string{}
	all, err := w.p.AccountSessions(ctx, *keep)
	require.NoError(t, err)
	for _, b := range []*oidc.Browser{keep, other1, other2} {
		s, _, err := w.p.AccountSession(ctx, *b)
		require.NoError(t, err)
		sids[b] = s.SID
	}
	require.Len(t, all, 3)

	n, err := w.p.EndOtherSessions(ctx, *keep)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	left, err := w.p.AccountSessions(ctx, *keep)
	require.NoError(t, err)
	require.Len(t, left, 1, "only this browser's session is left")
	assert.Equal(t, sids[keep], left[0].SID)
	assert.True(t, left[0].Current)
	for _, b := range []*oidc.Browser{other1, other2} {
		_, err := w.p.AccountSessions(ctx, *b)
		assert.ErrorIs(t, err, oidc.ErrNotSignedIn, "the other browsers are signed out")
	}
	assert.ElementsMatch(t, []string{sids[other1], sids[other2]}, w.logoutSIDs(t),
		"a back-channel logout for each ended session, none for this one")
	requireOAuthCode(t, oidc.CodeInvalidGrant, w.refresh(told, t1.RefreshToken))

	_, err = w.p.AccountSessions(ctx, *byBystander)
	assert.NoError(t, err, "another user's session is left alone")

	n, err = w.p.EndOtherSessions(ctx, *keep)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing else to end")
	_, err = w.p.EndOtherSessions(ctx, *w.browser())
	assert.ErrorIs(t, err, oidc.ErrNotSignedIn)
}

func TestEndOtherSessionsEndsMoreThanOneListing(t *testing.T) {
	w := newAppsWorld(t)
	ctx := context.Background()
	keep := w.browser()
	w.tokens(t, keep, holder, w.app(t, "Gradebook", false, false))
	now := w.clock.Now()
	extra := ports.MaxUserSessions + 50
	for i := range extra {
		// Newer than this browser's, so that it is not in the first listing.
		at := now.Add(time.Duration(i+1) * time.Second)
		require.NoError(t, w.sessions.CreateSession(ctx, domain.Session{
			Hash: domain.HashToken(fmt.Sprintf("cookie-%d", i)), SID: fmt.Sprintf("sid-%03d", i), UserID: holder.ID,
			AuthTime: at, CreatedAt: at, LastSeen: at, ExpiresAt: now.Add(time.Hour),
		}))
	}
	w.clock.Advance(time.Duration(extra+1) * time.Second)

	n, err := w.p.EndOtherSessions(ctx, *keep)
	require.NoError(t, err)
	assert.Equal(t, extra, n)
	left, err := w.sessions.ListUserSessions(ctx, holder.ID, w.clock.Now())
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Empty(t, w.logoutSIDs(t), "sessions no app got tokens in tell nobody")
}

func TestRevokeAppRevokesItsTokensAtOnceAndNothingElse(t *testing.T) {
	w := newAppsWorld(t)
	ctx := context.Background()
	gradebook := w.app(t, "Gradebook", true, false)
	library := w.app(t, "Library", true, false)
	b := w.browser()
	mine := w.tokens(t, b, holder, gradebook)
	w.clock.Advance(2 * time.Minute)
	refreshed, err := w.p.Token(ctx, oidc.TokenRequest{GrantType: "refresh_token", RefreshToken: mine.RefreshToken, Client: gradebook})
	require.NoError(t, err)
	again := w.tokens(t, b, holder, gradebook) // a second grant, in the same session
	otherApp := w.tokens(t, b, holder, library)
	theirs := w.tokens(t, w.browser(), bystander, gradebook)

	require.NoError(t, w.p.RevokeApp(ctx, *b, gradebook.ClientID))

	_, err = w.grants.GetConsent(ctx, holder.ID, gradebook.ClientID)
	assert.ErrorIs(t, err, domain.ErrNotFound, "the consent is gone: the app asks again")
	for name, tok := range map[string]oidc.TokenResponse{"first grant": mine, "after a refresh": refreshed, "second grant": again} {
		assert.False(t, w.active(t, gradebook, tok.AccessToken), "%s: the access token is inactive at once", name)
		requireOAuthCode(t, oidc.CodeInvalidToken, w.userinfo(tok.AccessToken))
		requireOAuthCode(t, oidc.CodeInvalidGrant, w.refresh(gradebook, tok.RefreshToken))
	}

	assert.True(t, w.active(t, library, otherApp.AccessToken), "another app's token is untouched")
	assert.NoError(t, w.refresh(library, otherApp.RefreshToken))
	_, err = w.grants.GetConsent(ctx, holder.ID, library.ClientID)
	assert.NoError(t, err, "another app's consent is untouched")
	assert.True(t, w.active(t, gradebook, theirs.AccessToken), "another user's token for the app is untouched")
	_, err = w.grants.GetConsent(ctx, bystander.ID, gradebook.ClientID)
	assert.NoError(t, err, "another user's consent for the app is untouched")
	_, err = w.p.AccountSessions(ctx, *b)
	assert.NoError(t, err, "revoking an app ends no session")

	w.clock.Advance(time.Minute)
	back := w.tokens(t, b, holder, gradebook)
	assert.True(t, w.active(t, gradebook, back.AccessToken), "consenting again gives the app working tokens")
}

// An app not registered for refresh_token has no refresh family to
// revoke: its grant is recorded anyway, so its access token dies too.
func TestRevokeAppRevokesTheAccessTokenOfAnAppWithoutRefreshTokens(t *testing.T) {
	w := newAppsWorld(t)
	ctx := context.Background()
	app := w.app(t, "Gradebook", false, false)
	b := w.browser()
	tok := w.tokens(t, b, holder, app)
	require.Empty(t, tok.RefreshToken)
	require.True(t, w.active(t, app, tok.AccessToken))

	require.NoError(t, w.p.RevokeApp(ctx, *b, app.ClientID))
	assert.False(t, w.active(t, app, tok.AccessToken))
	requireOAuthCode(t, oidc.CodeInvalidToken, w.userinfo(tok.AccessToken))
}

func TestRevokeAppRefusesAnAppTheUserNeverConsentedTo(t *testing.T) {
	w := newAppsWorld(t)
	ctx := context.Background()
	mine := w.app(t, "Gradebook", true, false)
	theirsOnly := w.app(t, "Library", true, false)
	b := w.browser()
	w.tokens(t, b, holder, mine)
	theirs := w.tokens(t, w.browser(), bystander, theirsOnly)

	for name, id := range map[string]string{
		"another user's app": theirsOnly.ClientID, "an unknown client": "cca_unknown",
		"no client": "", "a very long id": strings.Repeat("x", 5000),
	} {
		err := w.p.RevokeApp(ctx, *b, id)
		assert.ErrorIs(t, err, oidc.ErrAppNotConnected, name)
	}
	_, err := w.grants.GetConsent(ctx, bystander.ID, theirsOnly.ClientID)
	assert.NoError(t, err, "the other user's consent is untouched")
	assert.True(t, w.active(t, theirsOnly, theirs.AccessToken))
	_, err = w.grants.GetConsent(ctx, holder.ID, mine.ClientID)
	assert.NoError(t, err, "the user's own consent is untouched")

	require.NoError(t, w.p.RevokeApp(ctx, *b, mine.ClientID))
	assert.ErrorIs(t, w.p.RevokeApp(ctx, *b, mine.ClientID), oidc.ErrAppNotConnected, "revoking twice")
	assert.ErrorIs(t, w.p.RevokeApp(ctx, *w.browser(), theirsOnly.ClientID), oidc.ErrNotSignedIn)
}

func TestAccountAppsListsConsentsByNameWithTheirScopes(t *testing.T) {
	w := newAppsWorld(t)
	ctx := context.Background()
	b := w.browser()
	zoo, art := w.app(t, "zoo Tracker", false, false), w.app(t, "Art Room", false, false)
	gone := w.app(t, "Gone", false, false)
	for _, cc := range []oidc.ClientCredentials{zoo, art, gone} {
		w.tokens(t, b, holder, cc)
	}
	w.tokens(t, w.browser(), bystander, w.app(t, "Theirs", false, false))
	require.NoError(t, w.clients.DeleteClient(ctx, gone.ClientID))

	got, err := w.p.AccountApps(ctx, *b)
	require.NoError(t, err)
	require.Len(t, got, 2, "a deleted app is left out, and so are other users' apps")
	assert.Equal(t, "Art Room", got[0].Name)
	assert.Equal(t, "zoo Tracker", got[1].Name, "by name, whatever the case")
	assert.Equal(t, art.ClientID, got[0].ClientID)
	assert.Equal(t, "https://artroom.example", got[0].ClientURI)
	assert.Equal(t, []oidc.ScopeView{
		{Name: "openid", Description: domain.ScopeDescriptions["openid"]},
		{Name: "email", Description: domain.ScopeDescriptions["email"]},
	}, got[0].Scopes)
	assert.True(t, w.clock.Now().Equal(got[0].GrantedAt))

	_, err = w.p.AccountApps(ctx, *w.browser())
	assert.ErrorIs(t, err, oidc.ErrNotSignedIn)
}
