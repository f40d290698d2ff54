package oidcflow

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// Paths of the directory's APIs and account pages (integration guide §3,
// §4; the administration API).
const (
	pathAdminOrgs     = "/api/v1/admin/organizations"
	pathAdminClients  = "/api/v1/admin/clients"
	pathProvision     = "/api/v1/users/provision"
	pathUsers         = "/api/v1/users"
	pathInvite        = "/invite"
	pathForgot        = "/forgot-password"
	pathResetPassword = "/reset-password"
)

// Labels and buttons of the account pages.
var (
	passwordLabels = []string{"New password", "Repeat the password"}
	forgotLabels   = []string{"Email"}
)

// dirCheck is one named scenario of RunDirectory; its steps are subtests.
type dirCheck struct {
	name string
	run  func(t *testing.T, d *directory)
}

// RunDirectory checks the OIDC side of the directory end to end: extended
// scopes and their claims, invitations, forgotten and reset passwords, the
// account forms' CSRF defence, status changes through the management API,
// license policy and first-party clients.
//
// It needs Env.AdminKey and Env.Mailbox besides what Run needs, but not the
// env's user: every scenario provisions its own users into organizations it
// creates, with random names, so it can share a database with other suites.
// Like Run, it registers many clients from one IP, so the server's endpoint
// rate limits must be off; it makes about 20 authorization requests in all,
// within the default per-IP limit should only that one be on.
func RunDirectory(t *testing.T, env Env) {
	require.NotEmpty(t, env.AdminKey, "Env.AdminKey is required by RunDirectory")
	require.NotNil(t, env.Mailbox, "Env.Mailbox is required by RunDirectory")
	s := newSuite(t, env)
	d := newDirectory(t, s)
	groups := []struct {
		name   string
		checks []dirCheck
	}{
		{"extended scopes", scopeChecks},
		{"invitation", invitationChecks},
		{"password reset", resetChecks},
		{"account forms", accountFormChecks},
		{"status", statusChecks},
		{"client policy", clientPolicyChecks},
		{"joining another organization", joinChecks},
		{"two-step verification", mfaChecks},
		{"sessions and apps on the account page", accountAppChecks},
	}
	t.Run("directory", func(t *testing.T) {
		for _, g := range groups {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				for _, c := range g.checks {
					t.Run(c.name, func(t *testing.T) { c.run(t, d) })
				}
			})
		}
	})
}

// directory is RunDirectory's shared state: an organization of its own and
// a confidential client that may manage the organization's users.
type directory struct {
	s       *suite
	org     org
	manager *client
}

// org is an organization the suite created.
type org struct{ ID, Name string }

// member is a user the suite provisioned. mails counts the messages to
// them that the suite has read so far.
type member struct {
	ID, Email, Password string
	mails               int
}

func newDirectory(t *testing.T, s *suite) *directory {
	t.Helper()
	d := &directory{s: s}
	d.manager = d.register(t)
	d.org = d.newOrg(t)
	return d
}

// register registers a confidential client with the default metadata and a
// short name (subtests' names are too long for client_name).
func (d *directory) register(t *testing.T) *client {
	t.Helper()
	return d.s.register(t, func(m metadata) { m["client_name"] = "oidcflow directory " + suffix() })
}

// suffix is a random lower-case tag that keeps names apart on a shared
// database.
func suffix() string { return strings.ToLower(rand.Text()[:12]) }

// call sends a JSON request (no body when body is nil) with header set by
// auth and reads the answer.
func (d *directory) call(t *testing.T, method, path string, body any, auth func(*http.Request)) response {
	t.Helper()
	var rd io.Reader
	ctype := ""
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req := d.s.newRequest(t, method, path, ctype, rd)
	auth(req)
	return d.s.send(t, req)
}

// admin calls the administration API with the platform admin key and
// checks the status.
func (d *directory) admin(t *testing.T, method, path string, body any, want int) response {
	t.Helper()
	r := d.call(t, method, path, body, func(req *http.Request) {
		req.Header.Set("Authorization", "Bearer "+d.s.env.AdminKey)
	})
	require.Equal(t, want, r.Status, "%s %s; body %q", method, path, clipText(string(r.Body)))
	return r
}

// manage calls the user management API as the manager client and checks
// the status.
func (d *directory) manage(t *testing.T, method, path string, body any, want int) response {
	t.Helper()
	r := d.call(t, method, path, body, func(req *http.Request) {
		req.Header.Set("x-client-id", d.manager.ID)
		req.Header.Set("x-client-secret", d.manager.Secret)
	})
	require.Equal(t, want, r.Status, "%s %s; body %q", method, path, clipText(string(r.Body)))
	return r
}

// newOrg creates an organization and lets the manager do everything in it.
func (d *directory) newOrg(t *testing.T) org {
	t.Helper()
	name := "oidcflow directory " + suffix()
	m := d.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": name}, http.StatusCreated).JSON(t)
	o := org{Name: name}
	o.ID, _ = m["id"].(string)
	require.NotEmpty(t, o.ID, "the new organization has an id")
	d.admin(t, http.MethodPut, pathAdminClients+"/"+d.manager.ID+"/grants/"+o.ID, map[string]any{
		"actions": []string{"provision", "read", "update", "suspend", "deactivate", "delete", "reset_password"},
	}, http.StatusOK)
	return o
}

// settings changes a client's administrative settings.
func (d *directory) settings(t *testing.T, c *client, patch map[string]any) map[string]any {
	t.Helper()
	return d.admin(t, http.MethodPatch, pathAdminClients+"/"+c.ID, patch, http.StatusOK).JSON(t)
}

