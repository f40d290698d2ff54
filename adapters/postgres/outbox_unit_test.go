package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/adapters/smtp"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// failingOutbox stores events through the real outbox, then fails when
// told to: the write went into the unit's transaction, and the failure
// must take it and the change back.
type failingOutbox struct {
	*postgres.EventOutbox
	fail bool
}

func (o *failingOutbox) Publish(ctx context.Context, events ...domain.Event) error {
	if err := o.EventOutbox.Publish(ctx, events...); err != nil {
		return err
	}
	if o.fail {
		return errors.New("the outbox write failed")
	}
	return nil
}

// The directory on PostgreSQL stores each change with its events, in one
// transaction: an outbox write that fails leaves no change, and a change
// that stands has its events.
func TestDirectoryStoresEachChangeWithItsEvents(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	outbox := &failingOutbox{EventOutbox: postgres.NewEventOutbox(pool)}
	d := postgres.NewDirectoryStore(pool)
	factors, err := postgres.NewFactorStore(pool, bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	svc := directory.New(directory.Config{BaseURL: "https://auth.example"}, directory.Deps{
		Clients: postgres.NewClientStore(pool), Users: postgres.NewUserStore(pool), Orgs: postgres.NewOrganizationStore(pool),
		Directory: d, Licenses: postgres.NewLicenseStore(pool), Grants: postgres.NewClientGrantStore(pool),
		Roles: postgres.NewRoleStore(pool), Groups: postgres.NewGroupStore(pool), Domains: postgres.NewDomainStore(pool),
		AdminKeys: postgres.NewAdminKeyStore(pool), ActionTokens: postgres.NewActionTokenStore(pool),
		Sessions: postgres.NewSessionStore(pool), Refresh: postgres.NewGrantStore(pool), Factors: factors,
		Events: outbox, Units: postgres.NewUnits(pool), Mailer: smtp.NewLogMailer(io.Discard),
		Clock: system.NewClock(), Random: system.NewRandom(),
	})
	ctx := context.Background()
	name := "Shelbyville Elementary"
	org, err := svc.CreateOrganization(ctx, directory.OrganizationInput{Name: &name})
	require.NoError(t, err)
	caller := directory.OrgCaller(org.ID)
	eventsOf := func(userEmail string) []string {
		all, err := outbox.Events(ctx)
		require.NoError(t, err)
		var types []string
		for _, e := range all {
			for _, f := range e.Data {
				if f.Key == "email" && f.Value == userEmail {
					types = append(types, e.Type)
				}
			}
		}
		return types
	}
	in := directory.ProvisionInput{Email: "nelson@example.edu", FirstName: "Nelson", LastName: "Muntz", OrganizationID: org.ID, SendInviteEmail: true}

	outbox.fail = true
	_, err = svc.Provision(ctx, caller, in)
	require.Error(t, err)
	_, err = postgres.NewUserStore(pool).GetUserByEmail(ctx, "nelson@example.edu")
	assert.ErrorIs(t, err, domain.ErrNotFound, "no change without its events")
	assert.Empty(t, eventsOf("nelson@example.edu"), "and no event without its change")

	outbox.fail = false
	p, err := svc.Provision(ctx, caller, in)
	require.NoError(t, err)
	assert.True(t, p.IsNewUser)
	assert.Equal(t, []string{domain.EventUserCreated, domain.EventUserInvited}, eventsOf("nelson@example.edu"))

	// A change to the account fails with its event, and then stands with it.
	first := "Nelly"
	outbox.fail = true
	_, err = svc.UpdateAccount(ctx, caller, p.User.ID, directory.AccountChange{FirstName: &first})
	require.Error(t, err)
	u, err := postgres.NewUserStore(pool).GetUser(ctx, p.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "Nelson", u.GivenName)
	outbox.fail = false
	_, err = svc.UpdateAccount(ctx, caller, p.User.ID, directory.AccountChange{FirstName: &first})
	require.NoError(t, err)
	assert.Equal(t, []string{domain.EventUserCreated, domain.EventUserInvited, domain.EventUserUpdated}, eventsOf("nelson@example.edu"))
}

var _ ports.EventPublisher = (*failingOutbox)(nil)
