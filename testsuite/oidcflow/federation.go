package oidcflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/testsuite/fakeidp"
)

// Sign-in through an organization's own identity provider (issue 19),
// over HTTP, with an in-test OpenID provider (fakeidp) as the upstream.
// RunFederation needs a server of its own: once it adds a provider, the
// server's sign-in page asks for the email first.

const pathFederatedCallback = "/login/federated/callback"

// federation is RunFederation's shared state.
type federation struct {
	d *directory
	// idp plays both organizations' upstream; orgA's provider signs in
	// domA, orgB's domB.
	idp              *fakeidp.IdP
	orgA, orgB       org
	domA, domB       string
	providerA        string // the id of orgA's provider
	providerB        string
	appA, appB       *client // apps granted orgA, orgB: the page offers their buttons
	clientA, clientB fakeidp.Client
}

// RunFederation runs the federation checks. env.AdminKey, env.Mailbox and
// env.SetTXT are required.
func RunFederation(t *testing.T, env Env) {
	require.NotEmpty(t, env.AdminKey, "Env.AdminKey is required by RunFederation")
	require.NotNil(t, env.SetTXT, "Env.SetTXT is required by RunFederation")
	s := newSuite(t, env)
	d := newDirectory(t, s)
	f := &federation{d: d}
	sfx := suffix()
	f.domA, f.domB = "a-"+sfx+".example", "b-"+sfx+".example"
	callback := env.BaseURL + pathFederatedCallback
	f.clientA = fakeidp.Client{ID: "calimatic-a", Secret: "secret-a-" + sfx, RedirectURIs: []string{callback}}
	f.clientB = fakeidp.Client{ID: "calimatic-b", Secret: "secret-b-" + sfx, RedirectURIs: []string{callback}}
	f.idp = fakeidp.New(t, fakeidp.WithClient(f.clientA), fakeidp.WithClient(f.clientB))
	f.orgA, f.orgB = d.org, d.newOrg(t)
	t.Run("domains are verified by DNS", func(t *testing.T) { f.verifyByDNS(t) })
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+f.orgB.ID+"/domains/"+f.domB, nil, http.StatusCreated)
	t.Run("the admin API keeps providers", func(t *testing.T) { f.adminAPI(t) })
	f.appA, f.appB = f.app(t, f.orgA), f.app(t, f.orgB)
	for _, c := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"login_hint sends the browser upstream, and a new user gets an account", f.jitByLoginHint},
		{"the sign-in page asks for the email first", f.emailFirst},
		{"a button per provider of the app's organization", f.button},
		{"an existing account is linked when the upstream verified the email", f.linkExisting},
		{"a provider never signs in another organization's accounts", f.tenancy},
		{"the upstream's key rotation is followed", f.keyRotation},
		{"prompt=login asks the upstream for a fresh sign-in", f.freshSignIn},
		{"a bad ID token is refused", f.badTokens},
		{"upstream errors are pages with a way back", f.upstreamErrors},
		{"the answer comes back to the browser that left, once", f.stateChecks},
		// Last: it raises orgB's policy.
		{"an MFA policy asks for a second factor unless the upstream gave one", f.mfaPolicy},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.reset()
			c.run(t)
		})
	}
}

// reset makes the upstream well behaved again.
func (f *federation) reset() {
	f.idp.SetMode(fakeidp.Auto)
	f.idp.Tamper(nil)
	f.idp.SignWithPublishedKey()
	f.idp.Up()
}

// app registers an app and grants it o, so that the sign-in page knows its
// organization.
func (f *federation) app(t *testing.T, o org) *client {
	t.Helper()
	c := f.d.register(t)
	f.d.admin(t, http.MethodPut, pathAdminClients+"/"+c.ID+"/grants/"+o.ID, map[string]any{"actions": []string{"read"}}, http.StatusOK)
	return c
}

