package directoryflow

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var provisionChecks = []check{
	{"provisioning a new user answers 201 with the guide's fields", provisionNew},
	{"provisioning the same email in another case answers 200 with the same user", provisionExistingOtherCase},
	{"sixteen parallel identical provisions make one user: one 201, fifteen 200", provisionConcurrent},
	{"sendInviteEmail mails an invitation link to <BaseURL>/invite?token=", provisionInvite},
	{"the role defaults to member", provisionDefaultRole},
	{"provisioning again keeps an existing membership's role", provisionKeepsRole},
	{"provisioning an existing user into a second organization adds a membership", provisionSecondOrg},
	{"parallel provisions of one email into two organizations make one user with two memberships", provisionConcurrentOrgs},
	{"provisioning a suspended user keeps them suspended and sends no invitation", provisionSuspended},
}

func provisionNew(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "new")
	email := newEmail("new")
	r := s.call(t, c, http.MethodPost, pathProvision, provisionReq{
		Email: strings.ToUpper(email), FirstName: "New", LastName: "User", OrganizationID: o.ID, Role: "member",
	})
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
	var p provisioned
	r.decode(t, &p)
	assert.NotEmpty(t, p.UserID)
	assert.Equal(t, email, p.Email, "the email is stored lower-cased")
	assert.Equal(t, "New", p.FirstName)
	assert.Equal(t, "User", p.LastName)
	assert.Equal(t, o.ID, p.OrganizationID)
	assert.Equal(t, "member", p.Role)
	assert.Equal(t, "invited", p.Status, "a provisioned user has no password yet")
	assert.True(t, p.IsNewUser)
	assert.True(t, p.LicenseAssigned, "guide §4: the provisioning app gets a license")
	assert.False(t, p.InviteSent, "no invitation was asked for")

	u := s.getUser(t, c, p.UserID)
	assert.Equal(t, email, u.Email)
	assert.Equal(t, "invited", u.Status)
	assert.Equal(t, []membership{{OrganizationID: o.ID, Role: "member", Status: "active", Primary: true}}, u.Organizations)
	assert.Regexp(t, jsTime, u.CreatedAt)

	r = s.admin(t, http.MethodGet, pathAdminUsers+p.UserID+"/licenses", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	assert.Contains(t, string(r.Body), `"clientId":"`+c.ID+`"`, "the license is the provisioning client's")
}

func provisionExistingOtherCase(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "case")
	first := s.newUser(t, c, o.ID, "case")
	r := s.call(t, c, http.MethodPost, pathProvision, provisionReq{
		Email: "  " + strings.ToUpper(first.Email) + " ", FirstName: "Other", LastName: "Name", OrganizationID: o.ID,
	})
	require.Equal(t, http.StatusOK, r.Status, "an existing user is 200; body %q", r)
	var p provisioned
	r.decode(t, &p)
	assert.Equal(t, first.UserID, p.UserID)
	assert.Equal(t, first.Email, p.Email)
	assert.False(t, p.IsNewUser)
	assert.True(t, p.LicenseAssigned)
	assert.Equal(t, "Jane", p.FirstName, "provisioning does not overwrite an existing user's name")
}

func provisionConcurrent(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "race")
	in := newUserReq(o.ID, "race")
	const n = 16
	req := jsonRequest(t, http.MethodPost, pathProvision, c.header(), in)
	answers, errs := make([]response, n), make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i], errs[i] = s.roundTrip(req)
		})
	}
	close(start)
	wg.Wait()
	created, ids := 0, map[string]bool{}
	for i, r := range answers {
		require.NoError(t, errs[i], "request %d", i)
		require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Status, "request %d; body %q", i, r)
		var p provisioned
		r.decode(t, &p)
		ids[p.UserID] = true
		if r.Status == http.StatusCreated {
			created++
			assert.True(t, p.IsNewUser)
		} else {
			assert.False(t, p.IsNewUser)
		}
	}
	assert.Equal(t, 1, created, "exactly one request creates the user")
	assert.Len(t, ids, 1, "every answer names the same user")
	assert.Len(t, s.members(t, o.ID), 1, "the organization has one member")
}

func provisionInvite(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "invite")
	in := newUserReq(o.ID, "invite")
	in.SendInviteEmail = true
	p := s.provision(t, c, in)
	assert.True(t, p.InviteSent)
	mails := s.env.Mailbox(t, in.Email, 1)
	link := findLink(t, mails[0].Text, s.env.BaseURL+"/invite")
	assert.NotEmpty(t, link.Query().Get("token"), "the link carries a token")
	assert.Equal(t, []string{"token"}, keysOf(link.Query()), "the token is the link's only parameter")
}

