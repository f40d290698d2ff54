package mongo_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
)

var backfillEpoch = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// legacyDirectory is a directory as the versions before membership
// statuses, home organizations and user names left it, written as raw
// documents.
type legacyDirectory struct {
	orgA, orgB string // orgA < orgB
	// older: memberships in orgB (older) and orgA (newer), inserted newer
	// first. tied: memberships in orgB and orgA of one time. none: no
	// membership. homeless: a user of this version whose home is "", with
	// a membership. pendingFirst: a pending membership in orgA older than
	// an active one in orgB.
	older, tied, none, homeless, pendingFirst string

	// The user names, in orgC. mixed: a user whose stored email has upper
	// case. clash: a user whose email another member, named by this
	// version, has as its name (in another case). noEmail: a user without
	// an email. ghost: a membership whose user is gone.
	orgC, mixed, clash, noEmail, ghost string
}

// legacyEmail is the email of the legacy user id, as legacyUser stores it.
func legacyEmail(id string) string { return id + "@example.com" }

func newLegacyDirectory(t *testing.T, db *mongo.Database) legacyDirectory {
	t.Helper()
	suffix := uuid.NewString()
	l := legacyDirectory{
		orgA: "a-" + suffix, orgB: "b-" + suffix,
		older: uuid.NewString(), tied: uuid.NewString(), none: uuid.NewString(),
		homeless: uuid.NewString(), pendingFirst: uuid.NewString(),
	}
	orgs := mongoadapter.NewOrganizationStore(db)
	for _, id := range []string{l.orgA, l.orgB} {
		require.NoError(t, orgs.CreateOrganization(t.Context(), domain.Organization{
			ID: id, Name: id, Slug: id, CreatedAt: backfillEpoch, UpdatedAt: backfillEpoch,
		}))
	}
	for _, id := range []string{l.older, l.tied, l.none, l.pendingFirst} {
		_, err := db.Collection("users").InsertOne(t.Context(), legacyUser(id))
		require.NoError(t, err)
	}
	homeless := legacyUser(l.homeless)
	homeless["home_organization_id"] = ""
	_, err := db.Collection("users").InsertOne(t.Context(), homeless)
	require.NoError(t, err)

	hour := time.Hour
	for _, m := range []bson.M{
		legacyMembership(l.orgA, l.older, backfillEpoch.Add(2*hour), false),
		legacyMembership(l.orgB, l.older, backfillEpoch, true),
		legacyMembership(l.orgB, l.tied, backfillEpoch, true),
		legacyMembership(l.orgA, l.tied, backfillEpoch, false),
		legacyMembership(l.orgA, l.homeless, backfillEpoch, true),
		legacyMembership(l.orgB, l.pendingFirst, backfillEpoch.Add(hour), false),
	} {
		_, err := db.Collection("memberships").InsertOne(t.Context(), m)
		require.NoError(t, err)
	}
	pending := legacyMembership(l.orgA, l.pendingFirst, backfillEpoch, false)
	pending["status"] = string(domain.MembershipPending)
	_, err = db.Collection("memberships").InsertOne(t.Context(), pending)
	require.NoError(t, err)
	l.legacyNames(t, db)
	return l
}

// legacyNames writes orgC's members: unnamed ones, as before user names,
// and one member this version named after clash's email.
func (l *legacyDirectory) legacyNames(t *testing.T, db *mongo.Database) {
	t.Helper()
	l.orgC, l.mixed, l.clash, l.noEmail, l.ghost = "c-"+uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	require.NoError(t, mongoadapter.NewOrganizationStore(db).CreateOrganization(t.Context(), domain.Organization{
		ID: l.orgC, Name: l.orgC, Slug: l.orgC, CreatedAt: backfillEpoch, UpdatedAt: backfillEpoch,
	}))
	mixed, noEmail := legacyUser(l.mixed), legacyUser(l.noEmail)
	mixed["email"] = "Mixed." + legacyEmail(l.mixed)
	mixed["email_key"] = strings.ToLower(mixed["email"].(string))
	noEmail["email"] = ""
	delete(noEmail, "email_key")
	for _, u := range []bson.M{mixed, noEmail, legacyUser(l.clash)} {
		_, err := db.Collection("users").InsertOne(t.Context(), u)
		require.NoError(t, err)
	}
	for _, id := range []string{l.mixed, l.clash, l.noEmail, l.ghost} {
		_, err := db.Collection("memberships").InsertOne(t.Context(), legacyMembership(l.orgC, id, backfillEpoch, false))
		require.NoError(t, err)
	}
	require.NoError(t, mongoadapter.NewOrganizationStore(db).PutMembership(t.Context(), domain.Membership{
		OrganizationID: l.orgC, UserID: uuid.NewString(), Role: domain.RoleMember, Status: domain.MembershipActive,
		UserName: strings.ToUpper(legacyEmail(l.clash)), CreatedAt: backfillEpoch,
	}))
}

