package directoryflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

var tenancyChecks = []check{
	{"a client with no grants is refused 403 on every endpoint, and nothing changes", tenancyNoGrants},
	{"a user outside the client's organizations is 404 on every user endpoint, and provisioning or listing there is 403", tenancyOutside},
	{"a grant without the needed action is refused 403 on every endpoint", tenancyMissingAction},
	{"a missing or wrong client credential is 401 invalid_client on every endpoint", tenancyBadCredentials},
	{"account-wide actions are the home organization's; another organization acts on its own membership", tenancyHome},
	{"a client sees only the memberships in its own organizations", tenancyVisibleMemberships},
	{"withdrawing a grant takes effect on the next call", tenancyGrantWithdrawn},
}

// endpoint is one route of the user management API and the grant action
// it needs.
type endpoint struct {
	name, method, action string
	path                 func(userID, orgID string) string
	body                 func(orgID string) any
	onUser               bool // it acts on one user (else on an organization)
}

func userRoute(suffix string) func(string, string) string {
	return func(userID, _ string) string { return userPath(userID) + suffix }
}

func noBody(string) any { return nil }

var endpoints = []endpoint{
	{"provision", http.MethodPost, actProvision, func(string, string) string { return pathProvision },
		func(orgID string) any { return newUserReq(orgID, "ep") }, false},
	{"bulk provision", http.MethodPost, actProvision, func(string, string) string { return pathProvisionBulk },
		func(orgID string) any { return map[string]any{"users": []provisionReq{newUserReq(orgID, "ep")}} }, false},
	{"get", http.MethodGet, actRead, userRoute(""), noBody, true},
	{"patch", http.MethodPatch, actUpdate, userRoute(""), func(string) any { return map[string]any{"firstName": "Changed"} }, true},
	{"suspend", http.MethodPost, actSuspend, userRoute("/suspend"), noBody, true},
	{"reactivate", http.MethodPost, actSuspend, userRoute("/reactivate"), noBody, true},
	{"deactivate", http.MethodPost, actDeactivate, userRoute("/deactivate"), noBody, true},
	{"delete", http.MethodDelete, actDelete, userRoute(""), noBody, true},
	{"reset-password", http.MethodPost, actReset, userRoute("/reset-password"), noBody, true},
	{"list", http.MethodGet, actRead, func(_, orgID string) string { return orgUsersPath(orgID) }, noBody, false},
}

var userEndpoints = func() []endpoint {
	var out []endpoint
	for _, e := range endpoints {
		if e.onUser {
			out = append(out, e)
		}
	}
	return out
}()

// callAs calls an endpoint for a user and organization with given headers.
func (s *suite) callAs(t *testing.T, header http.Header, e endpoint, userID, orgID string) response {
	t.Helper()
	return s.send(t, jsonRequest(t, e.method, e.path(userID, orgID), header, e.body(orgID)))
}

// target is a user that refused calls must leave as they were.
type target struct {
	org    org
	owner  *apiClient // granted every action on org
	user   provisioned
	before user
}

func (s *suite) newTarget(t *testing.T, tag string) target {
	t.Helper()
	o, owner := s.newTenant(t, tag)
	p := s.newUser(t, owner, o.ID, tag)
	return target{org: o, owner: owner, user: p, before: s.getUser(t, owner, p.UserID)}
}

// requireUnchanged checks that the user, their organization's members, their
// mail and their events are as before the refused calls.
func (s *suite) requireUnchanged(t *testing.T, tg target) {
	t.Helper()
	assert.Equal(t, tg.before, s.getUser(t, tg.owner, tg.user.UserID), "the user is unchanged")
	assert.Equal(t, []string{tg.user.Email}, emailsOf(s.members(t, tg.org.ID)), "nobody was provisioned")
	assert.Empty(t, s.env.Mailbox(t, tg.user.Email, 0), "no mail was sent")
	for _, e := range s.events(t, ofUser(tg.user.UserID)) {
		assert.Contains(t, []string{domain.EventUserCreated, domain.EventLicenseAssigned}, e.Type, "no event but the provisioning's")
	}
}

