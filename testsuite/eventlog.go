package testsuite

import (
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// EventLogStores are an outbox's two sides: what publishes and what reads.
type EventLogStores struct {
	Publisher ports.EventPublisher
	Log       ports.EventLog
}

// RunEventLog checks an EventLog against its port contract. The store may
// hold other tests' events: each test reads only organizations it made up.
func RunEventLog(t *testing.T, newStores func(t *testing.T) EventLogStores) {
	tests := []struct {
		name string
		run  func(t *testing.T, s EventLogStores)
	}{
		{"an organization's events come newest first, within a batch too", logNewestFirst},
		{"the actor is stored with the event, and no actor reads as none", logActor},
		{"an organization's events are those it hears of, those about it and those its actors made", logWhichEvents},
		{"another organization's events never appear", logTenancy},
		{"pages follow one another with no event twice or missed, the last without a next cursor", logPaging},
		{"events published after a page do not shift its cursor", logCursorStable},
		{"a cursor that names no stored event pages from where it points", logForeignCursor},
		{"a filter by user keeps that user's events", logFilterUser},
		{"a filter by type keeps that type's events", logFilterType},
		{"a filter by actor keeps that kind of actor's, acting as that organization", logFilterActor},
		{"a limit of 0 or past the maximum is the maximum", logLimitCap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStores(t)) })
	}
}

// orgEvent is an event of type typ about userID, heard of by orgID.
func orgEvent(typ, orgID, userID string) domain.Event {
	return domain.Event{
		ID: uniqueID("evt_"), Type: typ, OccurredAt: epoch, UserID: userID, OrganizationID: orgID,
		Data:     []domain.Field{{Key: "userId", Value: userID}, {Key: "email", Value: "casey@example.com"}},
		Audience: domain.Audience{OrganizationIDs: []string{orgID}},
	}
}

func listAll(t *testing.T, l ports.EventLog, q domain.EventQuery) []domain.Event {
	t.Helper()
	var out []domain.Event
	for range 100 {
		p, err := l.ListEvents(t.Context(), q)
		require.NoError(t, err)
		out = append(out, p.Events...)
		if p.Next.IsZero() {
			return out
		}
		q.Before = p.Next
	}
	t.Fatal("paging does not end")
	return nil
}

func ids(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// newestFirst is the ids of events, in reverse.
func newestFirst(events ...domain.Event) []string {
	out := ids(events)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func publish(t *testing.T, s EventLogStores, events ...domain.Event) {
	t.Helper()
	require.NoError(t, s.Publisher.Publish(t.Context(), events...))
}

func logNewestFirst(t *testing.T, s EventLogStores) {
	org, user := uuid.NewString(), uuid.NewString()
	a, b, c := orgEvent(domain.EventUserCreated, org, user), orgEvent(domain.EventUserInvited, org, user), orgEvent(domain.EventUserUpdated, org, user)
	publish(t, s, a, b)
	publish(t, s, c)
	assert.Equal(t, newestFirst(a, b, c), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org})))
}

func logActor(t *testing.T, s EventLogStores) {
	org, user := uuid.NewString(), uuid.NewString()
	with := orgEvent(domain.EventUserSuspended, org, user)
	with.Actor = domain.Actor{Kind: domain.ActorSCIM, ID: uuid.NewString(), Name: "Entra ID", OrganizationID: org}
	without := orgEvent(domain.EventUserUpdated, org, user)
	publish(t, s, with, without)
	got := listAll(t, s.Log, domain.EventQuery{OrganizationID: org})
	require.Len(t, got, 2)
	assertSame(t, without, got[0], "an event without an actor")
	assertSame(t, with, got[1], "an event with an actor")
}