// legacyUser is a user document without home_organization_id.
func legacyUser(id string) bson.M {
	return bson.M{
		"_id": id, "rev": int64(3), "email": id + "@example.com", "email_key": id + "@example.com",
		"email_verified": true, "given_name": "Olde", "family_name": "Timer", "given_name_lc": "olde",
		"family_name_lc": "timer", "picture": "", "phone_number": "", "phone_number_verified": false,
		"password_hash": "", "status": "active", "not_before": time.Time{},
		"created_at": backfillEpoch, "updated_at": backfillEpoch,
	}
}

// legacyMembership is a membership document without status.
func legacyMembership(orgID, userID string, created time.Time, primary bool) bson.M {
	m := bson.M{"user_id": userID, "organization_id": orgID, "role": domain.RoleMember, "primary": primary, "created_at": created}
	if primary {
		m["primary_claim"] = userID
	}
	return m
}

// check asserts the directory after the backfill.
func (l legacyDirectory) check(t *testing.T, db *mongo.Database) {
	t.Helper()
	users := mongoadapter.NewUserStore(db)
	for _, tc := range []struct {
		name, user, home string
	}{
		{"the oldest membership is the home", l.older, l.orgB},
		{"memberships of one time: the lower organization id is the home", l.tied, l.orgA},
		{"a user without memberships has no home", l.none, ""},
		{"a home already \"\" stays \"\"", l.homeless, ""},
		{"a pending membership makes no home", l.pendingFirst, l.orgB},
	} {
		u, err := users.GetUser(t.Context(), tc.user)
		if assert.NoError(t, err, tc.name) {
			assert.Equal(t, tc.home, u.HomeOrganizationID, tc.name)
		}
	}
	n, err := db.Collection("users").CountDocuments(t.Context(), bson.M{"home_organization_id": bson.M{"$exists": false}})
	require.NoError(t, err)
	assert.Zero(t, n, "every user document has the field")

	orgs := mongoadapter.NewOrganizationStore(db)
	for _, id := range []string{l.older, l.tied, l.homeless} {
		ms, err := orgs.ListUserMemberships(t.Context(), id)
		require.NoError(t, err)
		for _, m := range ms {
			assert.Equal(t, domain.MembershipActive, m.Status, "a membership without status becomes active")
		}
	}
	m, err := orgs.GetMembership(t.Context(), l.orgA, l.pendingFirst)
	require.NoError(t, err)
	assert.Equal(t, domain.MembershipPending, m.Status, "a status is kept")
	n, err = db.Collection("memberships").CountDocuments(t.Context(), bson.M{"status": bson.M{"$exists": false}})
	require.NoError(t, err)
	assert.Zero(t, n, "every membership document has the field")
	l.checkNames(t, db)
}

