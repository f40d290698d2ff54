package scim_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/scim"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// noMail is a Mailer that drops what it is given.
type noMail struct{}

func (noMail) Send(context.Context, domain.Mail) error { return nil }

// countingUnits counts the units of work started from outside any unit.
type countingUnits struct {
	inner ports.UnitOfWork
	outer atomic.Int32
}

type countedKey struct{}

func (c *countingUnits) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(countedKey{}) == nil {
		c.outer.Add(1)
		ctx = context.WithValue(ctx, countedKey{}, true)
	}
	return c.inner.Atomically(ctx, fn)
}

// Each SCIM write is one unit of work, however many changes it makes: its
// reads and its "nothing to change" decisions are made in it, so they never
// rest on another unit's change that is not stored yet, and it stores all
// of itself or nothing.
func TestEachSCIMWriteIsOneUnitOfWork(t *testing.T) {
	ctx := t.Context()
	users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
	d := memory.NewDirectory(users, orgs)
	units := &countingUnits{inner: memory.NewUnits()}
	clock := testsuite.NewFakeClock(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC))
	dir := directory.New(directory.Config{BaseURL: "https://auth.example"}, directory.Deps{
		Clients: memory.NewClientStore(), Users: users, Orgs: orgs, Directory: d, Licenses: d,
		Grants: memory.NewClientGrantStore(orgs), Roles: memory.NewRoleStore(orgs), Groups: orgs, Domains: memory.NewDomainStore(orgs),
		AdminKeys: memory.NewAdminKeyStore(), ActionTokens: memory.NewActionTokenStore(),
		Sessions: memory.NewSessionStore(), Refresh: memory.NewGrantStore(), Factors: memory.NewFactorStore(), Links: memory.NewLinkedIdentityStore(), Events: memory.NewEventLog(), Units: units,
		Mailer: noMail{}, Clock: clock, Random: system.NewRandom(),
	})
	svc := scim.New(scim.Config{BaseURL: "https://auth.example"}, scim.Deps{
		Directory: dir, Store: memory.NewSCIMStore(users, orgs), Users: users, Orgs: orgs, Clock: clock, Random: system.NewRandom(),
	})
	name := "Springfield Elementary"
	org, err := dir.CreateOrganization(ctx, directory.OrganizationInput{Name: &name})
	require.NoError(t, err)
	token, _, err := svc.CreateToken(ctx, org.ID, "entra", domain.SignInPrimaryEmail)
	require.NoError(t, err)
	tenant, err := svc.Authenticate(ctx, token)
	require.NoError(t, err)

	units.outer.Store(0)
	created, err := svc.CreateUser(ctx, tenant, []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"lisa@springfield.example","active":false,"name":{"givenName":"Lisa","familyName":"Simpson"},
		"emails":[{"value":"lisa@springfield.example","primary":true}]}`))
	require.NoError(t, err)
	assert.Equal(t, int32(1), units.outer.Load(), "a create that provisions and suspends is one unit")

	units.outer.Store(0)
	_, err = svc.PatchUser(ctx, tenant, created["id"].(string), "", []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"userName","value":"lisa.s@springfield.example"},
		{"op":"replace","path":"name.givenName","value":"Elisabeth"},{"op":"replace","path":"active","value":true}]}`))
	require.NoError(t, err)
	assert.Equal(t, int32(1), units.outer.Load(), "a PATCH that renames, edits and reactivates is one unit")
}
