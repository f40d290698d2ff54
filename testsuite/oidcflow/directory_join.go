package oidcflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pathJoin is the page an invitation to join another organization opens.
const pathJoin = "/join"

var joinChecks = []dirCheck{
	{"an organization that cannot see an account gets a pending membership, and its holder accepts by password", joinAccept},
	{"the holder may decline, and the organization still sees nothing", joinDecline},
	{"a verified domain links an account whose email is verified at once, and an unverified one only with its holder's consent", joinVerifiedDomain},
}

// joinLabels and joinButtons make up the join form.
var (
	joinLabels  = []string{"Your password"}
	joinButtons = []string{"Accept and join", "Decline"}
)

// stranger is a client granted only a fresh organization of its own: it
// cannot see the directory's members.
func (d *directory) stranger(t *testing.T) (*client, org) {
	t.Helper()
	c := d.register(t)
	name := "oidcflow stranger " + suffix()
	m := d.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": name}, http.StatusCreated).JSON(t)
	o := org{Name: name}
	o.ID, _ = m["id"].(string)
	d.admin(t, http.MethodPut, pathAdminClients+"/"+c.ID+"/grants/"+o.ID, map[string]any{
		"actions": []string{"provision", "read", "update", "suspend", "deactivate", "delete", "reset_password"},
	}, http.StatusOK)
	return c, o
}

func as(c *client) func(*http.Request) {
	return func(req *http.Request) {
		req.Header.Set("x-client-id", c.ID)
		req.Header.Set("x-client-secret", c.Secret)
	}
}

// provisionPending provisions m's email into o as c and checks the answer
// of a pending membership: only what c sent, no id, no status.
func (d *directory) provisionPending(t *testing.T, c *client, o org, m *member) {
	t.Helper()
	r := d.call(t, http.MethodPost, pathProvision, map[string]any{
		"email": m.Email, "firstName": "Some", "lastName": "Guess", "organizationId": o.ID,
	}, as(c))
	require.Equal(t, http.StatusOK, r.Status, "an existing account is 200; body %q", clipText(string(r.Body)))
	got := r.JSON(t)
	assert.Equal(t, false, got["isNewUser"])
	assert.Equal(t, "pending", got["membershipStatus"])
	assert.Equal(t, "Some", got["firstName"], "the answer echoes what was sent, never the account's name")
	assert.Equal(t, "Guess", got["lastName"])
	assert.NotContains(t, got, "userId", "the caller may not read the account")
	assert.NotContains(t, got, "status")
	assert.Equal(t, false, got["licenseAssigned"])
	assert.Equal(t, true, got["inviteSent"], "the account's holder is asked")
	r = d.call(t, http.MethodGet, "/api/v1/users/"+m.ID, nil, as(c))
	assert.Equal(t, http.StatusNotFound, r.Status, "a pending membership shows nothing; body %q", clipText(string(r.Body)))
}

func (d *directory) joinForm(t *testing.T, l *landing) *form {
	t.Helper()
	f := l.formWith(t, joinLabels, joinButtons)
	require.NotNil(t, f, "the join page has the password form with both buttons; got %d %q", l.Status, l.Text())
	return f
}

func joinAccept(t *testing.T, d *directory) {
	m := d.activeMember(t)
	c, o := d.stranger(t)
	d.provisionPending(t, c, o, m)

	a := d.s.newAgent(t)
	link := d.nextLink(t, m, pathJoin)
	f := d.joinForm(t, a.get(t, link))
	l := a.submit(t, f, map[string]string{"Your password": "not " + m.Password}, "Accept and join")
	assert.Equal(t, http.StatusBadRequest, l.Status, "a wrong password is refused: %q", l.Text())
	f = d.joinForm(t, l)
	r := d.call(t, http.MethodGet, "/api/v1/users/"+m.ID, nil, as(c))
	assert.Equal(t, http.StatusNotFound, r.Status, "nothing changed")

	l = a.submit(t, f, map[string]string{"Your password": m.Password}, "Accept and join")
	require.Equal(t, http.StatusOK, l.Status, "the right password accepts: %q", l.Text())
	assert.Contains(t, l.Text(), "You joined "+o.Name)

	r = d.call(t, http.MethodGet, "/api/v1/users/"+m.ID, nil, as(c))
	require.Equal(t, http.StatusOK, r.Status, "the organization now sees its member; body %q", clipText(string(r.Body)))
	u := r.JSON(t)
	assert.Equal(t, "Ada", u["firstName"], "the account's own name")
	orgs, _ := u["organizations"].([]any)
	require.Len(t, orgs, 1, "only its own membership")
	mem, _ := orgs[0].(map[string]any)
	assert.Equal(t, o.ID, mem["organizationId"])
	assert.Equal(t, "active", mem["status"])
	r = d.call(t, http.MethodPost, "/api/v1/users/"+m.ID+"/suspend", nil, as(c))
	require.Equal(t, http.StatusOK, r.Status, "body %q", clipText(string(r.Body)))
	assert.Equal(t, "active", r.JSON(t)["status"], "another organization suspends its membership, not the account")
	r = d.call(t, http.MethodPost, "/api/v1/users/"+m.ID+"/reset-password", nil, as(c))
	assert.Equal(t, http.StatusForbidden, r.Status, "the password is the home organization's")

	l = a.get(t, link)
	l = a.submit(t, d.joinForm(t, l), map[string]string{"Your password": m.Password}, "Accept and join")
	requireRefusedPage(t, l, "invalid, expired or already used")
}

func joinDecline(t *testing.T, d *directory) {
	m := d.activeMember(t)
	c, o := d.stranger(t)
	d.provisionPending(t, c, o, m)
	a := d.s.newAgent(t)
	l := a.get(t, d.nextLink(t, m, pathJoin))
	l = a.submit(t, d.joinForm(t, l), map[string]string{"Your password": m.Password}, "Decline")
	require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
	assert.Contains(t, l.Text(), "Invitation declined")
	r := d.call(t, http.MethodGet, "/api/v1/users/"+m.ID, nil, as(c))
	assert.Equal(t, http.StatusNotFound, r.Status)
	// Asking again asks the holder again.
	d.provisionPending(t, c, o, m)
	d.nextLink(t, m, pathJoin)
}

func joinVerifiedDomain(t *testing.T, d *directory) {
	school := "oidcflow-" + suffix() + ".example.edu"
	c, o := d.stranger(t)
	// The directory's organization makes both accounts before o verifies
	// the domain; only one holder proves the address.
	proven := d.activate(t, d.provisionEmail(t, "proven@"+school))
	unproven := d.provisionEmail(t, "unproven@"+school)
	d.nextLink(t, unproven, pathInvite) // the directory's invitation, left unused
	d.admin(t, http.MethodPut, pathAdminOrgs+"/"+o.ID+"/domains/"+school, nil, http.StatusCreated)

	r := d.call(t, http.MethodPost, pathProvision, map[string]any{
		"email": proven.Email, "firstName": "P", "lastName": "P", "organizationId": o.ID,
	}, as(c))
	require.Equal(t, http.StatusOK, r.Status, "body %q", clipText(string(r.Body)))
	assert.Equal(t, "active", r.JSON(t)["membershipStatus"], "a verified email in o's domain joins o at once")
	assert.Equal(t, proven.ID, r.JSON(t)["userId"])

	d.provisionPending(t, c, o, unproven)
	d.nextLink(t, unproven, pathJoin)
}
