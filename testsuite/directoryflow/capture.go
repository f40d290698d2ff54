package directoryflow

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureChecks are the attacks on accounts that belong to other
// organizations: provisioning an email must never hand another
// organization's account to the caller.
var captureChecks = []check{
	{"provisioning another organization's account makes a pending membership that reveals nothing", captureRevealsNothing},
	{"a client gives admin only with assign_admin and owner never", captureRoles},
	{"the home organization keeps control of an account that joined another", captureHomeKeepsControl},
	{"a platform administrator acts on any account, pending memberships shown", captureAdminActs},
	{"leaving an organization drops the licenses of applications that reached the user only through it", captureLeaveDropsLicense},
	{"a verified domain links no unverified account at once, and only its organization creates accounts in it", captureVerifiedDomain},
	{"the domains API: verify, list, read, refuse another organization's, delete", domainsAPI},
}

// provisionPending provisions as c an email whose account c cannot see, and
// checks the answer: 200, pending, only what c sent.
func (s *suite) provisionPending(t *testing.T, c *apiClient, in provisionReq) provisioned {
	t.Helper()
	r := s.call(t, c, http.MethodPost, pathProvision, in)
	require.Equal(t, http.StatusOK, r.Status, "provision %s; body %q", in.Email, r)
	var raw map[string]any
	r.decode(t, &raw)
	assert.NotContains(t, raw, "userId", "the caller may not learn the account's id")
	assert.NotContains(t, raw, "status", "nor its status")
	var p provisioned
	r.decode(t, &p)
	assert.False(t, p.IsNewUser)
	assert.Equal(t, "pending", p.MembershipStatus)
	assert.Equal(t, in.FirstName, p.FirstName, "the answer echoes what was sent")
	assert.Equal(t, in.LastName, p.LastName)
	assert.Equal(t, in.OrganizationID, p.OrganizationID)
	assert.False(t, p.LicenseAssigned, "a pending membership brings no license")
	return p
}

// heard reports whether any event about the user reached org or client.
func (s *suite) heard(t *testing.T, userID, orgID, clientID string) bool {
	for _, e := range s.events(t, ofUser(userID)) {
		if slices.Contains(e.Audience.OrganizationIDs, orgID) || slices.Contains(e.Audience.LicenseClientIDs, clientID) {
			return true
		}
	}
	return false
}