// findLink returns the first URL in text that starts with prefix+"?".
func findLink(t *testing.T, text, prefix string) *url.URL {
	t.Helper()
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, prefix+"?") {
			u, err := url.Parse(strings.TrimRight(w, ".,;)>"))
			require.NoError(t, err)
			return u
		}
	}
	require.Failf(t, "no link in the mail", "want a link %s?token=…; mail text %q", prefix, text)
	return nil
}

func keysOf(v url.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}

func provisionDefaultRole(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "defrole")
	p := s.newUser(t, c, o.ID, "defrole")
	assert.Equal(t, "member", p.Role)
	assert.Equal(t, "member", s.getUser(t, c, p.UserID).Organizations[0].Role)
}

func provisionKeepsRole(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "keeprole")
	in := newUserReq(o.ID, "keeprole")
	in.Role = "admin"
	first := s.provision(t, c, in)
	require.Equal(t, "admin", first.Role)
	in.Role = "member"
	again := s.provision(t, c, in)
	assert.False(t, again.IsNewUser)
	assert.Equal(t, "admin", again.Role, "the answer shows the membership's own role")
	assert.Equal(t, "admin", s.getUser(t, c, first.UserID).Organizations[0].Role, "the stored role is unchanged")
}

func provisionSecondOrg(t *testing.T, s *suite) {
	a, c := s.newTenant(t, "second")
	b := s.newOrg(t, "second")
	s.grant(t, c, b.ID, allActions...)
	p := s.newUser(t, c, a.ID, "second")
	in := provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: b.ID, Role: "admin"}
	again := s.provision(t, c, in)
	assert.False(t, again.IsNewUser)
	assert.Equal(t, p.UserID, again.UserID)
	assert.Equal(t, b.ID, again.OrganizationID)
	assert.Equal(t, "admin", again.Role)
	u := s.getUser(t, c, p.UserID)
	assert.ElementsMatch(t, []membership{
		{OrganizationID: a.ID, Role: "member", Status: "active", Primary: true},
		{OrganizationID: b.ID, Role: "admin", Status: "active", Primary: false},
	}, u.Organizations)
}

func provisionConcurrentOrgs(t *testing.T, s *suite) {
	a, c := s.newTenant(t, "raceorgs")
	b := s.newOrg(t, "raceorgs")
	s.grant(t, c, b.ID, allActions...)
	email := newEmail("raceorgs")
	const n = 8
	answers, errs := make([]response, n), make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		orgID := a.ID
		if i%2 == 1 {
			orgID = b.ID
		}
		req := jsonRequest(t, http.MethodPost, pathProvision, c.header(), provisionReq{Email: email, FirstName: "Jane", LastName: "Smith", OrganizationID: orgID})
		wg.Go(func() {
			<-start
			answers[i], errs[i] = s.roundTrip(req)
		})
	}
	close(start)
	wg.Wait()
	created, ids := 0, map[string]bool{}
	for i, r := range answers {
		require.NoError(t, errs[i])
		require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Status, "request %d; body %q", i, r)
		var p provisioned
		r.decode(t, &p)
		ids[p.UserID] = true
		if r.Status == http.StatusCreated {
			created++
		}
	}
	assert.Equal(t, 1, created, "exactly one request creates the user")
	require.Len(t, ids, 1, "every answer names the same user")
	for id := range ids {
		u := s.getUser(t, c, id)
		assert.Len(t, u.Organizations, 2, "one membership in each organization")
		primaries := 0
		for _, m := range u.Organizations {
			if m.Primary {
				primaries++
			}
		}
		assert.Equal(t, 1, primaries, "exactly one membership is primary")
	}
}

func provisionSuspended(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "suspended")
	p := s.newUser(t, c, o.ID, "suspended")
	assert.Equal(t, "suspended", s.lifecycle(t, c, p.UserID, "suspend"))
	in := provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: o.ID, SendInviteEmail: true}
	again := s.provision(t, c, in)
	assert.False(t, again.IsNewUser)
	assert.Equal(t, "suspended", again.Status)
	assert.False(t, again.InviteSent, "a suspended user is not invited")
	assert.Equal(t, "suspended", s.getUser(t, c, p.UserID).Status)
	assert.Empty(t, s.env.Mailbox(t, p.Email, 0), "no mail was sent")
}
