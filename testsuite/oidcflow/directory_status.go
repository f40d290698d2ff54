package oidcflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var statusChecks = []dirCheck{
	{"suspending a user through the management API stops them at once, and reactivating restores them", statusChange("suspend", "suspended")},
	{"deactivating a user through the management API stops them at once, and reactivating restores them", statusChange("deactivate", "deactivated")},
	{"deleting a user through the management API stops their sign-in and kills their tokens", deletedUser},
}

var clientPolicyChecks = []dirCheck{
	{"a client that requires a license admits only users who hold it", licensePolicy},
	{"a first-party client skips the consent screen", firstPartyClient},
}

// signedInMember is an active user signed in to a new client: their
// browser, and the tokens the client got.
func signedInMember(t *testing.T, d *directory) (*member, *client, *agent, tokens) {
	t.Helper()
	m := d.activeMember(t)
	ms := d.s.as(m)
	c := d.register(t)
	a := ms.newAgent(t)
	tok := ms.signInTokens(t, a, ms.newAuthRequest(c))
	require.Equal(t, http.StatusOK, d.s.userinfo(t, tok.AccessToken).Status, "the access token works before the change")
	return m, c, a, tok
}

// requireStopped checks that a user whose status changed can no longer use
// their session, password or tokens; refusal is the login page's message.
func requireStopped(t *testing.T, s *suite, m *member, c *client, a *agent, tok tokens, refusal string) {
	t.Run("the browser session and the password no longer sign in", func(t *testing.T) {
		l := a.get(t, s.newAuthRequest(c).URL())
		require.Nil(t, l.Left, "no code for the user's old session")
		require.True(t, l.isLogin(t), "the old session asks to sign in again; got %d %q", l.Status, l.Text())
		l = a.login(t, l, m.Email, m.Password)
		assert.Nil(t, l.Left, "no code for the password")
		assert.True(t, l.isLogin(t), "the login form again; got %d %q", l.Status, l.Text())
		assert.Contains(t, l.Text(), refusal)
	})
	t.Run("the refresh token is invalid_grant", func(t *testing.T) {
		_, err := s.refresh(t, c, tok.RefreshToken)
		requireGrantError(t, err, "invalid_grant")
	})
	t.Run("introspection reports the tokens inactive", func(t *testing.T) {
		s.requireInactive(t, c, tok.AccessToken, "the access token")
		s.requireInactive(t, c, tok.RefreshToken, "the refresh token")
	})
	t.Run("userinfo refuses the access token", func(t *testing.T) {
		requireInvalidToken(t, s.userinfo(t, tok.AccessToken))
	})
}

// statusChange runs a lifecycle action (POST /api/v1/users/{id}/<action>)
// and then reactivates.
func statusChange(action, status string) func(t *testing.T, d *directory) {
	return func(t *testing.T, d *directory) {
		s := d.s
		m, c, a, tok := signedInMember(t, d)
		user := d.manage(t, http.MethodPost, pathUsers+"/"+m.ID+"/"+action, nil, http.StatusOK).JSON(t)
		require.Equal(t, status, user["status"])

		requireStopped(t, s, m, c, a, tok, "not active")

		user = d.manage(t, http.MethodPost, pathUsers+"/"+m.ID+"/reactivate", nil, http.StatusOK).JSON(t)
		require.Equal(t, "active", user["status"])
		t.Run("after reactivation the password signs in again", func(t *testing.T) {
			ms := s.as(m)
			ms.signInTokens(t, ms.newAgent(t), ms.newAuthRequest(c))
		})
	}
}

func deletedUser(t *testing.T, d *directory) {
	s := d.s
	m, c, a, tok := signedInMember(t, d)
	d.manage(t, http.MethodDelete, pathUsers+"/"+m.ID, nil, http.StatusNoContent)
	// A deleted account is unknown: the login page says what it says for
	// any wrong email or password.
	requireStopped(t, s, m, c, a, tok, "incorrect")
	t.Run("the management API no longer finds the user", func(t *testing.T) {
		d.manage(t, http.MethodGet, pathUsers+"/"+m.ID, nil, http.StatusNotFound)
	})
}

func licensePolicy(t *testing.T, d *directory) {
	s := d.s
	m := d.activeMember(t)
	ms := s.as(m)
	c := d.register(t)
	settings := d.settings(t, c, map[string]any{"licenseRequired": true})
	require.Equal(t, true, settings["licenseRequired"])
	a := ms.newAgent(t)
	license := pathAdminClients + "/" + c.ID + "/licenses/" + m.ID

	t.Run("a user without the license gets access_denied at the redirect URI", func(t *testing.T) {
		r := ms.newAuthRequest(c)
		j := a.signIn(t, r)
		assert.True(t, j.SawLogin, "the user signed in first")
		assert.Equal(t, "access_denied", j.Callback.Get("error"), "%s", j.Callback.Get("error_description"))
		assert.Equal(t, r.State, j.Callback.Get("state"))
		assert.Empty(t, j.Callback.Get("code"))
	})
	d.admin(t, http.MethodPut, license, nil, http.StatusCreated)
	var tok tokens
	t.Run("with the license the same flow yields a code", func(t *testing.T) {
		tok = ms.signInTokens(t, a, ms.newAuthRequest(c))
	})
	require.NotNil(t, tok.Token)
	t.Run("the refresh token works while the license is held", func(t *testing.T) {
		next, err := s.refresh(t, c, tok.RefreshToken)
		require.NoError(t, err)
		tok.Token = next
	})
	d.admin(t, http.MethodDelete, license, nil, http.StatusNoContent)
	t.Run("after the license is revoked the client's refresh is invalid_grant", func(t *testing.T) {
		_, err := s.refresh(t, c, tok.RefreshToken)
		requireGrantError(t, err, "invalid_grant")
	})
}

func firstPartyClient(t *testing.T, d *directory) {
	s := d.s
	m := d.activeMember(t)
	ms := s.as(m)
	first := d.register(t)
	settings := d.settings(t, first, map[string]any{"firstParty": true})
	require.Equal(t, true, settings["firstParty"])
	a := ms.newAgent(t)

	t.Run("signing in to a first-party client shows no consent screen", func(t *testing.T) {
		r := ms.newAuthRequest(first)
		j := a.signIn(t, r)
		assert.True(t, j.SawLogin)
		assert.False(t, j.SawConsent, "no consent for a first-party client")
		tok, err := s.exchange(t, r, s.code(t, r, j))
		require.NoError(t, err)
		s.verifyTokens(t, r, tok)
	})
	t.Run("the same user is asked to consent to a client that is not first-party", func(t *testing.T) {
		j := a.signIn(t, ms.newAuthRequest(d.register(t)))
		assert.True(t, j.SawConsent, "an ordinary client asks for consent")
	})
}
