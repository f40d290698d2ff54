package mongo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// directoryStores builds every directory store on one fresh database, as the
// directory suites need: their contracts refer to each other.
func directoryStores(t *testing.T) testsuite.DirectoryStores {
	db := testDB(t)
	dir := mongoadapter.NewDirectoryStore(db)
	return testsuite.DirectoryStores{
		Users:     mongoadapter.NewUserStore(db),
		Orgs:      mongoadapter.NewOrganizationStore(db),
		Licenses:  dir,
		Grants:    mongoadapter.NewClientGrantStore(db),
		Roles:     mongoadapter.NewRoleStore(db),
		Directory: dir,
	}
}

func TestClientStore(t *testing.T) {
	testsuite.RunClientStore(t, func(t *testing.T) ports.ClientStore { return mongoadapter.NewClientStore(testDB(t)) })
}

func TestUserStore(t *testing.T) {
	testsuite.RunUserStore(t, func(t *testing.T) ports.UserStore { return mongoadapter.NewUserStore(testDB(t)) })
}

func TestOrganizationStore(t *testing.T) {
	testsuite.RunOrganizationStore(t, func(t *testing.T) ports.OrganizationStore {
		return mongoadapter.NewOrganizationStore(testDB(t))
	})
}

// An organization document an older version wrote, before organizations
// had an MFA policy, has no mfa_policy field: it reads under off, with no
// backfill, and takes a policy at its next update.
func TestAnOrganizationWrittenBeforeMFAPoliciesReadsUnderOff(t *testing.T) {
	db := testDB(t)
	t0 := time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)
	id := uuid.NewString()
	_, err := db.Collection("organizations").InsertOne(t.Context(), bson.M{
		"_id": id, "rev": int64(3), "name": "Old School", "slug": "old-" + id, "created_at": t0, "updated_at": t0,
	})
	require.NoError(t, err)
	orgs := mongoadapter.NewOrganizationStore(db)
	want := domain.Organization{ID: id, Name: "Old School", Slug: "old-" + id, MFAPolicy: domain.MFAOff, CreatedAt: t0, UpdatedAt: t0}

	got, err := orgs.GetOrganization(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, want, got, "by id")
	got, err = orgs.GetOrganizationBySlug(t.Context(), want.Slug)
	require.NoError(t, err)
	assert.Equal(t, want, got, "by slug")
	page, err := orgs.ListOrganizations(t.Context(), "", 10)
	require.NoError(t, err)
	assert.Equal(t, []domain.Organization{want}, page, "listed")

	got, err = orgs.UpdateOrganization(t.Context(), id, func(o *domain.Organization) error {
		assert.Equal(t, domain.MFAOff, o.MFAPolicy, "the update starts from off")
		o.MFAPolicy = domain.MFARequiredForAdmins
		return nil
	})
	require.NoError(t, err)
	want.MFAPolicy = domain.MFARequiredForAdmins
	assert.Equal(t, want, got)
	var raw bson.M
	require.NoError(t, db.Collection("organizations").FindOne(t.Context(), bson.M{"_id": id}).Decode(&raw))
	assert.Equal(t, "required_for_admins", raw["mfa_policy"], "the update wrote the field")
	assert.EqualValues(t, 4, raw["rev"], "through the revision the old document had")
}

func TestDirectoryStore(t *testing.T) { testsuite.RunDirectoryStore(t, directoryStores) }

func TestDirectoryStoreConcurrency(t *testing.T) {
	testsuite.RunDirectoryStoreConcurrency(t, directoryStores)
}

func TestLicenseStore(t *testing.T) { testsuite.RunLicenseStore(t, directoryStores) }

func TestClientGrantStore(t *testing.T) { testsuite.RunClientGrantStore(t, directoryStores) }

func TestRoleStore(t *testing.T) { testsuite.RunRoleStore(t, directoryStores) }

func TestAdminKeyStore(t *testing.T) {
	testsuite.RunAdminKeyStore(t, func(t *testing.T) ports.AdminKeyStore { return mongoadapter.NewAdminKeyStore(testDB(t)) })
}

func TestActionTokenStore(t *testing.T) {
	testsuite.RunActionTokenStore(t, func(t *testing.T) ports.ActionTokenStore {
		return mongoadapter.NewActionTokenStore(testDB(t))
	})
}

func TestActionTokenStoreConcurrency(t *testing.T) {
	testsuite.RunActionTokenStoreConcurrency(t, func(t *testing.T) ports.ActionTokenStore {
		return mongoadapter.NewActionTokenStore(testDB(t))
	})
}

// domainStores are the organization and domain stores on one fresh database.
func domainStores(t *testing.T) testsuite.DomainStores {
	db := testDB(t)
	return testsuite.DomainStores{Orgs: mongoadapter.NewOrganizationStore(db), Domains: mongoadapter.NewDomainStore(db)}
}

func TestDomainStore(t *testing.T) { testsuite.RunDomainStore(t, domainStores) }