func tenancyNoGrants(t *testing.T, s *suite) {
	tg := s.newTarget(t, "nogrants")
	x := s.register(t)
	for _, e := range endpoints {
		r := s.callAs(t, x.header(), e, tg.user.UserID, tg.org.ID)
		assert.Equal(t, http.StatusForbidden, r.Status, "%s without grants is 403; body %q", e.name, r)
		requireError(t, r, r.Status, "forbidden")
	}
	s.requireUnchanged(t, tg)
}

func tenancyOutside(t *testing.T, s *suite) {
	tg := s.newTarget(t, "outside")
	_, x := s.newTenant(t, "outside caller")
	for _, e := range endpoints {
		r := s.callAs(t, x.header(), e, tg.user.UserID, tg.org.ID)
		switch {
		case e.onUser:
			assert.Equal(t, http.StatusNotFound, r.Status, "%s of a user outside the client's organizations is 404; body %q", e.name, r)
			requireError(t, r, r.Status, "user_not_found")
		case e.name == "bulk provision":
			requireBulkRowForbidden(t, r)
		default:
			assert.Equal(t, http.StatusForbidden, r.Status, "%s in an organization not granted is 403; body %q", e.name, r)
			requireError(t, r, r.Status, "forbidden")
		}
	}
	s.requireUnchanged(t, tg)
}

// requireBulkRowForbidden checks a one-row bulk answer whose row was refused.
func requireBulkRowForbidden(t *testing.T, r response) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "bulk answers per row; body %q", r)
	var res bulkResult
	r.decode(t, &res)
	require.Len(t, res.Results, 1)
	assert.Equal(t, "error", res.Results[0].Status)
	assert.Equal(t, "forbidden", res.Results[0].Error)
	assert.Equal(t, map[string]int{"created": 0, "existing": 0, "error": 1}, res.Summary)
}

func tenancyMissingAction(t *testing.T, s *suite) {
	tg := s.newTarget(t, "noaction")
	for _, e := range endpoints {
		x := s.register(t)
		s.grant(t, x, tg.org.ID, allExcept(e.action)...)
		r := s.callAs(t, x.header(), e, tg.user.UserID, tg.org.ID)
		if e.name == "bulk provision" {
			requireBulkRowForbidden(t, r)
			continue
		}
		assert.Equal(t, http.StatusForbidden, r.Status, "%s without %q is 403; body %q", e.name, e.action, r)
		requireError(t, r, r.Status, "forbidden")
	}
	s.requireUnchanged(t, tg)
}

func tenancyBadCredentials(t *testing.T, s *suite) {
	tg := s.newTarget(t, "badcreds")
	other := s.register(t)
	public := s.registerPublic(t)
	c := tg.owner
	variants := []struct {
		name   string
		header http.Header
	}{
		{"no credentials", http.Header{}},
		{"no secret", http.Header{"X-Client-Id": {c.ID}}},
		{"an empty secret", http.Header{"X-Client-Id": {c.ID}, "X-Client-Secret": {""}}},
		{"a wrong secret", http.Header{"X-Client-Id": {c.ID}, "X-Client-Secret": {"ccas_wrong"}}},
		{"another client's secret", http.Header{"X-Client-Id": {c.ID}, "X-Client-Secret": {other.Secret}}},
		{"an unknown client id", http.Header{"X-Client-Id": {"cca_no-such-client"}, "X-Client-Secret": {c.Secret}}},
		{"the secret in Authorization instead", http.Header{"Authorization": {"Bearer " + c.Secret}}},
		{"a public client's id", http.Header{"X-Client-Id": {public}, "X-Client-Secret": {"ccas_anything"}}},
		{"an id of 300 characters", http.Header{"X-Client-Id": {"cca_" + longText(300)}, "X-Client-Secret": {c.Secret}}},
	}
	for _, e := range endpoints {
		for _, v := range variants {
			r := s.callAs(t, v.header, e, tg.user.UserID, tg.org.ID)
			assert.Equal(t, http.StatusUnauthorized, r.Status, "%s with %s is 401; body %q", e.name, v.name, r)
			requireError(t, r, r.Status, "invalid_client")
			assert.NotEmpty(t, r.Header.Get("WWW-Authenticate"), "%s with %s: a 401 names its scheme", e.name, v.name)
		}
	}
	s.requireUnchanged(t, tg)
}