func logWhichEvents(t *testing.T, s EventLogStores) {
	org, other, user := uuid.NewString(), uuid.NewString(), uuid.NewString()
	heard := orgEvent(domain.EventUserUpdated, "", user)
	heard.Audience.OrganizationIDs = []string{other, org}
	about := orgEvent(domain.EventOrganizationUpdated, org, "")
	about.Audience = domain.Audience{}
	byItsActor := orgEvent(domain.EventUserDeleted, "", user)
	byItsActor.Audience = domain.Audience{LicenseClientIDs: []string{"cca_app"}}
	byItsActor.Actor = domain.Actor{Kind: domain.ActorUser, ID: uuid.NewString(), Name: "admin@example.com", OrganizationID: org}
	license := orgEvent(domain.EventLicenseAssigned, "", user)
	license.Audience = domain.Audience{LicenseClientIDs: []string{"cca_app"}}
	publish(t, s, heard, about, byItsActor, license)
	assert.Equal(t, newestFirst(heard, about, byItsActor), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org})))
}

func logTenancy(t *testing.T, s EventLogStores) {
	org, other, user := uuid.NewString(), uuid.NewString(), uuid.NewString()
	mine := orgEvent(domain.EventUserCreated, org, user)
	theirs := orgEvent(domain.EventUserCreated, other, user)
	theirActor := orgEvent(domain.EventUserUpdated, other, user)
	theirActor.Actor = domain.Actor{Kind: domain.ActorSCIM, ID: uuid.NewString(), Name: "Okta", OrganizationID: other}
	publish(t, s, mine, theirs, theirActor)
	assert.Equal(t, newestFirst(mine), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org})))
	assert.Equal(t, newestFirst(mine), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org, UserID: user})))
	assert.Empty(t, listAll(t, s.Log, domain.EventQuery{OrganizationID: org, ActorKind: domain.ActorSCIM}))
	assert.Empty(t, listAll(t, s.Log, domain.EventQuery{OrganizationID: uuid.NewString()}), "an organization with no events")
	assert.Empty(t, listAll(t, s.Log, domain.EventQuery{}), "no organization")
}

func logPaging(t *testing.T, s EventLogStores) {
	org, other := uuid.NewString(), uuid.NewString()
	var all []domain.Event
	for b := range 5 {
		var batch []domain.Event
		for i := range 3 {
			e := orgEvent(domain.EventUserUpdated, org, uuid.NewString())
			if (b+i)%3 == 0 { // interleave another organization's events
				e = orgEvent(domain.EventUserUpdated, other, uuid.NewString())
			} else {
				all = append(all, e)
			}
			batch = append(batch, e)
		}
		publish(t, s, batch...)
	}
	want := newestFirst(all...)
	var got []string
	q := domain.EventQuery{OrganizationID: org, Limit: 3}
	for range len(want) {
		p, err := s.Log.ListEvents(t.Context(), q)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(p.Events), 3, "a page holds at most the limit")
		got = append(got, ids(p.Events)...)
		if p.Next.IsZero() {
			break
		}
		q.Before = p.Next
	}
	assert.Equal(t, want, got)
	p, err := s.Log.ListEvents(t.Context(), domain.EventQuery{OrganizationID: org, Limit: len(want)})
	require.NoError(t, err)
	assert.Equal(t, want, ids(p.Events))
	assert.True(t, p.Next.IsZero(), "a page that reaches the oldest event has no next cursor")
}

func logCursorStable(t *testing.T, s EventLogStores) {
	org, user := uuid.NewString(), uuid.NewString()
	a, b, c := orgEvent(domain.EventUserCreated, org, user), orgEvent(domain.EventUserUpdated, org, user), orgEvent(domain.EventUserSuspended, org, user)
	publish(t, s, a)
	publish(t, s, b, c)
	p, err := s.Log.ListEvents(t.Context(), domain.EventQuery{OrganizationID: org, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, newestFirst(c), ids(p.Events))
	publish(t, s, orgEvent(domain.EventUserReactivated, org, user), orgEvent(domain.EventUserDeleted, org, user))
	rest := listAll(t, s.Log, domain.EventQuery{OrganizationID: org, Before: p.Next})
	assert.Equal(t, newestFirst(a, b), ids(rest))
}

func logForeignCursor(t *testing.T, s EventLogStores) {
	org := uuid.NewString()
	e := orgEvent(domain.EventUserCreated, org, uuid.NewString())
	publish(t, s, e)
	got := listAll(t, s.Log, domain.EventQuery{OrganizationID: org, Before: domain.EventCursor{Seq: math.MaxInt64, Pos: 7}})
	assert.Equal(t, newestFirst(e), ids(got), "a cursor past the newest reads from the newest")
	got = listAll(t, s.Log, domain.EventQuery{OrganizationID: org, Before: domain.EventCursor{Seq: 1}})
	assert.Empty(t, got, "a cursor before the oldest reads nothing")
}

func logFilterUser(t *testing.T, s EventLogStores) {
	org, ann, bob := uuid.NewString(), uuid.NewString(), uuid.NewString()
	a1, b1, a2 := orgEvent(domain.EventUserCreated, org, ann), orgEvent(domain.EventUserCreated, org, bob), orgEvent(domain.EventUserSuspended, org, ann)
	publish(t, s, a1, b1, a2)
	assert.Equal(t, newestFirst(a1, a2), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org, UserID: ann})))
	assert.Empty(t, listAll(t, s.Log, domain.EventQuery{OrganizationID: org, UserID: uuid.NewString()}))
}

