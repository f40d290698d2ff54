package oidcflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// Two-step verification (issue 18) seen from a browser without
// JavaScript: the account page sets up an authenticator app, and sign-ins
// then ask for its code or a recovery code.

const pathAccount = "/account"

// Labels and buttons of the second-factor pages.
var (
	totpLabels     = []string{"Code from your authenticator app"}
	enrolLabels    = []string{"Code from the app"}
	recoveryLabels = []string{"Recovery code"}
)

var mfaChecks = []dirCheck{
	{"an authenticator set up on the account page is asked for at sign-in", accountAuthenticator},
	{"a recovery code stands in for the authenticator once", recoveryCode},
	{"acr_values=mfa makes a user without a factor set one up", acrValuesMFA},
	{"the account page refuses forged and bad forms", accountPageBadInput},
	{"a platform administrator resets a user's factors", adminResetFactors},
	{"an organization that requires a second factor enrols its members at sign-in", requiredPolicy},
	{"a NUL byte at sign-in is a clear refusal, on every store", nulAtSignIn},
}

// authenticator is an authenticator app: it knows the secret and the last
// time step it showed, and shows the next code the provider will take.
type authenticator struct {
	secret string
	last   int64
}

func (a *authenticator) code(t *testing.T) string {
	t.Helper()
	step := time.Now().Unix() / 30
	if step <= a.last {
		step = a.last + 1 // within the provider's one step of skew
	}
	require.LessOrEqual(t, step, time.Now().Unix()/30+1, "a code per 30 seconds at most")
	a.last = step
	c, err := totp.GenerateCode(a.secret, time.Unix(step*30, 0))
	require.NoError(t, err)
	return c
}

// byID returns the text of the page's element with id, or "".
func (l *landing) byID(id string) string {
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if l.doc != nil {
		walk(l.doc)
	}
	if found == nil {
		return ""
	}
	return strings.Join(strings.Fields(textOf(found)), " ")
}

// accountPage signs m in at /account in a new browser.
func (d *directory) accountPage(t *testing.T, m *member) (*agent, *landing) {
	t.Helper()
	a := d.s.newAgent(t)
	l := a.get(t, d.s.env.BaseURL+pathAccount)
	require.True(t, l.isLogin(t), "the account page asks to sign in first; got %d %q", l.Status, l.Text())
	l = a.login(t, l, m.Email, m.Password)
	require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
	require.Equal(t, pathAccount, l.URL.Path, "the sign-in comes back to the account page")
	require.Equal(t, m.Email, l.byID("account-email"))
	return a, l
}

// setUpAuthenticator sets an authenticator up on the account page and
// returns it and the recovery codes shown.
func (d *directory) setUpAuthenticator(t *testing.T, a *agent, m *member) (*authenticator, []string) {
	t.Helper()
	l := a.get(t, d.s.env.BaseURL+pathAccount+"/totp")
	secret := l.byID("totp-secret")
	require.NotEmpty(t, secret, "the setup page shows the key; got %d %q", l.Status, l.Text())
	assert.Contains(t, l.byID("totp-uri"), "otpauth://totp/", "and the otpauth URI for manual entry")
	assert.Contains(t, l.Body, `src="data:image/png;base64,`, "and the QR code as an image")
	auth := &authenticator{secret: secret}
	f := l.formWith(t, enrolLabels, nil)
	require.NotNil(t, f, "the setup page has the code form")
	l = a.submit(t, f, map[string]string{"Code from the app": "000000"}, "")
	require.Equal(t, http.StatusBadRequest, l.Status, "a wrong code sets nothing up")
	f = l.formWith(t, enrolLabels, nil)
	require.NotNil(t, f)
	l = a.submit(t, f, map[string]string{"Code from the app": auth.code(t)}, "")
	require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
	codes := strings.Fields(l.byID("recovery-codes"))
	require.Len(t, codes, 10, "ten recovery codes are shown once: %q", l.Text())
	m.mails++
	msgs := d.s.env.Mailbox(t, m.Email, m.mails)
	assert.Equal(t, "An authenticator app was added to your Calimatic account", msgs[m.mails-1].Subject)
	return auth, codes
}

