package directoryflow

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

var eventChecks = []check{
	{"user.created carries the guide's data keys in order, with a JavaScript-style createdAt", eventUserCreated},
	{"a new license emits license.assigned and an invitation user.invited, once each", eventLicenseAndInvite},
	{"an existing user joining an organization emits user.created with isNewUser false, once", eventExistingUser},
	{"each lifecycle action emits its event in order, and a repeated no-op emits nothing", eventLifecycle},
	{"administration emits organization.created, organization.updated, license.assigned and license.revoked", eventAdmin},
	{"a bulk request emits one user.created per user it made", eventBulk},
}

// jsTime is JavaScript's Date.toISOString, as in the guide's §5 payload.
var jsTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// eventTimeout bounds the wait for an event. Events are published before
// the answer, so the wait only covers a publisher that stores them late.
const eventTimeout = 5 * time.Second

// events returns the published events that match.
func (s *suite) events(t *testing.T, match func(domain.Event) bool) []domain.Event {
	t.Helper()
	var out []domain.Event
	for _, e := range s.env.Events(t) {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// waitEvents waits until at least n published events match and returns
// them all.
func (s *suite) waitEvents(t *testing.T, n int, match func(domain.Event) bool) []domain.Event {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		evs := s.events(t, match)
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			require.Failf(t, "events not published", "%d matching event(s) after %s, want %d", len(evs), eventTimeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// about matches events of a type concerning a user.
func about(typ, userID string) func(domain.Event) bool {
	return func(e domain.Event) bool { return e.Type == typ && e.UserID == userID }
}

// ofUser matches every event concerning a user.
func ofUser(userID string) func(domain.Event) bool {
	return func(e domain.Event) bool { return e.UserID == userID }
}

func dataKeys(e domain.Event) []string {
	out := make([]string, 0, len(e.Data))
	for _, f := range e.Data {
		out = append(out, f.Key)
	}
	return out
}

// field is one data value as text, so values read back from a store as
// JSON compare the same as Go values.
func field(e domain.Event, key string) string {
	for _, f := range e.Data {
		if f.Key == key {
			return fmt.Sprint(f.Value)
		}
	}
	return "<absent>"
}

func typesOf(evs []domain.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func eventUserCreated(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "evcreated")
	p := s.newUser(t, c, o.ID, "evcreated")
	e := s.waitEvents(t, 1, about(domain.EventUserCreated, p.UserID))[0]
	assert.Equal(t, []string{"userId", "email", "firstName", "lastName", "organizationId", "isNewUser", "createdAt"}, dataKeys(e),
		"user.created data is the guide's §5 example, key for key")
	assert.Equal(t, p.UserID, field(e, "userId"))
	assert.Equal(t, p.Email, field(e, "email"))
	assert.Equal(t, "Jane", field(e, "firstName"))
	assert.Equal(t, "Smith", field(e, "lastName"))
	assert.Equal(t, o.ID, field(e, "organizationId"))
	assert.Equal(t, "true", field(e, "isNewUser"))
	assert.Regexp(t, jsTime, field(e, "createdAt"), "createdAt looks like 2025-01-15T10:30:00.000Z")
	assert.Equal(t, o.ID, e.OrganizationID)
	assert.NotEmpty(t, e.ID)
	assert.False(t, e.OccurredAt.IsZero())
}

func eventLicenseAndInvite(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "evlicense")
	in := newUserReq(o.ID, "evlicense")
	in.SendInviteEmail = true
	p := s.provision(t, c, in)
	require.True(t, p.IsNewUser)
	require.True(t, p.InviteSent, "the invitation was sent")
	lic := s.waitEvents(t, 1, about(domain.EventLicenseAssigned, p.UserID))
	require.Len(t, lic, 1)
	assert.Equal(t, c.ID, field(lic[0], "clientId"), "the license is the calling application's")
	assert.Equal(t, p.UserID, field(lic[0], "userId"))
	inv := s.waitEvents(t, 1, about(domain.EventUserInvited, p.UserID))
	require.Len(t, inv, 1)
	assert.Equal(t, p.Email, field(inv[0], "email"))
	assert.Equal(t, "invited", field(inv[0], "status"))

	// The same user again, without an invitation: nothing changes, so
	// nothing is told: no second user.created, license.assigned or
	// user.invited. (A marker event published after the call shows that
	// the outbox has caught up.)
	in.SendInviteEmail = false
	again := s.provision(t, c, in)
	require.False(t, again.IsNewUser)
	marker := s.newUser(t, c, o.ID, "evlicense-marker")
	s.waitEvents(t, 1, about(domain.EventUserCreated, marker.UserID))
	assert.Len(t, s.events(t, about(domain.EventUserCreated, p.UserID)), 1, "a repeat that changes nothing emits nothing")
	assert.Len(t, s.events(t, about(domain.EventLicenseAssigned, p.UserID)), 1, "a license held already is not assigned again")
	assert.Len(t, s.events(t, about(domain.EventUserInvited, p.UserID)), 1, "no invitation was asked for")
}

func eventExistingUser(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "evexisting")
	p := s.newUser(t, c, o.ID, "evexisting")
	// A second organization granted to the same client: the account, which
	// the client sees in the first, joins the second at once.
	second := s.newOrg(t, "evexisting-2")
	s.grant(t, c, second.ID, allActions...)
	in := provisionReq{Email: p.Email, FirstName: "Jane", LastName: "Smith", OrganizationID: second.ID}
	require.False(t, s.provision(t, c, in).IsNewUser)
	evs := s.waitEvents(t, 2, about(domain.EventUserCreated, p.UserID))
	require.Len(t, evs, 2)
	assert.Equal(t, "true", field(evs[0], "isNewUser"))
	assert.Equal(t, o.ID, field(evs[0], "organizationId"))
	assert.Equal(t, "false", field(evs[1], "isNewUser"))
	assert.Equal(t, second.ID, field(evs[1], "organizationId"))
	assert.Equal(t, field(evs[0], "createdAt"), field(evs[1], "createdAt"), "createdAt is when the user was made")

	// Again into either organization: the user is a member of both, so
	// nothing changes and nothing is told.
	in.OrganizationID = o.ID
	s.provision(t, c, in)
	in.OrganizationID = second.ID
	s.provision(t, c, in)
	marker := s.newUser(t, c, o.ID, "evexisting-marker")
	s.waitEvents(t, 1, about(domain.EventUserCreated, marker.UserID))
	assert.Len(t, s.events(t, about(domain.EventUserCreated, p.UserID)), 2, "a repeat that changes nothing emits nothing")
}

func eventLifecycle(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "evlifecycle")
	p := s.newUser(t, c, o.ID, "evlifecycle")
	steps := []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodPatch, userPath(p.UserID), map[string]any{"firstName": "Janet"}, http.StatusOK},
		{http.MethodPost, userPath(p.UserID) + "/reset-password", nil, http.StatusAccepted},
		{http.MethodPost, userPath(p.UserID) + "/suspend", nil, http.StatusOK},
		{http.MethodPost, userPath(p.UserID) + "/suspend", nil, http.StatusOK},
		{http.MethodPost, userPath(p.UserID) + "/reactivate", nil, http.StatusOK},
		{http.MethodPost, userPath(p.UserID) + "/reactivate", nil, http.StatusOK},
		{http.MethodPost, userPath(p.UserID) + "/deactivate", nil, http.StatusOK},
		{http.MethodPost, userPath(p.UserID) + "/deactivate", nil, http.StatusOK},
		{http.MethodDelete, userPath(p.UserID), nil, http.StatusNoContent},
	}
	for _, st := range steps {
		r := s.call(t, c, st.method, st.path, st.body)
		require.Equal(t, st.status, r.Status, "%s %s; body %q", st.method, st.path, r)
	}
	want := []string{
		domain.EventUserUpdated, domain.EventUserPasswordReset, domain.EventUserSuspended,
		domain.EventUserReactivated, domain.EventUserDeactivated, domain.EventUserDeleted,
	}
	isLifecycle := func(e domain.Event) bool {
		return e.UserID == p.UserID && e.Type != domain.EventUserCreated && e.Type != domain.EventLicenseAssigned
	}
	evs := s.waitEvents(t, len(want), isLifecycle)
	assert.Equal(t, want, typesOf(evs), "one event per change, in order; repeated actions emit nothing")
	byType := map[string]domain.Event{}
	for _, e := range evs {
		byType[e.Type] = e
	}
	assert.Equal(t, "Janet", field(byType[domain.EventUserUpdated], "firstName"))
	assert.Equal(t, "suspended", field(byType[domain.EventUserSuspended], "status"))
	assert.Equal(t, "invited", field(byType[domain.EventUserReactivated], "status"), "an account with no password reactivates to invited")
	assert.Equal(t, "deactivated", field(byType[domain.EventUserDeactivated], "status"))
	for _, e := range evs {
		assert.Equal(t, p.UserID, field(e, "userId"), e.Type)
		assert.Equal(t, o.ID, field(e, "organizationId"), e.Type)
		assert.Regexp(t, jsTime, field(e, "updatedAt"), e.Type)
	}
}

