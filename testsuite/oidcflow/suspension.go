package oidcflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var suspensionChecks = []check{
	{"a suspended user cannot sign in and their tokens and session stop working", suspendedUser},
}

func suspendedUser(t *testing.T, s *suite) {
	if s.env.SuspendUser == nil || s.env.ReactivateUser == nil {
		t.Skip("Env.SuspendUser and Env.ReactivateUser are not set")
	}
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	require.Equal(t, http.StatusOK, s.userinfo(t, tok.AccessToken).Status)

	s.env.SuspendUser(t, s.env.Email)
	suspended := true
	t.Cleanup(func() {
		if suspended {
			s.env.ReactivateUser(t, s.env.Email)
		}
	})

	t.Run("the password no longer signs in", func(t *testing.T) {
		b := s.newAgent(t)
		l := b.get(t, s.newAuthRequest(c).URL())
		require.True(t, l.isLogin(t))
		l = b.login(t, l, s.env.Email, s.env.Password)
		assert.Nil(t, l.Left, "no code for a suspended user")
		assert.True(t, l.isLogin(t), "the login form is shown again; got %d %q", l.Status, l.Text())
		assert.Contains(t, l.Text(), "not active")
	})
	t.Run("the browser session no longer signs in", func(t *testing.T) {
		l := a.get(t, s.newAuthRequest(c).URL())
		assert.Nil(t, l.Left, "the session of a suspended user does not return a code")
		assert.True(t, l.isLogin(t), "it asks to sign in again; got %d %q", l.Status, l.Text())
	})
	t.Run("userinfo refuses the access token", func(t *testing.T) {
		requireInvalidToken(t, s.userinfo(t, tok.AccessToken))
	})
	t.Run("introspection reports the tokens inactive", func(t *testing.T) {
		s.requireInactive(t, c, tok.AccessToken, "a suspended user's access token")
		s.requireInactive(t, c, tok.RefreshToken, "a suspended user's refresh token")
	})
	t.Run("the refresh token is invalid_grant", func(t *testing.T) {
		_, err := s.refresh(t, c, tok.RefreshToken)
		requireGrantError(t, err, "invalid_grant")
	})

	s.env.ReactivateUser(t, s.env.Email)
	suspended = false
	t.Run("after reactivation the user signs in again", func(t *testing.T) {
		s.signInTokens(t, s.newAgent(t), s.newAuthRequest(c))
	})
}