func tenancyHome(t *testing.T, s *suite) {
	a, x := s.newTenant(t, "home")
	b, y := s.newTenant(t, "home other")
	s.grant(t, x, b.ID, actProvision, actRead)
	p := s.newUser(t, x, a.ID, "home")
	// x sees the account through a, so provisioning it into b links it.
	linked := s.provision(t, x, provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: b.ID})
	assert.Equal(t, "active", linked.MembershipStatus)
	assert.Equal(t, p.UserID, linked.UserID)

	// y, granted only b, acts on b's membership and never on the account.
	for _, action := range []string{"deactivate", "reset-password"} {
		r := s.call(t, y, http.MethodPost, userPath(p.UserID)+"/"+action, nil)
		requireError(t, r, http.StatusForbidden, "forbidden")
	}
	requireError(t, s.call(t, y, http.MethodPatch, userPath(p.UserID), map[string]any{"firstName": "Changed"}), http.StatusForbidden, "forbidden")
	r := s.call(t, y, http.MethodPost, userPath(p.UserID)+"/suspend", nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var u user
	r.decode(t, &u)
	assert.Equal(t, "invited", u.Status, "the account is untouched")
	assert.Equal(t, []membership{{OrganizationID: b.ID, Role: "member", Status: "suspended"}}, u.Organizations)
	ux := s.getUser(t, x, p.UserID)
	assert.Equal(t, "invited", ux.Status)
	assert.Equal(t, "Jane", ux.FirstName, "the refused profile change changed nothing")
	assert.Equal(t, "invited", s.lifecycle(t, y, p.UserID, "reactivate"), "y reactivates its membership; the answer's status is the account's")

	// y's DELETE removes b's membership only.
	r = s.call(t, y, http.MethodDelete, userPath(p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.call(t, y, http.MethodGet, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")
	ux = s.getUser(t, x, p.UserID)
	assert.Equal(t, []membership{{OrganizationID: a.ID, Role: "member", Status: "active", Primary: true}}, ux.Organizations)

	// The home organization's client acts on the account although it is in
	// b too.
	s.provision(t, x, provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: b.ID})
	assert.Equal(t, "suspended", s.lifecycle(t, x, p.UserID, "suspend"))
	r = s.call(t, x, http.MethodPatch, userPath(p.UserID), map[string]any{"firstName": "Changed"})
	assert.Equal(t, http.StatusOK, r.Status, "body %q", r)
	r = s.call(t, x, http.MethodDelete, userPath(p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	assert.Empty(t, s.members(t, b.ID), "the account is gone from every organization")
}

func tenancyVisibleMemberships(t *testing.T, s *suite) {
	a, x := s.newTenant(t, "visible")
	b, y := s.newTenant(t, "visible other")
	p := s.newUser(t, x, a.ID, "visible")
	pending := s.provisionPending(t, y, provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: b.ID})
	assert.True(t, pending.InviteSent)
	requireError(t, s.call(t, y, http.MethodGet, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")
	// A platform administrator links it at once.
	r := s.admin(t, http.MethodPut, adminOrgPath(b.ID)+"/members/"+p.UserID, map[string]any{"role": "member"})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	ux := s.getUser(t, x, p.UserID)
	require.Len(t, ux.Organizations, 1, "x sees its own organization only")
	assert.Equal(t, a.ID, ux.Organizations[0].OrganizationID)
	uy := s.getUser(t, y, p.UserID)
	require.Len(t, uy.Organizations, 1, "y sees its own organization only")
	assert.Equal(t, b.ID, uy.Organizations[0].OrganizationID)
	assert.Equal(t, "invited", s.lifecycle(t, y, p.UserID, "suspend"), "y suspends only its membership")
	assert.Equal(t, "active", s.getUser(t, x, p.UserID).Organizations[0].Status, "x's membership is untouched")
}

func tenancyGrantWithdrawn(t *testing.T, s *suite) {
	a, x := s.newTenant(t, "withdrawn")
	b := s.newOrg(t, "withdrawn other")
	s.grant(t, x, b.ID, actRead)
	p := s.newUser(t, x, a.ID, "withdrawn")
	r := s.admin(t, http.MethodDelete, grantPath(x.ID, a.ID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	requireError(t, s.call(t, x, http.MethodGet, userPath(p.UserID), nil), http.StatusNotFound, "user_not_found")
	requireError(t, s.call(t, x, http.MethodGet, orgUsersPath(a.ID), nil), http.StatusForbidden, "forbidden")
}