func (f *federation) verifyByDNS(t *testing.T) {
	d := f.d
	path := pathAdminOrgs + "/" + f.orgA.ID + "/domains/" + f.domA
	r := d.admin(t, http.MethodPut, path, map[string]any{"method": "dns"}, http.StatusConflict)
	msg := string(r.Body)
	require.Contains(t, msg, "dns_record_not_found")
	i := strings.Index(msg, "calimatic-domain-verification=")
	require.Positive(t, i, "the answer names the record to publish: %s", msg)
	record := msg[i:]
	record = record[:strings.IndexAny(record, `\" `)]
	f.d.s.env.SetTXT(f.domA, []string{"v=spf1 -all", "calimatic-domain-verification=not-ours"})
	d.admin(t, http.MethodPut, path, map[string]any{"method": "dns"}, http.StatusConflict)
	f.d.s.env.SetTXT(f.domA, []string{"v=spf1 -all", record})
	got := d.admin(t, http.MethodPut, path, map[string]any{"method": "dns"}, http.StatusCreated).JSON(t)
	assert.Equal(t, "dns", got["verifiedBy"])
	// The record binds the domain to orgA: orgB can't use it, nor take
	// the domain.
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+f.orgB.ID+"/domains/"+f.domA, map[string]any{"method": "dns"}, http.StatusConflict)
	d.admin(t, http.MethodPut, path, map[string]any{"method": "carrier-pigeon"}, http.StatusBadRequest)
}

func (f *federation) adminAPI(t *testing.T) {
	d := f.d
	base := pathAdminOrgs + "/" + f.orgA.ID + "/identity-providers"
	good := map[string]any{
		"name": "Springfield Workspace", "issuer": f.idp.Issuer(), "clientId": f.clientA.ID, "clientSecret": f.clientA.Secret,
		"domains": []string{strings.ToUpper(f.domA)}, "jitProvisioning": true, "linkExisting": true,
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		m[k] = v
		return m
	}
	for _, bad := range []map[string]any{
		with("domains", []string{f.domB}),               // orgB's
		with("domains", []string{"nobody.example"}),     // unverified
		with("issuer", "ftp://idp.example"),             // not a URL of ours
		with("issuer", f.idp.Issuer()+"/nothing"),       // no discovery there
		with("clientSecret", ""),                        // none
		with("surprise", true),                          // unknown field
		with("name", "Spring\u202efield"),               // a bidi override
		with("scopes", []string{"openid", "bad scope"}), // not a scope token
	} {
		d.admin(t, http.MethodPost, base, bad, http.StatusBadRequest)
	}
	created := d.admin(t, http.MethodPost, base, good, http.StatusCreated).JSON(t)
	f.providerA, _ = created["id"].(string)
	require.NotEmpty(t, f.providerA)
	assert.NotContains(t, created, "clientSecret", "the secret is never shown")
	assert.Equal(t, []any{f.domA}, created["domains"])
	assert.Equal(t, d.s.env.BaseURL+pathFederatedCallback, created["redirectUri"])
	assert.Equal(t, []any{"openid", "email", "profile"}, created["scopes"])

	one := base + "/" + f.providerA
	got := d.admin(t, http.MethodGet, one, nil, http.StatusOK).JSON(t)
	assert.Equal(t, "Springfield Workspace", got["name"])
	list := d.admin(t, http.MethodGet, base, nil, http.StatusOK).JSON(t)
	assert.Len(t, list["identityProviders"], 1)
	patched := d.admin(t, http.MethodPatch, one, map[string]any{"name": "Springfield Google"}, http.StatusOK).JSON(t)
	assert.Equal(t, "Springfield Google", patched["name"])
	assert.Equal(t, true, patched["jitProvisioning"], "a patch leaves the rest")

	// Another organization's path never reaches orgA's provider.
	other := pathAdminOrgs + "/" + f.orgB.ID + "/identity-providers/" + f.providerA
	d.admin(t, http.MethodGet, other, nil, http.StatusNotFound)
	d.admin(t, http.MethodPatch, other, map[string]any{"name": "mine"}, http.StatusNotFound)
	d.admin(t, http.MethodDelete, other, nil, http.StatusNotFound)
	// Without the admin key, nothing.
	r := d.call(t, http.MethodGet, base, nil, func(*http.Request) {})
	assert.Equal(t, http.StatusUnauthorized, r.Status)

	// orgB's provider: the same upstream, another client.
	b := d.admin(t, http.MethodPost, pathAdminOrgs+"/"+f.orgB.ID+"/identity-providers", map[string]any{
		"name": "Shelbyville Workspace", "issuer": f.idp.Issuer(), "clientId": f.clientB.ID, "clientSecret": f.clientB.Secret,
		"domains": []string{f.domB}, "jitProvisioning": true, "linkExisting": true,
	}, http.StatusCreated).JSON(t)
	f.providerB, _ = b["id"].(string)

	// A deleted provider is gone; orgA gets a new one.
	d.admin(t, http.MethodDelete, one, nil, http.StatusNoContent)
	d.admin(t, http.MethodGet, one, nil, http.StatusNotFound)
	created = d.admin(t, http.MethodPost, base, good, http.StatusCreated).JSON(t)
	f.providerA, _ = created["id"].(string)
}