// factorSignIn signs m in to c in a new browser up to the second-factor
// page.
func (d *directory) factorSignIn(t *testing.T, m *member, r *authRequest) (*agent, *landing) {
	t.Helper()
	a := d.s.newAgent(t)
	l := a.get(t, r.URL())
	l = a.login(t, l, m.Email, m.Password)
	require.Equal(t, "/login/factor", l.URL.Path, "the password is not enough; got %d %q", l.Status, l.Text())
	return a, l
}

// finishSignIn consents if asked and checks the ID token's amr and acr.
func (d *directory) finishSignIn(t *testing.T, a *agent, r *authRequest, l *landing) {
	t.Helper()
	if l.isConsent(t) {
		l = a.decide(t, l, "Allow")
	}
	require.NotNil(t, l.Left, "the sign-in ends at the client; got %d %q", l.Status, l.Text())
	tok, err := d.s.exchange(t, r, d.s.code(t, r, journey{Callback: l.Left.Query()}))
	require.NoError(t, err)
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	require.NoError(t, d.s.verifyTokens(t, r, tok).IDToken.Claims(&claims))
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, claims.AMR)
	assert.Equal(t, "mfa", claims.ACR)
	in := d.s.introspect(t, r.client, tok.AccessToken)
	assert.Equal(t, "mfa", in["acr"], "introspection says how the user signed in")
	assert.Equal(t, []any{"pwd", "otp", "mfa"}, in["amr"])
}

func accountAuthenticator(t *testing.T, d *directory) {
	m := d.activeMember(t)
	a, _ := d.accountPage(t, m)
	auth, _ := d.setUpAuthenticator(t, a, m)
	c := d.register(t)

	t.Run("a sign-in asks for the code, and takes it once", func(t *testing.T) {
		r := d.s.newAuthRequest(c)
		b, l := d.factorSignIn(t, m, r)
		code := auth.code(t)
		f := l.formWith(t, totpLabels, nil)
		require.NotNil(t, f, "the page asks for the app's code: %q", l.Text())
		l = b.submit(t, f, map[string]string{totpLabels[0]: code}, "")
		d.finishSignIn(t, b, r, l)

		r2 := d.s.newAuthRequest(c)
		b2, l2 := d.factorSignIn(t, m, r2)
		l2 = b2.submit(t, l2.formWith(t, totpLabels, nil), map[string]string{totpLabels[0]: code}, "")
		assert.Equal(t, http.StatusUnauthorized, l2.Status, "a code works once")
		assert.Contains(t, l2.Text(), "That code is not right")
	})
	t.Run("removing the authenticator ends the second step", func(t *testing.T) {
		l := a.get(t, d.s.env.BaseURL+pathAccount)
		f := l.formWith(t, nil, []string{"Remove authenticator app"})
		require.NotNil(t, f, "the account page offers removal: %q", l.Text())
		l = a.submit(t, f, nil, "")
		require.Equal(t, http.StatusOK, l.Status)
		assert.Equal(t, "Not set up.", l.byID("totp-status"))
		m.mails++
		msgs := d.s.env.Mailbox(t, m.Email, m.mails)
		assert.Equal(t, "An authenticator app was removed from your Calimatic account", msgs[m.mails-1].Subject)

		r := d.s.newAuthRequest(c)
		j := d.s.as(m).newAgent(t).signIn(t, r)
		d.s.code(t, r, j)
	})
}

// recoveryCode has a member of its own: codes are throttled per account,
// five in fifteen minutes.
func recoveryCode(t *testing.T, d *directory) {
	m := d.activeMember(t)
	a, _ := d.accountPage(t, m)
	_, codes := d.setUpAuthenticator(t, a, m)
	c := d.register(t)
	r := d.s.newAuthRequest(c)
	b, l := d.factorSignIn(t, m, r)
	f := l.formWith(t, recoveryLabels, nil)
	require.NotNil(t, f, "the page offers a recovery code: %q", l.Text())
	l = b.submit(t, f, map[string]string{recoveryLabels[0]: strings.ToUpper(codes[0])}, "")
	d.finishSignIn(t, b, r, l)
	m.mails++
	msgs := d.s.env.Mailbox(t, m.Email, m.mails)
	assert.Contains(t, msgs[m.mails-1].Text, "9 recovery codes are left")

	r2 := d.s.newAuthRequest(c)
	b2, l2 := d.factorSignIn(t, m, r2)
	l2 = b2.submit(t, l2.formWith(t, recoveryLabels, nil), map[string]string{recoveryLabels[0]: codes[0]}, "")
	assert.Equal(t, http.StatusUnauthorized, l2.Status, "a used recovery code is refused")
}