func TestDomainStoreConcurrency(t *testing.T) { testsuite.RunDomainStoreConcurrency(t, domainStores) }

// claimDoc is a membership as provisioning writes it before the user it
// creates: a claim on its name, claimed at the adapter's clock.
func claimDoc(orgID, userID, name string, claimedAt time.Time) bson.M {
	return bson.M{
		"user_id": userID, "organization_id": orgID, "role": domain.RoleMember,
		"status": string(domain.MembershipActive), "primary": true, "primary_claim": userID,
		"user_name": name, "user_name_key": mongoadapter.UserNameKeyForTest(orgID, name),
		"claimed_at": claimedAt, "created_at": time.Now(),
	}
}

// namedRow is a row that creates a user in org under name.
func namedRow(orgID, name string) domain.ProvisionRow {
	id := uuid.NewString()
	return domain.ProvisionRow{
		User: domain.User{
			ID: id, Email: "claim." + id + "@example.com", Status: domain.UserInvited, HomeOrganizationID: orgID,
			CreatedAt: time.Now(), UpdatedAt: time.Now(),
		},
		OrganizationID: orgID, Role: domain.RoleMember, UserName: name, Now: time.Now(),
	}
}

// A row that meets another row's claim on its name waits until the claim
// comes to something (the name is taken) or nothing (the name is free);
// a claim older than the lease is a stopped row's, and is broken.
func TestProvisionSettlesClaims(t *testing.T) {
	db := testDB(t)
	orgs, dir := mongoadapter.NewOrganizationStore(db), mongoadapter.NewDirectoryStore(db)
	users := mongoadapter.NewUserStore(db)
	orgID := uuid.NewString()
	require.NoError(t, orgs.CreateOrganization(t.Context(), domain.Organization{
		ID: orgID, Name: "Claims", Slug: "claims-" + orgID[:8], CreatedAt: time.Now(), UpdatedAt: time.Now(),
	}))
	memberships := db.Collection("memberships")
	provision := func(r domain.ProvisionRow) <-chan error {
		done := make(chan error, 1)
		go func() {
			res, err := dir.Provision(context.WithoutCancel(t.Context()), []domain.ProvisionRow{r})
			if err == nil {
				err = res[0].Err
			}
			done <- err
		}()
		return done
	}
	waiting := func(done <-chan error) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("the row did not wait for the claim: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
	}

	t.Run("a claim whose user appears takes the name", func(t *testing.T) {
		ghost, name := uuid.NewString(), "Born."+uuid.NewString()[:8]
		_, err := memberships.InsertOne(t.Context(), claimDoc(orgID, ghost, name, time.Now()))
		require.NoError(t, err)
		r := namedRow(orgID, strings.ToLower(name))
		done := provision(r)
		waiting(done)
		require.NoError(t, users.CreateUser(t.Context(), domain.User{
			ID: ghost, Email: "born." + ghost + "@example.com", Status: domain.UserActive, CreatedAt: time.Now(), UpdatedAt: time.Now(),
		}))
		require.ErrorIs(t, <-done, domain.ErrAlreadyExists)
		_, err = users.GetUser(t.Context(), r.User.ID)
		require.ErrorIs(t, err, domain.ErrNotFound, "the failed row made no user")
	})

	t.Run("a claim that goes frees the name", func(t *testing.T) {
		ghost, name := uuid.NewString(), "Gone."+uuid.NewString()[:8]
		_, err := memberships.InsertOne(t.Context(), claimDoc(orgID, ghost, name, time.Now()))
		require.NoError(t, err)
		r := namedRow(orgID, name)
		done := provision(r)
		waiting(done)
		_, err = memberships.DeleteOne(t.Context(), bson.M{"user_id": ghost})
		require.NoError(t, err)
		require.NoError(t, <-done)
		m, err := orgs.GetMembershipByUserName(t.Context(), orgID, name)
		require.NoError(t, err)
		assert.Equal(t, r.User.ID, m.UserID)
	})

	t.Run("a claim older than the lease is broken", func(t *testing.T) {
		ghost, name := uuid.NewString(), "Stale."+uuid.NewString()[:8]
		_, err := memberships.InsertOne(t.Context(), claimDoc(orgID, ghost, name, time.Now().Add(-time.Hour)))
		require.NoError(t, err)
		r := namedRow(orgID, name)
		require.NoError(t, <-provision(r))
		m, err := orgs.GetMembershipByUserName(t.Context(), orgID, name)
		require.NoError(t, err)
		assert.Equal(t, r.User.ID, m.UserID)
		_, err = orgs.GetMembership(t.Context(), orgID, ghost)
		require.ErrorIs(t, err, domain.ErrNotFound, "the stale claim is gone")
	})

	t.Run("a provisioned member keeps no claim", func(t *testing.T) {
		r := namedRow(orgID, "Kept."+uuid.NewString()[:8])
		require.NoError(t, <-provision(r))
		n, err := memberships.CountDocuments(t.Context(), bson.M{"user_id": r.User.ID, "claimed_at": bson.M{"$exists": true}})
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}
