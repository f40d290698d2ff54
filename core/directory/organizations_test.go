package directory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

var allMFAPolicies = []domain.MFAPolicy{domain.MFAOff, domain.MFAOptional, domain.MFARequiredForAdmins, domain.MFARequired}

func policy(p domain.MFAPolicy) *domain.MFAPolicy { return &p }

// orgEvents are the published organization events about one organization.
func orgEvents(f *fixture, orgID string) []domain.Event {
	var out []domain.Event
	for _, e := range f.events.Events() {
		if e.OrganizationID == orgID && (e.Type == domain.EventOrganizationCreated || e.Type == domain.EventOrganizationUpdated) {
			out = append(out, e)
		}
	}
	return out
}

func eventField(e domain.Event, key string) any {
	for _, d := range e.Data {
		if d.Key == key {
			return d.Value
		}
	}
	return nil
}

func TestAnOrganizationCreatedWithoutAnMFAPolicyIsUnderOff(t *testing.T) {
	f := newFixture(t)
	assert.Equal(t, domain.MFAOff, f.org.MFAPolicy, "the answer says so")
	stored, err := f.orgs.GetOrganization(t.Context(), f.org.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.MFAOff, stored.MFAPolicy, "the store holds it")
	evs := orgEvents(f, f.org.ID)
	require.Len(t, evs, 1)
	assert.Equal(t, "off", eventField(evs[0], "mfaPolicy"), "organization.created carries it")
}

func TestAnOrganizationIsCreatedUnderEachMFAPolicy(t *testing.T) {
	f := newFixture(t)
	for _, p := range allMFAPolicies {
		name := "School " + string(p)
		o, err := f.svc.CreateOrganization(t.Context(), directory.OrganizationInput{Name: &name, MFAPolicy: policy(p)})
		require.NoError(t, err, p)
		assert.Equal(t, p, o.MFAPolicy)
		got, err := f.svc.GetOrganization(t.Context(), o.ID)
		require.NoError(t, err)
		assert.Equal(t, o, got, "it reads back as answered")
		evs := orgEvents(f, o.ID)
		require.Len(t, evs, 1)
		assert.Equal(t, domain.EventOrganizationCreated, evs[0].Type)
		assert.Equal(t, string(p), eventField(evs[0], "mfaPolicy"))
	}
}

func TestUpdatingAnOrganizationsMFAPolicy(t *testing.T) {
	f := newFixture(t)
	o := f.org
	f.clock.Advance(time.Minute)
	updated, err := f.svc.UpdateOrganization(t.Context(), o.ID, directory.OrganizationInput{MFAPolicy: policy(domain.MFARequiredForAdmins)})
	require.NoError(t, err)
	want := o
	want.MFAPolicy, want.UpdatedAt = domain.MFARequiredForAdmins, f.clock.Now()
	assert.Equal(t, want, updated, "only the policy and the update time change")

	evs := orgEvents(f, o.ID)
	require.Len(t, evs, 2)
	e := evs[1]
	assert.Equal(t, domain.EventOrganizationUpdated, e.Type)
	assert.Equal(t, "required_for_admins", eventField(e, "mfaPolicy"), "organization.updated carries the new policy")
	assert.Equal(t, o.Name, eventField(e, "name"))
	assert.Equal(t, []string{"organizationId", "name", "slug", "createdAt", "updatedAt", "mfaPolicy"}, keysOf(e),
		"the guide's keys as before, then mfaPolicy")

	name := "Springfield Elementary Renamed"
	renamed, err := f.svc.UpdateOrganization(t.Context(), o.ID, directory.OrganizationInput{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, domain.MFARequiredForAdmins, renamed.MFAPolicy, "an update that does not name the policy keeps it")
	assert.Equal(t, "required_for_admins", eventField(orgEvents(f, o.ID)[2], "mfaPolicy"), "and its event says the policy in force")

	for _, p := range allMFAPolicies {
		got, err := f.svc.UpdateOrganization(t.Context(), o.ID, directory.OrganizationInput{MFAPolicy: policy(p)})
		require.NoError(t, err, p)
		assert.Equal(t, p, got.MFAPolicy)
		stored, err := f.orgs.GetOrganization(t.Context(), o.ID)
		require.NoError(t, err)
		assert.Equal(t, p, stored.MFAPolicy, "lowering the policy is as allowed as raising it")
	}
}

func keysOf(e domain.Event) []string {
	out := make([]string, 0, len(e.Data))
	for _, d := range e.Data {
		out = append(out, d.Key)
	}
	return out
}

func TestAnUnknownMFAPolicyIsRefusedAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.UpdateOrganization(t.Context(), f.org.ID, directory.OrganizationInput{MFAPolicy: policy(domain.MFARequired)})
	require.NoError(t, err)
	before, err := f.orgs.GetOrganization(t.Context(), f.org.ID)
	require.NoError(t, err)
	events := len(f.events.Events())

	for _, bad := range []domain.MFAPolicy{"", "sometimes", "REQUIRED", "required ", "required_for_owners"} {
		name, slug := "Shelbyville Elementary", "shelbyville"
		_, err := f.svc.CreateOrganization(t.Context(), directory.OrganizationInput{Name: &name, Slug: &slug, MFAPolicy: policy(bad)})
		requireInvalidPolicy(t, err, bad)
		_, err = f.orgs.GetOrganizationBySlug(t.Context(), slug)
		assert.ErrorIs(t, err, domain.ErrNotFound, "%q: no organization was made", bad)

		// With a valid change beside it, which is refused with it.
		_, err = f.svc.UpdateOrganization(t.Context(), f.org.ID, directory.OrganizationInput{Name: &name, MFAPolicy: policy(bad)})
		requireInvalidPolicy(t, err, bad)
		got, err := f.orgs.GetOrganization(t.Context(), f.org.ID)
		require.NoError(t, err)
		assert.Equal(t, before, got, "%q: the organization is unchanged", bad)
	}
	assert.Len(t, f.events.Events(), events, "a refused change tells nothing")
}