// upstreamUser makes the IdP's next sign-ins those of a new user of
// domain dom.
func (f *federation) upstreamUser(dom string, verified bool) fakeidp.User {
	sfx := suffix()
	u := fakeidp.User{
		Sub: "up-" + sfx, Email: "pupil-" + sfx + "@" + dom, EmailVerified: verified,
		Name: "Lisa Simpson", GivenName: "Lisa", FamilyName: "Simpson",
	}
	f.idp.SetUser(u)
	return u
}

// federatedTokens finishes a sign-in that came back from the upstream: the
// consent, the code, the tokens; it checks amr has "fed".
func (f *federation) federatedTokens(t *testing.T, a *agent, r *authRequest, l *landing) tokens {
	t.Helper()
	if l.isConsent(t) {
		l = a.decide(t, l, "Allow")
	}
	require.NotNil(t, l.Left, "the sign-in ends at the app; got %d at %s: %q", l.Status, l.URL, l.Text())
	tok, err := f.d.s.exchange(t, r, f.d.s.code(t, r, journey{Callback: l.Left.Query()}))
	require.NoError(t, err)
	out := f.d.s.verifyTokens(t, r, tok)
	var claims struct {
		AMR []string `json:"amr"`
	}
	require.NoError(t, out.IDToken.Claims(&claims))
	assert.Contains(t, claims.AMR, "fed", "a federated sign-in says so in amr")
	return out
}

// upstream follows a redirect to the upstream, which answers at once (Auto)
// and sends the browser back to the provider.
func upstream(t *testing.T, a *agent, l *landing, idp *fakeidp.IdP) *landing {
	t.Helper()
	require.NotNil(t, l.Left, "the browser goes upstream; got %d at %s: %q", l.Status, l.URL, l.Text())
	require.True(t, strings.HasPrefix(l.Left.String(), idp.Issuer()), "to the upstream, not %s", l.Left)
	return a.get(t, l.Left.String())
}