func eventAdmin(t *testing.T, s *suite) {
	o := s.newOrg(t, "evadmin")
	created := s.waitEvents(t, 1, func(e domain.Event) bool {
		return e.Type == domain.EventOrganizationCreated && e.OrganizationID == o.ID
	})
	require.Len(t, created, 1)
	assert.Equal(t, o.ID, field(created[0], "organizationId"))
	assert.Equal(t, o.Name, field(created[0], "name"))
	assert.Equal(t, o.Slug, field(created[0], "slug"))

	r := s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"name": o.Name + " renamed"})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	updated := s.waitEvents(t, 1, func(e domain.Event) bool {
		return e.Type == domain.EventOrganizationUpdated && e.OrganizationID == o.ID
	})
	require.Len(t, updated, 1)
	assert.Equal(t, o.Name+" renamed", field(updated[0], "name"))

	c := s.register(t)
	s.grant(t, c, o.ID, allActions...)
	p := s.newUser(t, c, o.ID, "evadmin")
	other := s.register(t)
	r = s.admin(t, http.MethodPut, licensePath(other.ID, p.UserID), nil)
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	assigned := s.waitEvents(t, 2, about(domain.EventLicenseAssigned, p.UserID))
	require.Len(t, assigned, 2, "one for the provisioning client, one for the admin's")
	assert.Equal(t, other.ID, field(assigned[1], "clientId"))
	r = s.admin(t, http.MethodDelete, licensePath(other.ID, p.UserID), nil)
	require.Equal(t, http.StatusNoContent, r.Status, "body %q", r)
	revoked := s.waitEvents(t, 1, about(domain.EventLicenseRevoked, p.UserID))
	require.Len(t, revoked, 1)
	assert.Equal(t, other.ID, field(revoked[0], "clientId"))
}