func captureRevealsNothing(t *testing.T, s *suite) {
	b, bc := s.newTenant(t, "capture home")
	victim := s.newUser(t, bc, b.ID, "capture")
	a := s.newOrg(t, "capture attacker")
	ac := s.register(t)
	s.grant(t, ac, a.ID, actProvision)

	in := provisionReq{Email: victim.Email, FirstName: "Guess", LastName: "Who", OrganizationID: a.ID, Role: "member", SendInviteEmail: true}
	for range 2 {
		p := s.provisionPending(t, ac, in)
		assert.NotEqual(t, victim.FirstName, p.FirstName, "the account's real name is never shown")
	}
	assert.Len(t, s.env.Mailbox(t, victim.Email, 1), 1, "its holder is asked once, not once a request")

	s.grant(t, ac, a.ID, allActions...)
	requireError(t, s.call(t, ac, http.MethodGet, userPath(victim.UserID), nil), http.StatusNotFound, "user_not_found")
	for _, action := range []string{"suspend", "deactivate", "reset-password"} {
		requireError(t, s.call(t, ac, http.MethodPost, userPath(victim.UserID)+"/"+action, nil), http.StatusNotFound, "user_not_found")
	}
	requireError(t, s.call(t, ac, http.MethodDelete, userPath(victim.UserID), nil), http.StatusNotFound, "user_not_found")
	r := s.call(t, ac, http.MethodGet, orgUsersPath(a.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var page userPage
	r.decode(t, &page)
	assert.Empty(t, page.Users, "a pending member is not listed")
	assert.False(t, s.heard(t, victim.UserID, a.ID, ac.ID), "the attacker hears no event about the account")
	r = s.admin(t, http.MethodGet, pathAdminUsers+victim.UserID+"/licenses", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	assert.NotContains(t, r.String(), ac.ID, "no license for the attacker's application")

	// The home organization is unaffected: it still sees one membership,
	// active, and acts on the whole account.
	u := s.getUser(t, bc, victim.UserID)
	assert.Equal(t, []membership{{OrganizationID: b.ID, Role: "member", Status: "active", Primary: true}}, u.Organizations)
	assert.Equal(t, "suspended", s.lifecycle(t, bc, victim.UserID, "suspend"))
}

func captureRoles(t *testing.T, s *suite) {
	a := s.newOrg(t, "roles")
	c := s.register(t)
	s.grant(t, c, a.ID, actProvision, actRead)
	for _, role := range []string{"owner", "admin"} {
		in := newUserReq(a.ID, "roles")
		in.Role = role
		requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusForbidden, "forbidden")
		r := s.call(t, c, http.MethodPost, pathProvision+"/bulk", map[string]any{"users": []provisionReq{in}})
		require.Equal(t, http.StatusOK, r.Status, "body %q", r)
		assert.Contains(t, r.String(), `"error":"forbidden"`, "a bulk row is refused alike")
	}
	assert.Empty(t, s.members(t, a.ID), "nothing was made")

	s.grant(t, c, a.ID, actProvision, actRead, actAdmin)
	in := newUserReq(a.ID, "roles")
	in.Role = "admin"
	assert.Equal(t, "admin", s.provision(t, c, in).Role)
	in = newUserReq(a.ID, "roles")
	in.Role = "owner"
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusForbidden, "forbidden")

	// Permissions decide, not names: a custom role that manages users needs
	// assign_admin, and one that manages the organization is never a
	// client's to give.
	for name, perms := range map[string][]string{"helpdesk": {"users:manage"}, "deputy": {"roles:manage"}} {
		r := s.admin(t, http.MethodPut, adminOrgPath(a.ID)+"/roles/"+name, map[string]any{"permissions": perms})
		require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	}
	s.grant(t, c, a.ID, actProvision, actRead)
	in = newUserReq(a.ID, "roles")
	in.Role = "helpdesk"
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusForbidden, "forbidden")
	s.grant(t, c, a.ID, actProvision, actRead, actAdmin)
	assert.Equal(t, "helpdesk", s.provision(t, c, in).Role)
	in = newUserReq(a.ID, "roles")
	in.Role = "deputy"
	requireError(t, s.call(t, c, http.MethodPost, pathProvision, in), http.StatusForbidden, "forbidden")
}