func acrValuesMFA(t *testing.T, d *directory) {
	m := d.activeMember(t)
	c := d.register(t)
	r := d.s.newAuthRequest(c)
	r.Extra["acr_values"] = "mfa"
	a, l := d.factorSignIn(t, m, r)
	secret := l.byID("totp-secret")
	require.NotEmpty(t, secret, "no factor yet: the page sets one up: %q", l.Text())
	auth := &authenticator{secret: secret}
	l = a.submit(t, l.formWith(t, enrolLabels, nil), map[string]string{enrolLabels[0]: auth.code(t)}, "")
	require.Len(t, strings.Fields(l.byID("recovery-codes")), 10, "%q", l.Text())
	f := l.formWith(t, nil, nil)
	require.NotNil(t, f, "a button goes on")
	l = a.submit(t, f, nil, "")
	d.finishSignIn(t, a, r, l)
	m.mails++
	d.s.env.Mailbox(t, m.Email, m.mails)
}

func accountPageBadInput(t *testing.T, d *directory) {
	m := d.activeMember(t)
	a, l := d.accountPage(t, m)
	f := l.formWith(t, []string{"First name"}, nil)
	require.NotNil(t, f, "the profile form: %q", l.Text())

	forged := cloneValues(f.Hidden)
	forged.Set("csrf_token", "forged")
	forged.Set("given_name", "Mallory")
	r := a.post(t, d.s.env.BaseURL+pathAccount+"/name", forged)
	assert.Equal(t, http.StatusBadRequest, r.Status, "a forged CSRF token is refused")
	other := d.s.newAgent(t) // no session: sent to sign in, nothing changes
	r = other.post(t, d.s.env.BaseURL+pathAccount+"/name", f.values(t, map[string]string{"First name": "Mallory"}))
	assert.True(t, r.isLogin(t), "a browser without the session signs in first; got %d %q", r.Status, r.Text())

	r = a.submit(t, f, map[string]string{"First name": strings.Repeat("x", 500)}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status, "a name too long is refused: %q", r.Text())
	r = a.submit(t, f, map[string]string{"First name": "Ada\x00"}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status, "a control character is refused")

	pf := l.formWith(t, []string{"Current password", "New password"}, nil)
	require.NotNil(t, pf)
	r = a.submit(t, pf, map[string]string{"Current password": "not it", "New password": newPassword()}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Text(), "The current password is not right.")
	r = a.submit(t, pf, map[string]string{"Current password": m.Password, "New password": "short"}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status, "a short password is refused")

	cf := l.formWith(t, nil, nil)
	r = a.post(t, d.s.env.BaseURL+pathAccount+"/totp", url.Values{"csrf_token": {cf.Hidden.Get("csrf_token")}, "code": {"12345678901234567890"}})
	assert.Equal(t, http.StatusBadRequest, r.Status, "a code with no setup under way is refused: %q", r.Text())

	r = a.submit(t, f, map[string]string{"First name": "Grace", "Last name": "Hopper"}, "")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, r.Text(), "Your name was saved.")
	newPw := newPassword()
	r = a.submit(t, pf, map[string]string{"Current password": m.Password, "New password": newPw}, "")
	require.Equal(t, http.StatusOK, r.Status, "%q", r.Text())
	assert.Contains(t, r.Text(), "Your password was changed.")
	m.Password = newPw
	m.mails++
	msgs := d.s.env.Mailbox(t, m.Email, m.mails)
	assert.Equal(t, "Your Calimatic password was changed", msgs[m.mails-1].Subject)
	d.accountPage(t, m) // the new password signs in
}