// provision provisions a new user into the suite's organization with an
// invitation, and checks that the invitation was sent.
func (d *directory) provision(t *testing.T) *member {
	t.Helper()
	return d.provisionEmail(t, "oidcflow-"+suffix()+"@example.com")
}

// provisionEmail provisions email as provision does.
func (d *directory) provisionEmail(t *testing.T, email string) *member {
	t.Helper()
	return d.provisionInto(t, d.org, email)
}

// provisionInto provisions email into o, an organization the suite made.
func (d *directory) provisionInto(t *testing.T, o org, email string) *member {
	t.Helper()
	resp := d.manage(t, http.MethodPost, pathProvision, map[string]any{
		"email": email, "firstName": "Ada", "lastName": "Directory",
		"organizationId": o.ID, "sendInviteEmail": true,
	}, http.StatusCreated).JSON(t)
	require.Equal(t, true, resp["inviteSent"], "the invitation was sent; answer %v", resp)
	require.Equal(t, "invited", resp["status"])
	m := &member{Email: email}
	m.ID, _ = resp["userId"].(string)
	require.NotEmpty(t, m.ID, "provisioning returns the userId")
	return m
}

// activeMember provisions a user and accepts the invitation in a browser,
// as the user would, choosing a password.
func (d *directory) activeMember(t *testing.T) *member {
	t.Helper()
	return d.activate(t, d.provision(t))
}

// activate accepts m's invitation in a browser, choosing a password; this
// verifies m's email.
func (d *directory) activate(t *testing.T, m *member) *member {
	t.Helper()
	a := d.s.newAgent(t)
	l := a.get(t, d.nextLink(t, m, pathInvite))
	f := l.formWith(t, passwordLabels, nil)
	require.NotNil(t, f, "the invitation page has the password form; got %d %q", l.Status, l.Text())
	m.Password = newPassword()
	l = a.submit(t, f, map[string]string{"New password": m.Password, "Repeat the password": m.Password}, "")
	require.Equal(t, http.StatusOK, l.Status, "accepting the invitation succeeds: %q", l.Text())
	return m
}

func newPassword() string { return "pw " + suffix() + " horse" }

// nextLink waits for the next mail to m and returns its link to path on the
// provider. It fails when more mail came than the suite expects.
func (d *directory) nextLink(t *testing.T, m *member, path string) string {
	t.Helper()
	m.mails++
	msgs := d.s.env.Mailbox(t, m.Email, m.mails)
	require.Len(t, msgs, m.mails, "mails to %s: exactly the ones the suite caused", m.Email)
	return mailLink(t, msgs[m.mails-1].Text, d.s.env.BaseURL+path)
}

// mailLink finds the link that starts with prefix+"?token=" in a mail.
func mailLink(t *testing.T, text, prefix string) string {
	t.Helper()
	for _, word := range strings.Fields(text) {
		if strings.HasPrefix(word, prefix+"?token=") {
			u, err := url.Parse(word)
			require.NoError(t, err, "the mail's link is a URL")
			require.NotEmpty(t, u.Query().Get("token"), "the link carries a token")
			return word
		}
	}
	require.Failf(t, "no link in the mail", "want a link %s?token=...; mail:\n%s", prefix, text)
	return ""
}

// as returns the suite with m's credentials as the env's user, so signIn and
// signInTokens sign m in.
func (s *suite) as(m *member) *suite {
	env := s.env
	env.Email, env.Password = m.Email, m.Password
	return &suite{env: env, base: s.base, http: s.http, transport: s.transport, ctx: s.ctx, provider: s.provider, keys: s.keys}
}

// values is what submit would post: the hidden and prefilled inputs, the
// ones filled by label, and the only button.
func (f *form) values(t *testing.T, fill map[string]string) url.Values {
	t.Helper()
	vals := cloneValues(f.Hidden)
	for name, v := range f.Values {
		vals.Set(name, v)
	}
	for label, v := range fill {
		name, ok := f.Inputs[label]
		require.True(t, ok, "the form has no input labelled %q", label)
		vals.Set(name, v)
	}
	require.Len(t, f.Buttons, 1, "the form has one submit button")
	if b := f.Buttons[0]; b.Name != "" {
		vals.Set(b.Name, b.Value)
	}
	return vals
}

// link returns the target of the page's link with the given text, or nil.
func (l *landing) link(text string) *url.URL {
	var found *url.URL
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "a" && textOf(n) == text {
			found, _ = l.URL.Parse(attr(n, "href"))
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if l.doc != nil {
		walk(l.doc)
	}
	return found
}

// requireRefusedPage checks a 4xx error page: no form to go on with, and
// the message in the page.
func requireRefusedPage(t *testing.T, l *landing, message string) {
	t.Helper()
	assert.GreaterOrEqual(t, l.Status, 400, "a refused form is a 4xx; got %d %q", l.Status, l.Text())
	assert.Less(t, l.Status, 500)
	assert.Nil(t, l.Left)
	assert.Empty(t, l.forms(t), "the error page has no form")
	assert.Contains(t, l.Text(), message)
}

// idClaims decodes the ID token's claims.
func idClaims(t *testing.T, tok tokens) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, tok.IDToken.Claims(&m))
	return m
}

// directoryClaimNames are the claims of the organization and permissions
// scopes (integration guide §3).
var directoryClaimNames = []string{"organization_id", "organization_memberships", "roles", "permissions"}

func requireNoDirectoryClaims(t *testing.T, claims map[string]any, where string) {
	t.Helper()
	for _, k := range directoryClaimNames {
		assert.NotContains(t, claims, k, "%s must not carry %s", where, k)
	}
}