func (f *federation) jitByLoginHint(t *testing.T) {
	u := f.upstreamUser(f.domA, true)
	u.Extra = map[string]any{"amr": []string{"pwd", "mfa"}}
	f.idp.SetUser(u)
	r := f.d.s.newAuthRequest(f.appA)
	r.Extra["login_hint"] = u.Email
	a := f.d.s.newAgent(t)
	l := a.get(t, r.URL())
	assert.Equal(t, u.Email, l.Left.Query().Get("login_hint"), "the hint goes upstream too")
	tok := f.federatedTokens(t, a, r, upstream(t, a, l, f.idp))
	var claims struct {
		Email string   `json:"email"`
		AMR   []string `json:"amr"`
		ACR   string   `json:"acr"`
		Name  string   `json:"name"`
	}
	require.NoError(t, tok.IDToken.Claims(&claims))
	assert.Equal(t, u.Email, claims.Email)
	assert.Equal(t, []string{"fed", "pwd", "mfa"}, claims.AMR, "the upstream's amr is kept")
	assert.Equal(t, "mfa", claims.ACR)
	assert.Equal(t, "Lisa Simpson", claims.Name)
	// The account is orgA's member now.
	members := f.d.admin(t, http.MethodGet, pathAdminOrgs+"/"+f.orgA.ID+"/users", nil, http.StatusOK)
	assert.Contains(t, string(members.Body), u.Email)

	// Again, with the upstream's email changed: the link (issuer, sub)
	// signs in to the same account.
	sub := tok.IDToken.Subject
	u.Email = "renamed-" + u.Email
	f.idp.SetUser(u)
	r2 := f.d.s.newAuthRequest(f.appA)
	r2.Extra["login_hint"] = u.Email
	a2 := f.d.s.newAgent(t)
	tok2 := f.federatedTokens(t, a2, r2, upstream(t, a2, a2.get(t, r2.URL()), f.idp))
	assert.Equal(t, sub, tok2.IDToken.Subject, "the linked identity signs in to its account")
}

func (f *federation) emailFirst(t *testing.T) {
	u := f.upstreamUser(f.domA, true)
	r := f.d.s.newAuthRequest(f.appA)
	a := f.d.s.newAgent(t)
	l := a.get(t, r.URL())
	first := l.formWith(t, []string{"Email"}, []string{"Continue"})
	require.NotNil(t, first, "the page asks for the email alone; got %d %q", l.Status, l.Text())
	assert.Nil(t, l.formWith(t, loginLabels, nil), "no password yet")

	// A bad email is a clear refusal on the same page.
	bad := a.submit(t, first, map[string]string{"Email": "not an email"}, "Continue")
	assert.Equal(t, http.StatusBadRequest, bad.Status)
	assert.Contains(t, bad.Text(), "Enter your email address")

	l = a.submit(t, first, map[string]string{"Email": strings.ToUpper(u.Email)}, "Continue")
	f.federatedTokens(t, a, r, upstream(t, a, l, f.idp))

	// An email of no federated domain goes on to the password step.
	r2 := f.d.s.newAuthRequest(f.appA)
	b := f.d.s.newAgent(t)
	l = b.get(t, r2.URL())
	l = b.submit(t, l.formWith(t, []string{"Email"}, []string{"Continue"}), map[string]string{"Email": f.d.s.env.Email}, "Continue")
	require.True(t, l.isLogin(t), "the password step; got %d %q", l.Status, l.Text())
	l = b.login(t, l, f.d.s.env.Email, f.d.s.env.Password)
	if l.isConsent(t) {
		l = b.decide(t, l, "Allow")
	}
	f.d.s.code(t, r2, journey{Callback: l.Query(t)})
}

func (f *federation) button(t *testing.T) {
	f.upstreamUser(f.domA, true)
	r := f.d.s.newAuthRequest(f.appA)
	a := f.d.s.newAgent(t)
	l := a.get(t, r.URL())
	btn := l.formWith(t, nil, []string{"Sign in with Springfield Workspace"})
	require.NotNil(t, btn, "the app's organization's provider is offered; got %q", l.Text())
	assert.NotContains(t, l.Text(), "Shelbyville", "only the app's organization's providers")
	f.federatedTokens(t, a, r, upstream(t, a, a.submit(t, btn, nil, ""), f.idp))

	// A forged press of another organization's provider is refused.
	vals := btn.values(t, nil)
	vals.Set("provider", f.providerB)
	r2 := f.d.s.newAuthRequest(f.appA)
	b := f.d.s.newAgent(t)
	l = b.get(t, r2.URL())
	vals.Set("interaction", l.formWith(t, nil, []string{"Sign in with Springfield Workspace"}).Hidden.Get("interaction"))
	vals.Set("csrf_token", l.formWith(t, nil, []string{"Sign in with Springfield Workspace"}).Hidden.Get("csrf_token"))
	l = b.post(t, f.d.s.env.BaseURL+"/login/federated", vals)
	assert.Nil(t, l.Left, "not sent anywhere")
	assert.Contains(t, l.Text(), "not available")
}

