package oidcflow

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var invitationChecks = []dirCheck{
	{"an invited user chooses a password through the emailed link and signs in with it", invitation},
}

var resetChecks = []dirCheck{
	{"a forgotten password is reset through the emailed link, which ends the user's earlier sign-ins", forgotAndReset},
	{"the management API's reset-password mails a working reset link", managedReset},
}

var accountFormChecks = []dirCheck{
	{"the account forms refuse a post without their csrf_token or with another browser's, and change nothing", accountFormsCSRF},
}

// passwordFill fills the password form.
func passwordFill(pw, again string) map[string]string {
	return map[string]string{"New password": pw, "Repeat the password": again}
}

// passwordForm requires the page to be the password form with its button.
func passwordForm(t *testing.T, l *landing, button string) *form {
	t.Helper()
	f := l.formWith(t, passwordLabels, []string{button})
	require.NotNil(t, f, "expected the password form with inputs %q and a %q button; got %d %q", passwordLabels, button, l.Status, l.Text())
	return f
}

func invitation(t *testing.T, d *directory) {
	s := d.s
	m := d.provision(t)
	link := d.nextLink(t, m, pathInvite)
	a := s.newAgent(t)
	l := a.get(t, link)

	t.Run("the invitation link opens a form to choose a password", func(t *testing.T) {
		require.Equal(t, http.StatusOK, l.Status)
		passwordForm(t, l, "Set password")
	})
	f := passwordForm(t, l, "Set password")
	t.Run("mismatched passwords show the form again with an error", func(t *testing.T) {
		l := a.submit(t, f, passwordFill(newPassword(), newPassword()), "Set password")
		assert.Equal(t, http.StatusBadRequest, l.Status)
		f = passwordForm(t, l, "Set password")
		assert.Contains(t, l.Text(), "do not match")
	})
	t.Run("a too short password shows the form again with an error", func(t *testing.T) {
		l := a.submit(t, f, passwordFill("short7!", "short7!"), "Set password")
		assert.Equal(t, http.StatusBadRequest, l.Status)
		f = passwordForm(t, l, "Set password")
		assert.Contains(t, l.Text(), "at least 8 characters")
	})
	m.Password = newPassword()
	t.Run("a good password shows the success page", func(t *testing.T) {
		l := a.submit(t, f, passwordFill(m.Password, m.Password), "Set password")
		require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
		assert.Contains(t, l.Text(), "Your account is ready")
		assert.Empty(t, l.forms(t), "the success page has no form")
	})
	t.Run("the link works once: posting it again is an error page", func(t *testing.T) {
		again := newPassword()
		l := a.submit(t, f, passwordFill(again, again), "Set password")
		requireRefusedPage(t, l, "already used")
	})
	t.Run("the user signs in through the login page with the chosen password", func(t *testing.T) {
		ms := s.as(m)
		c := d.register(t)
		tok := ms.signInTokens(t, ms.newAgent(t), ms.newAuthRequest(c, "openid", "email"))
		assert.Equal(t, m.ID, tok.IDToken.Subject)
		claims := idClaims(t, tok)
		assert.Equal(t, m.Email, claims["email"])
		assert.Equal(t, true, claims["email_verified"], "the invitation link proved the inbox")
	})
}