func captureLeaveDropsLicense(t *testing.T, s *suite) {
	b, bc := s.newTenant(t, "licence home")
	p := s.newUser(t, bc, b.ID, "licence")
	a, ac := s.newTenant(t, "licence other")
	r := s.admin(t, http.MethodPut, adminOrgPath(a.ID)+"/members/"+p.UserID, map[string]any{"role": "member"})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	r = s.admin(t, http.MethodPut, licensePath(ac.ID, p.UserID), nil)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.Status, "body %q", r)

	r = s.call(t, ac, http.MethodDelete, userPath(p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	r = s.admin(t, http.MethodGet, pathAdminUsers+p.UserID+"/licenses", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	assert.NotContains(t, r.String(), ac.ID, "a's application no longer holds the license")
	assert.Contains(t, r.String(), bc.ID, "b's application keeps its own")
	s.waitEvents(t, 1, about("license.revoked", p.UserID))

	// From now on a hears nothing of the account.
	before := len(s.events(t, ofUser(p.UserID)))
	assert.Equal(t, "suspended", s.lifecycle(t, bc, p.UserID, "suspend"))
	s.waitEvents(t, before+1, ofUser(p.UserID))
	for _, e := range s.events(t, ofUser(p.UserID))[before:] {
		assert.NotContains(t, e.Audience.LicenseClientIDs, ac.ID, "%s reached a's application", e.Type)
		assert.NotContains(t, e.Audience.OrganizationIDs, a.ID, "%s reached a", e.Type)
	}
}

func captureHomeKeepsControl(t *testing.T, s *suite) {
	b, bc := s.newTenant(t, "control home")
	p := s.newUser(t, bc, b.ID, "control")
	a, ac := s.newTenant(t, "control other")
	s.provisionPending(t, ac, provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: a.ID})
	r := s.admin(t, http.MethodPut, adminOrgPath(a.ID)+"/members/"+p.UserID, map[string]any{"role": "member"})
	require.Equal(t, http.StatusOK, r.Status, "a platform administrator links it; body %q", r)

	// Every account-wide action of the home organization's client works,
	// though the account is in a too.
	assert.Equal(t, "suspended", s.lifecycle(t, bc, p.UserID, "suspend"))
	assert.Equal(t, "invited", s.lifecycle(t, bc, p.UserID, "reactivate"))
	r = s.call(t, bc, http.MethodPost, userPath(p.UserID)+"/reset-password", nil)
	assert.Equal(t, http.StatusAccepted, r.Status, "body %q", r)
	assert.Equal(t, "deactivated", s.lifecycle(t, bc, p.UserID, "deactivate"))
	r = s.call(t, bc, http.MethodDelete, userPath(p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.call(t, ac, http.MethodGet, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")
	assert.True(t, s.heard(t, p.UserID, a.ID, ac.ID), "the other organization heard of it once linked")
}

func captureVerifiedDomain(t *testing.T, s *suite) {
	school := "df-" + suffix() + ".example.edu"
	b, bc := s.newTenant(t, "domain home")
	// b made the account before a verified the domain, and its holder never
	// proved the address: anyone could have named it so. (An account whose
	// email is verified joins at once: the OIDC suite's join checks, which
	// can accept an invitation in a browser, cover that.)
	p := s.provision(t, bc, provisionReq{Email: "teacher@" + school, FirstName: "Tess", LastName: "Teacher", OrganizationID: b.ID})
	a, ac := s.newTenant(t, "domain owner")
	r := s.admin(t, http.MethodPut, adminOrgPath(a.ID)+"/domains/"+school, nil)
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)

	pending := s.provisionPending(t, ac, provisionReq{Email: "Teacher@" + school, FirstName: "T", LastName: "T", OrganizationID: a.ID})
	assert.True(t, pending.InviteSent, "its holder is asked")
	requireError(t, s.call(t, ac, http.MethodGet, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")

	// Nobody else creates accounts in a's domain; a does.
	requireError(t, s.call(t, bc, http.MethodPost, pathProvision,
		provisionReq{Email: "new@" + school, FirstName: "N", LastName: "N", OrganizationID: b.ID}), http.StatusForbidden, "domain_owned")
	mine := s.provision(t, ac, provisionReq{Email: "new@" + school, FirstName: "N", LastName: "N", OrganizationID: a.ID})
	assert.True(t, mine.IsNewUser)
}

func domainsAPI(t *testing.T, s *suite) {
	a, b := s.newOrg(t, "domains"), s.newOrg(t, "domains other")
	name := "df-" + suffix() + ".example.edu"
	path := adminOrgPath(a.ID) + "/domains/"
	r := s.admin(t, http.MethodPut, path+name+".", nil)
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	got := map[string]any{}
	r.decode(t, &got)
	assert.Equal(t, name, got["domain"], "stored lower-case without the trailing dot")
	assert.Equal(t, a.ID, got["organizationId"])
	assert.Regexp(t, `^admin:`, got["verifiedBy"], "who verified it is recorded")
	r = s.admin(t, http.MethodPut, path+name, nil)
	assert.Equal(t, http.StatusOK, r.Status, "again is 200; body %q", r)
	requireError(t, s.admin(t, http.MethodPut, adminOrgPath(b.ID)+"/domains/"+name, nil), http.StatusConflict, "domain_taken")
	for _, bad := range []string{"localhost", "-bad-.edu", "a..edu", "under_score.edu"} {
		requireError(t, s.admin(t, http.MethodPut, path+bad, nil), http.StatusBadRequest, "invalid_domain")
	}
	requireError(t, s.admin(t, http.MethodPut, adminOrgPath("00000000-0000-4000-8000-000000000009")+"/domains/"+name, nil),
		http.StatusNotFound, "organization_not_found")
	r = s.call(t, &apiClient{ID: "cca_x", Secret: "ccas_x"}, http.MethodPut, path+name, nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "the admin API needs an admin key")

	r = s.admin(t, http.MethodGet, adminOrgPath(a.ID)+"/domains", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var list struct {
		Domains []map[string]any `json:"domains"`
	}
	r.decode(t, &list)
	require.Len(t, list.Domains, 1)
	assert.Equal(t, name, list.Domains[0]["domain"])
	r = s.admin(t, http.MethodGet, path+name, nil)
	assert.Equal(t, http.StatusOK, r.Status)
	requireError(t, s.admin(t, http.MethodGet, adminOrgPath(b.ID)+"/domains/"+name, nil), http.StatusNotFound, "domain_not_found")

	requireError(t, s.admin(t, http.MethodDelete, adminOrgPath(b.ID)+"/domains/"+name, nil), http.StatusNotFound, "domain_not_found")
	r = s.admin(t, http.MethodDelete, path+name, nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.admin(t, http.MethodDelete, path+name, nil), http.StatusNotFound, "domain_not_found")
	r = s.admin(t, http.MethodPut, adminOrgPath(b.ID)+"/domains/"+name, nil)
	assert.Equal(t, http.StatusCreated, r.Status, "a deleted domain is free for another organization; body %q", r)
}

func captureAdminActs(t *testing.T, s *suite) {
	b, bc := s.newTenant(t, "admin home")
	p := s.newUser(t, bc, b.ID, "admin")
	a, ac := s.newTenant(t, "admin other")
	s.provisionPending(t, ac, provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: a.ID})

	path := pathAdminUsers + p.UserID
	r := s.admin(t, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var u user
	r.decode(t, &u)
	assert.ElementsMatch(t, []membership{
		{OrganizationID: b.ID, Role: "member", Status: "active", Primary: true},
		{OrganizationID: a.ID, Role: "member", Status: "pending"},
	}, u.Organizations, "the administrator sees every membership")
	for _, step := range []struct{ action, want string }{{"suspend", "suspended"}, {"reactivate", "invited"}, {"deactivate", "deactivated"}} {
		r = s.admin(t, http.MethodPost, path+"/"+step.action, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s; body %q", step.action, r)
		r.decode(t, &u)
		assert.Equal(t, step.want, u.Status, step.action)
	}
	r = s.call(t, bc, http.MethodPost, path+"/suspend", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "a client is no administrator")

	// The administrator drops the pending membership, but not the home.
	member := adminOrgPath(a.ID) + "/members/" + p.UserID
	r = s.admin(t, http.MethodDelete, member, nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.admin(t, http.MethodDelete, member, nil), http.StatusNotFound, "membership_not_found")
	requireError(t, s.admin(t, http.MethodDelete, adminOrgPath(b.ID)+"/members/"+p.UserID, nil), http.StatusConflict, "home_membership")
	r = s.admin(t, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	r.decode(t, &u)
	assert.Len(t, u.Organizations, 1, "only the home membership is left")
	r = s.admin(t, http.MethodDelete, path, nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.admin(t, http.MethodGet, path, nil), http.StatusNotFound, "user_not_found")
	requireError(t, s.admin(t, http.MethodDelete, path, nil), http.StatusNotFound, "user_not_found")
	requireError(t, s.admin(t, http.MethodPost, pathAdminUsers+"x/suspend", nil), http.StatusNotFound, "user_not_found")
}