func (f *federation) linkExisting(t *testing.T) {
	d := f.d
	m := d.activate(t, d.provisionEmail(t, "member-"+suffix()+"@"+f.domA))
	// The upstream says the email is verified: linked, and the sub is the
	// member's.
	f.idp.SetUser(fakeidp.User{Sub: "up-" + suffix(), Email: m.Email, EmailVerified: true, Name: "Bart Simpson"})
	r := d.s.newAuthRequest(f.appA)
	r.Extra["login_hint"] = m.Email
	a := d.s.newAgent(t)
	tok := f.federatedTokens(t, a, r, upstream(t, a, a.get(t, r.URL()), f.idp))
	assert.Equal(t, m.ID, tok.IDToken.Subject)

	// Another member, but the upstream doesn't vouch for the email: refused.
	m2 := d.activate(t, d.provisionEmail(t, "member-"+suffix()+"@"+f.domA))
	f.idp.SetUser(fakeidp.User{Sub: "up-" + suffix(), Email: m2.Email, EmailVerified: false})
	r2 := d.s.newAuthRequest(f.appA)
	r2.Extra["login_hint"] = m2.Email
	b := d.s.newAgent(t)
	l := upstream(t, b, b.get(t, r2.URL()), f.idp)
	f.refused(t, l, "did not confirm your email address")
	// The way back leads to the sign-in page, which doesn't loop upstream.
	l = b.get(t, f.backLink(t, l))
	require.Nil(t, l.Left, "back on the sign-in page, not upstream again")
	assert.NotNil(t, l.formWith(t, []string{"Email"}, []string{"Continue"}), "the sign-in page: %q", l.Text())
}

// refused checks a federation failure page.
func (f *federation) refused(t *testing.T, l *landing, why string) {
	t.Helper()
	require.Nil(t, l.Left, "not signed in; went to %s", l.Left)
	assert.Equal(t, http.StatusBadRequest, l.Status)
	assert.Contains(t, l.Text(), "You were not signed in")
	assert.Contains(t, l.Text(), why)
}

// backLink returns the failure page's "Back to sign in".
func (f *federation) backLink(t *testing.T, l *landing) string {
	t.Helper()
	i := strings.Index(l.Body, `href="/login?interaction=`)
	require.Positive(t, i, "the page leads back to the sign-in: %q", l.Text())
	href := l.Body[i+len(`href="`):]
	href = strings.ReplaceAll(href[:strings.IndexByte(href, '"')], "&amp;", "&")
	return f.d.s.env.BaseURL + href
}

func (f *federation) tenancy(t *testing.T) {
	d := f.d
	// orgB's provider, asked for through orgB's app: an upstream user of
	// domA gets nothing, with JIT on.
	u := f.upstreamUser(f.domA, true)
	r := d.s.newAuthRequest(f.appB)
	a := d.s.newAgent(t)
	l := a.get(t, r.URL())
	btn := l.formWith(t, nil, []string{"Sign in with Shelbyville Workspace"})
	require.NotNil(t, btn, "orgB's app offers orgB's provider: %q", l.Text())
	l = upstream(t, a, a.submit(t, btn, nil, ""), f.idp)
	f.refused(t, l, "does not sign in accounts of your email's domain")
	members := d.admin(t, http.MethodGet, pathAdminOrgs+"/"+f.orgB.ID+"/users", nil, http.StatusOK)
	assert.NotContains(t, string(members.Body), u.Email)

	// A domA account linked through orgA, whose upstream email is now in
	// domB: orgB's provider still can't sign in to it.
	r1 := d.s.newAuthRequest(f.appA)
	r1.Extra["login_hint"] = u.Email
	a1 := d.s.newAgent(t)
	f.federatedTokens(t, a1, r1, upstream(t, a1, a1.get(t, r1.URL()), f.idp))
	u.Email = "moved-" + suffix() + "@" + f.domB
	f.idp.SetUser(u)
	r2 := d.s.newAuthRequest(f.appB)
	r2.Extra["login_hint"] = u.Email
	b := d.s.newAgent(t)
	l = upstream(t, b, b.get(t, r2.URL()), f.idp)
	f.refused(t, l, "belongs to another organization")
}