func forgotAndReset(t *testing.T, d *directory) {
	s := d.s
	m := d.activeMember(t)
	ms := s.as(m)
	c := d.register(t)
	before := ms.newAgent(t) // the browser the user signed in with before the reset
	tok := ms.signInTokens(t, before, ms.newAuthRequest(c))
	unknown := "oidcflow-nobody-" + suffix() + "@example.com"

	b := s.newAgent(t)
	login := b.get(t, s.newAuthRequest(c).URL())
	require.True(t, login.isLogin(t), "a new browser gets the login page; got %d %q", login.Status, login.Text())
	forgot := login.link("Forgot your password?")
	t.Run("the login page links to the forgot password page", func(t *testing.T) {
		require.NotNil(t, forgot, "the login page has a %q link", "Forgot your password?")
		assert.Equal(t, d.s.env.BaseURL+pathForgot, forgot.String())
	})
	require.NotNil(t, forgot)

	ask := func(t *testing.T, email string) *landing {
		t.Helper()
		l := b.get(t, forgot.String())
		f := l.formWith(t, forgotLabels, []string{"Send reset link"})
		require.NotNil(t, f, "the forgot password page has an Email input and a Send reset link button; got %d %q", l.Status, l.Text())
		return b.submit(t, f, map[string]string{"Email": email}, "")
	}
	var unknownPage *landing
	t.Run("an unknown email is told to check their email", func(t *testing.T) {
		unknownPage = ask(t, unknown)
		assert.Equal(t, http.StatusOK, unknownPage.Status)
		assert.Contains(t, unknownPage.Text(), "Check your email")
	})
	var link string
	t.Run("a known email gets the same page and a reset mail", func(t *testing.T) {
		l := ask(t, m.Email)
		assert.Equal(t, http.StatusOK, l.Status)
		if unknownPage != nil {
			assert.Equal(t, strings.ReplaceAll(unknownPage.Text(), unknown, "EMAIL"), strings.ReplaceAll(l.Text(), m.Email, "EMAIL"),
				"the page does not tell whether an account has the email")
		}
		link = d.nextLink(t, m, pathResetPassword)
	})
	t.Run("no mail is sent to an unknown email", func(t *testing.T) {
		// The known email's mail has arrived, and mail is sent before the
		// page answers, so a mail to the unknown one would be there too.
		assert.Empty(t, s.env.Mailbox(t, unknown, 0))
	})
	require.NotEmpty(t, link, "no reset link")

	old := m.Password
	m.Password = newPassword()
	t.Run("the reset link sets a new password", func(t *testing.T) {
		l := b.get(t, link)
		f := passwordForm(t, l, "Reset password")
		l = b.submit(t, f, passwordFill(m.Password, m.Password), "")
		require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
		assert.Contains(t, l.Text(), "Your password is reset")
	})
	t.Run("the old password no longer signs in and the new one does", func(t *testing.T) {
		r := s.newAuthRequest(c)
		l := b.get(t, r.URL())
		require.True(t, l.isLogin(t), "got %d %q", l.Status, l.Text())
		l = b.login(t, l, m.Email, old)
		assert.Equal(t, http.StatusUnauthorized, l.Status)
		assert.True(t, l.isLogin(t), "the login form again; got %q", l.Text())
		assert.Contains(t, l.Text(), "incorrect")
		l = b.login(t, l, m.Email, m.Password)
		if l.isConsent(t) {
			l = b.decide(t, l, "Allow")
		}
		s.code(t, r, journey{Callback: l.Query(t), Last: l})
	})
	t.Run("the browser session from before the reset must sign in again", func(t *testing.T) {
		l := before.get(t, s.newAuthRequest(c).URL())
		assert.Nil(t, l.Left, "no code from a session older than the reset")
		assert.True(t, l.isLogin(t), "the login page; got %d %q", l.Status, l.Text())
	})
	t.Run("a refresh token from before the reset is invalid_grant", func(t *testing.T) {
		_, err := s.refresh(t, c, tok.RefreshToken)
		requireGrantError(t, err, "invalid_grant")
	})
	t.Run("an access token from before the reset introspects inactive and userinfo refuses it", func(t *testing.T) {
		s.requireInactive(t, c, tok.AccessToken, "an access token from before the reset")
		requireInvalidToken(t, s.userinfo(t, tok.AccessToken))
	})
	t.Run("the reset link works once", func(t *testing.T) {
		l := b.get(t, link)
		f := passwordForm(t, l, "Reset password")
		again := newPassword()
		requireRefusedPage(t, b.submit(t, f, passwordFill(again, again), ""), "already used")
	})
}