func eventBulk(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "evbulk")
	rows := []provisionReq{newUserReq(o.ID, "evbulk"), newUserReq(o.ID, "evbulk"), newUserReq(o.ID, "evbulk")}
	rows = append(rows, rows[1], provisionReq{Email: "not-an-email", FirstName: "A", LastName: "B", OrganizationID: o.ID})
	res := s.bulk(t, c, rows)
	ids := map[string]bool{}
	for _, r := range res.Results[:4] {
		require.NotNil(t, r.User, "row %d: %s %s", r.Index, r.Error, r.Message)
		ids[r.User.UserID] = true
	}
	require.Len(t, ids, 3)
	evs := s.waitEvents(t, 3, func(e domain.Event) bool { return e.Type == domain.EventUserCreated && ids[e.UserID] })
	for _, e := range evs {
		assert.Equal(t, "true", field(e, "isNewUser"))
	}
	marker := s.newUser(t, c, o.ID, "evbulk-marker")
	s.waitEvents(t, 1, about(domain.EventUserCreated, marker.UserID))
	assert.Len(t, s.events(t, func(e domain.Event) bool { return e.Type == domain.EventUserCreated && ids[e.UserID] }), 3,
		"four rows succeeded, one of them a repeat of another, which changed nothing and told nothing")
}