func (f *federation) keyRotation(t *testing.T) {
	f.upstreamUser(f.domA, true)
	signIn := func() {
		r := f.d.s.newAuthRequest(f.appA)
		a := f.d.s.newAgent(t)
		l := a.get(t, r.URL())
		l = a.submit(t, l.formWith(t, nil, []string{"Sign in with Springfield Workspace"}), nil, "")
		f.federatedTokens(t, a, r, upstream(t, a, l, f.idp))
	}
	signIn()
	f.idp.RotateKey()
	signIn()
}

func (f *federation) badTokens(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(map[string]any)
	}{
		{"another audience", func(c map[string]any) { c["aud"] = "someone-else" }},
		{"another nonce", func(c map[string]any) { c["nonce"] = "replayed-nonce" }},
		{"another issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }},
		{"expired", func(c map[string]any) { c["exp"] = 1_000_000_000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := f.upstreamUser(f.domA, true)
			f.idp.Tamper(tc.tamper)
			defer f.idp.Tamper(nil)
			r := f.d.s.newAuthRequest(f.appA)
			r.Extra["login_hint"] = u.Email
			a := f.d.s.newAgent(t)
			l := upstream(t, a, a.get(t, r.URL()), f.idp)
			f.refused(t, l, "could not be trusted")
			members := f.d.admin(t, http.MethodGet, pathAdminOrgs+"/"+f.orgA.ID+"/users", nil, http.StatusOK)
			assert.NotContains(t, string(members.Body), u.Email, "no account made")
		})
	}
	t.Run("a key the upstream never published", func(t *testing.T) {
		u := f.upstreamUser(f.domA, true)
		f.idp.SignWithUnknownKey()
		defer f.reset()
		r := f.d.s.newAuthRequest(f.appA)
		r.Extra["login_hint"] = u.Email
		a := f.d.s.newAgent(t)
		f.refused(t, upstream(t, a, a.get(t, r.URL()), f.idp), "could not be trusted")
	})
}

// callbackOf goes upstream without coming back: the URL the upstream
// sends the browser back to.
func callbackOf(t *testing.T, l *landing) string {
	t.Helper()
	require.NotNil(t, l.Left, "the browser goes upstream; got %d %q", l.Status, l.Text())
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(l.Left.String())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "the upstream answers at once")
	return resp.Header.Get("Location")
}

func (f *federation) upstreamErrors(t *testing.T) {
	t.Run("denied", func(t *testing.T) {
		u := f.upstreamUser(f.domA, true)
		f.idp.SetMode(fakeidp.Deny)
		r := f.d.s.newAuthRequest(f.appA)
		r.Extra["login_hint"] = u.Email
		a := f.d.s.newAgent(t)
		l := upstream(t, a, a.get(t, r.URL()), f.idp)
		f.refused(t, l, "You did not finish signing in")
		f.backLink(t, l)
	})
	t.Run("down at the code exchange", func(t *testing.T) {
		f.reset()
		u := f.upstreamUser(f.domA, true)
		r := f.d.s.newAuthRequest(f.appA)
		r.Extra["login_hint"] = u.Email
		a := f.d.s.newAgent(t)
		cb := callbackOf(t, a.get(t, r.URL()))
		f.idp.Down()
		defer f.idp.Up()
		l := a.get(t, cb)
		f.refused(t, l, "could not be reached")
		f.backLink(t, l)
	})
}