func logFilterType(t *testing.T, s EventLogStores) {
	org, user := uuid.NewString(), uuid.NewString()
	c, u1, u2 := orgEvent(domain.EventUserCreated, org, user), orgEvent(domain.EventUserUpdated, org, user), orgEvent(domain.EventUserUpdated, org, user)
	publish(t, s, c, u1)
	publish(t, s, u2)
	assert.Equal(t, newestFirst(u1, u2), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org, Type: domain.EventUserUpdated})))
	assert.Equal(t, newestFirst(c), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org, Type: domain.EventUserCreated, UserID: user})))
}

func logFilterActor(t *testing.T, s EventLogStores) {
	org, other, user := uuid.NewString(), uuid.NewString(), uuid.NewString()
	scim := orgEvent(domain.EventUserCreated, org, user)
	scim.Actor = domain.Actor{Kind: domain.ActorSCIM, ID: uuid.NewString(), Name: "Entra ID", OrganizationID: org}
	admin := orgEvent(domain.EventUserSuspended, org, user)
	admin.Actor = domain.Actor{Kind: domain.ActorAdmin, ID: uuid.NewString(), Name: "ops"}
	// Another organization's SCIM connection changes the shared account,
	// and this organization hears of it.
	theirs := orgEvent(domain.EventUserUpdated, org, user)
	theirs.Actor = domain.Actor{Kind: domain.ActorSCIM, ID: uuid.NewString(), Name: "Okta", OrganizationID: other}
	publish(t, s, scim, admin, theirs)
	for range 3 { // newer events that are not SCIM's
		publish(t, s, orgEvent(domain.EventUserUpdated, org, user))
	}
	assert.Equal(t, newestFirst(scim, theirs), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org, ActorKind: domain.ActorSCIM})))
	p, err := s.Log.ListEvents(t.Context(), domain.EventQuery{OrganizationID: org, ActorKind: domain.ActorSCIM, ActorOrganizationID: org, Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, newestFirst(scim), ids(p.Events), "the newest event of the organization's own SCIM connection")
	assert.Equal(t, newestFirst(admin), ids(listAll(t, s.Log, domain.EventQuery{OrganizationID: org, ActorKind: domain.ActorAdmin})))
}

func logLimitCap(t *testing.T, s EventLogStores) {
	org := uuid.NewString()
	events := make([]domain.Event, domain.MaxEventPage+1)
	for i := range events {
		events[i] = orgEvent(domain.EventUserCreated, org, uuid.NewString())
		events[i].OccurredAt = epoch.Add(time.Duration(i) * time.Second)
	}
	publish(t, s, events...)
	for _, limit := range []int{0, -1, domain.MaxEventPage + 50} {
		p, err := s.Log.ListEvents(t.Context(), domain.EventQuery{OrganizationID: org, Limit: limit})
		require.NoError(t, err)
		assert.Len(t, p.Events, domain.MaxEventPage, "limit %d", limit)
		assert.False(t, p.Next.IsZero(), "limit %d leaves a next page", limit)
	}
}