// checkNames asserts the user names after the backfill.
func (l legacyDirectory) checkNames(t *testing.T, db *mongo.Database) {
	t.Helper()
	orgs := mongoadapter.NewOrganizationStore(db)
	for _, tc := range []struct {
		name, org, user, want string
	}{
		{"a member is named after its user's email", l.orgA, l.older, legacyEmail(l.older)},
		{"in every organization", l.orgB, l.older, legacyEmail(l.older)},
		{"a pending member too", l.orgA, l.pendingFirst, legacyEmail(l.pendingFirst)},
		{"the email as stored, case included", l.orgC, l.mixed, "Mixed." + legacyEmail(l.mixed)},
		{"an email another member has as its name: the user id", l.orgC, l.clash, l.clash},
		{"a user without an email: no name", l.orgC, l.noEmail, ""},
		{"a user that is gone: no name", l.orgC, l.ghost, ""},
	} {
		m, err := orgs.GetMembership(t.Context(), tc.org, tc.user)
		if assert.NoError(t, err, tc.name) {
			assert.Equal(t, tc.want, m.UserName, tc.name)
		}
		if tc.want == "" {
			continue
		}
		byName, err := orgs.GetMembershipByUserName(t.Context(), tc.org, strings.ToUpper(tc.want))
		if assert.NoError(t, err, tc.name) {
			assert.Equal(t, tc.user, byName.UserID, "%s: found by its name", tc.name)
		}
	}
	n, err := db.Collection("memberships").CountDocuments(t.Context(), bson.M{"user_name": bson.M{"$exists": false}})
	require.NoError(t, err)
	assert.Zero(t, n, "every membership document has the field")
}

// Before the backfill, the old documents read as what they were: active
// memberships, and users without a home.
func TestLegacyDocumentsRead(t *testing.T) {
	db := testDB(t)
	l := newLegacyDirectory(t, db)
	m, err := mongoadapter.NewOrganizationStore(db).GetMembership(t.Context(), l.orgB, l.older)
	require.NoError(t, err)
	assert.Equal(t, domain.Membership{
		OrganizationID: l.orgB, UserID: l.older, Role: domain.RoleMember, Status: domain.MembershipActive,
		Primary: true, CreatedAt: backfillEpoch,
	}, normMembership(m))
	u, err := mongoadapter.NewUserStore(db).GetUser(t.Context(), l.older)
	require.NoError(t, err)
	assert.Empty(t, u.HomeOrganizationID)
	_, err = mongoadapter.NewOrganizationStore(db).GetMembershipByUserName(t.Context(), l.orgB, legacyEmail(l.older))
	require.ErrorIs(t, err, domain.ErrNotFound, "a membership without a name has none")

	members, err := mongoadapter.NewDirectoryStore(db).ListMembers(t.Context(), l.orgB, "", 10)
	require.NoError(t, err)
	var ids []string
	for _, m := range members {
		ids = append(ids, m.User.ID)
	}
	assert.ElementsMatch(t, []string{l.older, l.tied, l.pendingFirst}, ids, "memberships without status are members")
	page, err := mongoadapter.NewSCIMStore(db).SearchUsers(t.Context(), domain.UserQuery{OrganizationID: l.orgA, Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total, "the pending membership is not searched, the ones without status are")
}

// Open, as every instance runs it at start, migrates the old shape; a
// second run finds nothing to do, and the migrated documents stay
// writable.
func TestStartBackfillsLegacyDirectory(t *testing.T) {
	db := testDB(t)
	l := newLegacyDirectory(t, db)
	client, opened, err := mongoadapter.Open(t.Context(), mongoadapter.Options{
		URI: os.Getenv("CALIMATIC_TEST_MONGO_URI"), Database: db.Name(), Timeout: 30 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(t.Context()) })
	l.check(t, opened)

	ms, us, err := mongoadapter.BackfillDirectory(t.Context(), db)
	require.NoError(t, err)
	assert.Zero(t, ms, "no membership left to change")
	assert.Zero(t, us, "no user left to change")

	users := mongoadapter.NewUserStore(db)
	u, err := users.UpdateUser(t.Context(), l.older, func(u *domain.User) error {
		u.GivenName = "Newe"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, l.orgB, u.HomeOrganizationID)
	got, err := users.GetUser(t.Context(), l.older)
	require.NoError(t, err)
	assert.Equal(t, "Newe", got.GivenName)
	assert.Equal(t, l.orgB, got.HomeOrganizationID, "an update keeps the home")
}

// Instances starting together run the backfill together, each in several
// batches; they agree.
func TestBackfillRunsInParallel(t *testing.T) {
	db := testDB(t)
	l := newLegacyDirectory(t, db)
	const instances = 4
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() { _, _, errs[i] = mongoadapter.BackfillDirectoryInBatchesForTest(t.Context(), db, 2) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	l.check(t, db)
}

// normMembership puts a membership's time in UTC, as written.
func normMembership(m domain.Membership) domain.Membership {
	m.CreatedAt = m.CreatedAt.UTC()
	return m
}