func adminResetFactors(t *testing.T, d *directory) {
	m := d.activeMember(t)
	a, _ := d.accountPage(t, m)
	d.setUpAuthenticator(t, a, m)

	path := "/api/v1/admin/users/" + m.ID + "/factors"
	r := d.call(t, http.MethodDelete, path, nil, func(*http.Request) {})
	assert.Equal(t, http.StatusUnauthorized, r.Status, "only with an admin key")
	d.manage(t, http.MethodDelete, path, nil, http.StatusUnauthorized) // an app's credentials are not enough
	d.admin(t, http.MethodDelete, "/api/v1/admin/users/00000000-0000-4000-8000-000000000000/factors", nil, http.StatusNotFound)
	d.admin(t, http.MethodDelete, "/api/v1/admin/users/not-a-user-id/factors", nil, http.StatusNotFound)
	d.admin(t, http.MethodDelete, path, nil, http.StatusNoContent)
	m.mails++
	msgs := d.s.env.Mailbox(t, m.Email, m.mails)
	assert.Equal(t, "The sign-in factors of your Calimatic account were reset", msgs[m.mails-1].Subject)

	c := d.register(t)
	r2 := d.s.newAuthRequest(c)
	d.s.code(t, r2, d.s.as(m).newAgent(t).signIn(t, r2)) // the password alone again
}

func requiredPolicy(t *testing.T, d *directory) {
	o := d.newOrg(t) // its own, so the other checks' members are not covered
	d.admin(t, http.MethodPatch, pathAdminOrgs+"/"+o.ID, map[string]any{"mfaPolicy": "sometimes"}, http.StatusBadRequest)
	got := d.admin(t, http.MethodPatch, pathAdminOrgs+"/"+o.ID, map[string]any{"mfaPolicy": "required_for_admins"}, http.StatusOK).JSON(t)
	require.Equal(t, "required_for_admins", got["mfaPolicy"])
	// Members of that organization only: the other checks share d.org and
	// run meanwhile.
	member := d.activate(t, d.provisionInto(t, o, "oidcflow-"+suffix()+"@example.com"))
	admin := d.activate(t, d.provisionInto(t, o, "oidcflow-"+suffix()+"@example.com"))
	d.admin(t, http.MethodPut, "/api/v1/admin/organizations/"+o.ID+"/members/"+admin.ID, map[string]any{"role": "admin"}, http.StatusOK)
	c := d.register(t)

	r := d.s.newAuthRequest(c)
	d.s.code(t, r, d.s.as(member).newAgent(t).signIn(t, r)) // a member: the password is enough

	r = d.s.newAuthRequest(c)
	a, l := d.factorSignIn(t, admin, r)
	assert.NotEmpty(t, l.byID("totp-secret"), "an admin without a factor sets one up now: %q", l.Text())
	assert.Nil(t, l.formWith(t, recoveryLabels, nil), "no way around it")
	l = a.get(t, r.URL()) // starting over does not skip it either
	require.True(t, l.isLogin(t), "no session was made: %q", l.Text())

	d.admin(t, http.MethodPatch, pathAdminOrgs+"/"+o.ID, map[string]any{"mfaPolicy": "required"}, http.StatusOK)
	r = d.s.newAuthRequest(c)
	d.factorSignIn(t, member, r) // now the member too
}

func nulAtSignIn(t *testing.T, d *directory) {
	c := d.register(t)
	for _, param := range []string{"state", "nonce", "login_hint"} {
		r := d.s.newAuthRequest(c)
		r.Extra[param] = "a\x00b"
		l := d.s.newAgent(t).get(t, r.URL())
		if l.Left != nil {
			assert.Equal(t, "invalid_request", l.Left.Query().Get("error"), "%s with a NUL", param)
		} else {
			assert.Equal(t, http.StatusBadRequest, l.Status, "%s with a NUL: %q", param, l.Text())
		}
	}
	a := d.s.newAgent(t)
	l := a.get(t, d.s.newAuthRequest(c).URL())
	f := l.formWith(t, loginLabels, nil)
	require.NotNil(t, f)
	l = a.submit(t, f, map[string]string{"Email": "nul\x00@example.com", "Password": "whatever it is"}, "")
	assert.Equal(t, http.StatusUnauthorized, l.Status, "a NUL in the email is wrong credentials, not an outage: %q", l.Text())
}