func (f *federation) stateChecks(t *testing.T) {
	u := f.upstreamUser(f.domA, true)
	r := f.d.s.newAuthRequest(f.appA)
	r.Extra["login_hint"] = u.Email
	a := f.d.s.newAgent(t)
	cb := callbackOf(t, a.get(t, r.URL()))

	// Another browser with this answer (login CSRF): refused, and the
	// answer is not spent.
	other := f.d.s.newAgent(t)
	l := other.get(t, cb)
	f.refused(t, l, "started in another browser")
	// A state that isn't this attempt's.
	cbURL, err := url.Parse(cb)
	require.NoError(t, err)
	q := cbURL.Query()
	id, _, _ := strings.Cut(q.Get("state"), ".")
	q.Set("state", id+".forged")
	forged := *cbURL
	forged.RawQuery = q.Encode()
	f.refused(t, a.get(t, forged.String()), "not the one this sign-in is waiting for")
	// The real answer still signs in, once.
	f.federatedTokens(t, a, r, a.get(t, cb))
	f.refused(t, a.get(t, cb), "expired")
	for _, state := range []string{"", "no-dot", strings.Repeat("x", 300)} {
		f.refused(t, a.get(t, f.d.s.env.BaseURL+pathFederatedCallback+"?code=c&state="+url.QueryEscape(state)), "does not belong to a sign-in")
	}
}

func (f *federation) mfaPolicy(t *testing.T) {
	f.d.admin(t, http.MethodPatch, pathAdminOrgs+"/"+f.orgB.ID, map[string]any{"mfaPolicy": "required"}, http.StatusOK)
	signIn := func(amr []string) (*agent, *authRequest, *landing) {
		u := f.upstreamUser(f.domB, true)
		if amr != nil {
			u.Extra = map[string]any{"amr": amr}
			f.idp.SetUser(u)
		}
		r := f.d.s.newAuthRequest(f.appB)
		r.Extra["login_hint"] = u.Email
		a := f.d.s.newAgent(t)
		return a, r, upstream(t, a, a.get(t, r.URL()), f.idp)
	}
	// The upstream says nothing of a second factor: the member enrols one
	// here before any session exists.
	_, _, l := signIn(nil)
	require.Nil(t, l.Left, "not signed in yet")
	assert.Equal(t, "/login/factor", l.URL.Path, "a second factor is asked for; got %d %q", l.Status, l.Text())
	assert.NotNil(t, l.formWith(t, enrolLabels, nil), "the member sets up an authenticator: %q", l.Text())
	// The upstream did multi-factor: that is the organization's own word.
	a, r, l := signIn([]string{"pwd", "mfa"})
	tok := f.federatedTokens(t, a, r, l)
	var claims struct {
		ACR string `json:"acr"`
	}
	require.NoError(t, tok.IDToken.Claims(&claims))
	assert.Equal(t, "mfa", claims.ACR)
}

func (f *federation) freshSignIn(t *testing.T) {
	u := f.upstreamUser(f.domA, true)
	attempt := func(extra map[string]any) (*agent, *authRequest, *landing) {
		u.Extra = extra
		f.idp.SetUser(u)
		r := f.d.s.newAuthRequest(f.appA)
		r.Extra["login_hint"], r.Extra["prompt"] = u.Email, "login"
		a := f.d.s.newAgent(t)
		l := a.get(t, r.URL())
		require.NotNil(t, l.Left, "upstream: %q", l.Text())
		q := l.Left.Query()
		assert.Equal(t, "0", q.Get("max_age"), "the upstream is asked for a sign-in now")
		assert.Equal(t, "login", q.Get("prompt"))
		return a, r, upstream(t, a, l, f.idp)
	}
	// An upstream that doesn't say when the user signed in, or says long
	// ago, made no fresh sign-in.
	_, _, l := attempt(nil)
	f.refused(t, l, "did not")
	_, _, l = attempt(map[string]any{"auth_time": time.Now().Add(-time.Hour).Unix()})
	f.refused(t, l, "did not")
	a, r, l := attempt(map[string]any{"auth_time": time.Now().Unix()})
	f.federatedTokens(t, a, r, l)
}