// managedReset asks for a reset through the management API, as an
// application's support screen would.
func managedReset(t *testing.T, d *directory) {
	s := d.s
	m := d.activeMember(t)
	var link string
	t.Run("POST /api/v1/users/{id}/reset-password answers 202 and mails a reset link", func(t *testing.T) {
		resp := d.manage(t, http.MethodPost, pathUsers+"/"+m.ID+"/reset-password", nil, http.StatusAccepted)
		assert.Equal(t, "reset_email_sent", resp.JSON(t)["status"])
		link = d.nextLink(t, m, pathResetPassword)
	})
	require.NotEmpty(t, link)
	t.Run("the password still works until the link is used", func(t *testing.T) {
		ms := s.as(m)
		ms.signInTokens(t, ms.newAgent(t), ms.newAuthRequest(d.register(t)))
	})
	t.Run("the link sets a new password", func(t *testing.T) {
		a := s.newAgent(t)
		f := passwordForm(t, a.get(t, link), "Reset password")
		pw := newPassword()
		l := a.submit(t, f, passwordFill(pw, pw), "")
		require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
		assert.Contains(t, l.Text(), "Your password is reset")
	})
}

// accountFormsCSRF posts each account form without its csrf_token and with
// another browser's, then shows that nothing changed.
func accountFormsCSRF(t *testing.T, d *directory) {
	s := d.s
	m := d.provision(t)
	invite := d.nextLink(t, m, pathInvite)
	a, other := s.newAgent(t), s.newAgent(t)
	f := passwordForm(t, a.get(t, invite), "Set password")
	foreign := passwordForm(t, other.get(t, invite), "Set password").Hidden.Get("csrf_token")
	require.NotEmpty(t, foreign)
	require.NotEqual(t, f.Hidden.Get("csrf_token"), foreign, "each browser has its own CSRF token")
	m.Password = newPassword()
	refused := newPassword()

	forged := func(f *form, fill map[string]string, csrf string) func(t *testing.T) {
		return func(t *testing.T) {
			vals := f.values(t, fill)
			if csrf == "" {
				vals.Del("csrf_token")
			} else {
				vals.Set("csrf_token", csrf)
			}
			requireRefusedPage(t, a.post(t, f.Action.String(), vals), "another browser")
		}
	}
	t.Run("the invitation form without its csrf_token is refused", forged(f, passwordFill(refused, refused), ""))
	t.Run("the invitation form with another browser's csrf_token is refused", forged(f, passwordFill(refused, refused), foreign))
	t.Run("the refused posts did not spend the invitation", func(t *testing.T) {
		l := a.submit(t, f, passwordFill(m.Password, m.Password), "")
		require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
		assert.Contains(t, l.Text(), "Your account is ready")
	})

	forgot := a.get(t, s.env.BaseURL+pathForgot).formWith(t, forgotLabels, nil)
	require.NotNil(t, forgot)
	fill := map[string]string{"Email": m.Email}
	t.Run("the forgot password form without its csrf_token is refused", forged(forgot, fill, ""))
	t.Run("the forgot password form with another browser's csrf_token is refused", forged(forgot, fill, foreign))
	var link string
	t.Run("the refused posts sent no mail", func(t *testing.T) {
		l := a.submit(t, forgot, fill, "")
		require.Contains(t, l.Text(), "Check your email")
		// nextLink fails if more than this one reset mail came.
		link = d.nextLink(t, m, pathResetPassword)
	})
	require.NotEmpty(t, link)

	reset := passwordForm(t, a.get(t, link), "Reset password")
	t.Run("the reset form without its csrf_token is refused", forged(reset, passwordFill(refused, refused), ""))
	t.Run("the reset form with another browser's csrf_token is refused", forged(reset, passwordFill(refused, refused), foreign))
	t.Run("the refused posts did not spend the reset link or change the password", func(t *testing.T) {
		ms := s.as(m)
		ms.signInTokens(t, ms.newAgent(t), ms.newAuthRequest(d.register(t)))
		pw := newPassword()
		l := a.submit(t, reset, passwordFill(pw, pw), "")
		require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
		assert.Contains(t, l.Text(), "Your password is reset")
	})
}