func requireInvalidPolicy(t *testing.T, err error, bad domain.MFAPolicy) {
	t.Helper()
	e, ok := fault.As(err)
	require.True(t, ok, "%q: a directory error, got %v", bad, err)
	assert.Equal(t, fault.Invalid, e.Kind, "%q", bad)
	assert.Equal(t, "invalid_mfa_policy", e.Code, "%q", bad)
	assert.Contains(t, e.Message, `"required_for_admins"`, "the message names the policies")
}

// unitSpy numbers the outermost units of work, so that the stores and the
// publisher below can say which unit each call ran in (0: none).
type unitSpy struct {
	inner ports.UnitOfWork
	mu    sync.Mutex
	n     int
}

type spyUnitKey struct{}

func unitOf(ctx context.Context) int { n, _ := ctx.Value(spyUnitKey{}).(int); return n }

func (u *unitSpy) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if unitOf(ctx) != 0 {
		return u.inner.Atomically(ctx, fn)
	}
	u.mu.Lock()
	u.n++
	n := u.n
	u.mu.Unlock()
	return u.inner.Atomically(ctx, func(ctx context.Context) error { return fn(context.WithValue(ctx, spyUnitKey{}, n)) })
}

// orgWrites records the unit of each organization write.
type orgWrites struct {
	*memory.OrganizationStore
	units []int
}

func (s *orgWrites) CreateOrganization(ctx context.Context, o domain.Organization) error {
	s.units = append(s.units, unitOf(ctx))
	return s.OrganizationStore.CreateOrganization(ctx, o)
}

func (s *orgWrites) UpdateOrganization(ctx context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error) {
	s.units = append(s.units, unitOf(ctx))
	return s.OrganizationStore.UpdateOrganization(ctx, id, fn)
}

// published records the unit each event was published in.
type published struct {
	*memory.EventLog
	units map[string]int // event type -> unit
}

func (p *published) Publish(ctx context.Context, events ...domain.Event) error {
	for _, e := range events {
		p.units[e.Type] = unitOf(ctx)
	}
	return p.EventLog.Publish(ctx, events...)
}

// The policy's change and its organization.updated are one unit of work,
// as every directory change and its events are: stored together or not at
// all (ports.UnitOfWork).
func TestAnMFAPolicyChangeAndItsEventAreOneUnit(t *testing.T) {
	users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
	writes := &orgWrites{OrganizationStore: orgs}
	events := &published{EventLog: memory.NewEventLog(), units: map[string]int{}}
	d := memory.NewDirectory(users, orgs)
	svc := directory.New(directory.Config{BaseURL: "https://auth.example", Password: fastPasswords}, directory.Deps{
		Clients: memory.NewClientStore(), Users: users, Orgs: writes, Directory: d, Licenses: d,
		Grants: memory.NewClientGrantStore(orgs), Roles: memory.NewRoleStore(orgs), Groups: orgs, Domains: memory.NewDomainStore(orgs),
		AdminKeys: memory.NewAdminKeyStore(), ActionTokens: memory.NewActionTokenStore(),
		Sessions: memory.NewSessionStore(), Refresh: memory.NewGrantStore(), Events: events, Units: &unitSpy{inner: memory.NewUnits()},
		Mailer: &outbox{}, Clock: testsuite.NewFakeClock(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)), Random: system.NewRandom(),
	})
	name := "Springfield Elementary"
	o, err := svc.CreateOrganization(t.Context(), directory.OrganizationInput{Name: &name, MFAPolicy: policy(domain.MFAOptional)})
	require.NoError(t, err)
	_, err = svc.UpdateOrganization(t.Context(), o.ID, directory.OrganizationInput{MFAPolicy: policy(domain.MFARequired)})
	require.NoError(t, err)

	require.Len(t, writes.units, 2)
	create, update := writes.units[0], writes.units[1]
	assert.NotZero(t, create, "the creation runs in a unit")
	assert.NotZero(t, update, "the change runs in a unit")
	assert.NotEqual(t, create, update)
	assert.Equal(t, create, events.units[domain.EventOrganizationCreated], "organization.created is in the creation's unit")
	assert.Equal(t, update, events.units[domain.EventOrganizationUpdated], "organization.updated is in the change's unit")
}
