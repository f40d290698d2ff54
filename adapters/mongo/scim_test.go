package mongo_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestSCIMStore(t *testing.T) {
	testsuite.RunSCIMStore(t, func(t *testing.T) testsuite.SCIMStores {
		db := testDB(t)
		return testsuite.SCIMStores{
			Users:     mongoadapter.NewUserStore(db),
			Orgs:      mongoadapter.NewOrganizationStore(db),
			Directory: mongoadapter.NewDirectoryStore(db),
			SCIM:      mongoadapter.NewSCIMStore(db),
		}
	})
}

var scimEpoch = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

func scimOrg(t *testing.T, db *mongo.Database, id string) {
	t.Helper()
	require.NoError(t, mongoadapter.NewOrganizationStore(db).CreateOrganization(t.Context(), domain.Organization{
		ID: id, Name: "Org " + id, Slug: "s-" + uuid.NewString()[:8], CreatedAt: scimEpoch, UpdatedAt: scimEpoch,
	}))
}

func scimMember(t *testing.T, db *mongo.Database, orgID, userID string) {
	t.Helper()
	require.NoError(t, mongoadapter.NewOrganizationStore(db).PutMembership(t.Context(), domain.Membership{
		OrganizationID: orgID, UserID: userID, Role: domain.RoleMember, CreatedAt: scimEpoch,
	}))
}

func scimUser(given string, status domain.UserStatus) domain.User {
	return domain.User{
		ID: uuid.NewString(), Email: uuid.NewString()[:8] + "@example.com", GivenName: given, FamilyName: "X",
		Status: status, CreatedAt: scimEpoch, UpdatedAt: scimEpoch,
	}
}

func searchIDs(t *testing.T, s *mongoadapter.SCIMStore, q domain.UserQuery) ([]string, int) {
	t.Helper()
	page, err := s.SearchUsers(t.Context(), q)
	require.NoError(t, err)
	ids := make([]string, len(page.Members))
	for i, m := range page.Members {
		ids[i] = m.User.ID
		assert.Equal(t, q.OrganizationID, m.Membership.OrganizationID)
		assert.Equal(t, m.User.ID, m.Membership.UserID)
	}
	return ids, page.Total
}

// A search runs over the members in chunks; pages and totals span them,
// and active sees each chunk's suspended memberships.
func TestSCIMSearchAcrossChunks(t *testing.T) {
	db := testDB(t)
	users, scim := mongoadapter.NewUserStore(db), mongoadapter.NewSCIMStore(db)
	orgs := mongoadapter.NewOrganizationStore(db)
	mongoadapter.SetSearchChunkForTest(scim, 3)
	org := uuid.NewString()
	scimOrg(t, db, org)
	var all, active, inactive []string
	for i := range 11 {
		st := domain.UserActive
		if i%3 == 0 {
			st = domain.UserSuspended
		}
		u := scimUser(fmt.Sprintf("u%02d", i), st)
		require.NoError(t, users.CreateUser(t.Context(), u))
		scimMember(t, db, org, u.ID)
		suspended := i%4 == 1
		if suspended {
			m, err := orgs.GetMembership(t.Context(), org, u.ID)
			require.NoError(t, err)
			m.Status = domain.MembershipSuspended
			require.NoError(t, orgs.PutMembership(t.Context(), m))
		}
		all = append(all, u.ID)
		if st == domain.UserActive && !suspended {
			active = append(active, u.ID)
		} else {
			inactive = append(inactive, u.ID)
		}
	}
	slices.Sort(all)
	slices.Sort(active)
	slices.Sort(inactive)
	activeF := &domain.Compare{Field: domain.FieldActive, Op: domain.OpEq, Value: true}
	for _, tc := range []struct {
		f    domain.UserFilter
		want []string
	}{{nil, all}, {activeF, active}, {&domain.Not{X: activeF}, inactive}} {
		for offset := range len(tc.want) + 2 {
			for _, limit := range []int{0, 1, 2, 4, 100} {
				ids, total := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: tc.f, Offset: offset, Limit: limit})
				assert.Equal(t, len(tc.want), total)
				want := tc.want[min(offset, len(tc.want)):]
				want = want[:min(limit, len(want))]
				assert.Equal(t, want, append([]string{}, ids...), "offset %d limit %d", offset, limit)
			}
		}
	}
}

// Profile keys are escaped so that any organization id is a field name.
func TestSCIMProfileKeys(t *testing.T) {
	for _, id := range []string{"", "%", "a.b", "$x", "a%2Eb", "%2", "x\x00y", "plain-uuid", "%%.$"} {
		k := mongoadapter.ProfileKeyForTest(id)
		assert.NotContains(t, k, ".", id)
		assert.False(t, strings.HasPrefix(k, "$"), id)
		assert.NotEmpty(t, k, id)
		assert.Equal(t, id, mongoadapter.ProfileOrgIDForTest(k), "round trip of %q", id)
	}
	assert.NotEqual(t, mongoadapter.ProfileKeyForTest("a.b"), mongoadapter.ProfileKeyForTest("a%2Eb"))

	db := testDB(t)
	users, scim := mongoadapter.NewUserStore(db), mongoadapter.NewSCIMStore(db)
	dotted, escaped := "org.with.dots", "org%2Ewith%2Edots"
	scimOrg(t, db, dotted)
	scimOrg(t, db, escaped)
	u := scimUser("Dot", domain.UserActive)
	u.Profiles = map[string]domain.OrgProfile{dotted: {ExternalID: "d"}, escaped: {ExternalID: "e"}, "$weird": {ExternalID: "w"}}
	require.NoError(t, users.CreateUser(t.Context(), u))
	got, err := users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.Profiles, got.Profiles)
	scimMember(t, db, dotted, u.ID)
	scimMember(t, db, escaped, u.ID)
	ext := func(org, v string) []string {
		ids, _ := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Limit: 10,
			Filter: &domain.Compare{Field: domain.FieldExternalID, Op: domain.OpEq, Value: v}})
		return ids
	}
	assert.Equal(t, []string{u.ID}, ext(dotted, "d"))
	assert.Empty(t, ext(dotted, "e"))
	assert.Equal(t, []string{u.ID}, ext(escaped, "e"))
	assert.Empty(t, ext(escaped, "d"))
}

// Users written before the lower-cased names existed are completed by
// BackfillUsers; until then their names search as "".
func TestBackfillUsers(t *testing.T) {
	db := testDB(t)
	scim := mongoadapter.NewSCIMStore(db)
	org := uuid.NewString()
	scimOrg(t, db, org)
	id := uuid.NewString()
	_, err := db.Collection("users").InsertOne(t.Context(), bson.M{
		"_id": id, "rev": int64(0), "email": "old@example.com", "email_key": "old@example.com",
		"email_verified": true, "given_name": "Olde", "family_name": "Timer", "picture": "",
		"phone_number": "", "phone_number_verified": false, "password_hash": "", "status": "active",
		"not_before": time.Time{}, "created_at": scimEpoch, "updated_at": scimEpoch,
	})
	require.NoError(t, err)
	scimMember(t, db, org, id)
	given := func(op domain.FilterOp, v string) []string {
		ids, _ := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Limit: 10,
			Filter: &domain.Compare{Field: domain.FieldGivenName, Op: op, Value: v}})
		return ids
	}
	assert.Equal(t, []string{id}, given(domain.OpEq, ""), "before: the name is absent")

	n, err := mongoadapter.BackfillUsers(t.Context(), db)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{id}, given(domain.OpEq, "OLDE"))
	assert.Equal(t, []string{id}, given(domain.OpGt, "OL"))
	assert.Empty(t, given(domain.OpEq, ""))
	u, err := mongoadapter.NewUserStore(db).GetUser(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "Olde", u.GivenName)
	assert.Equal(t, scimEpoch, u.UpdatedAt.UTC(), "the backfill changes nothing visible")

	n, err = mongoadapter.BackfillUsers(t.Context(), db)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to do")
}

// Email keys an older version wrote with Go's Unicode lower-casing (the
// Kelvin sign became "k") are rewritten to domain.NormalizeEmail's, which
// lower-cases ASCII only; ASCII addresses are left alone.
func TestBackfillUsersRewritesEmailKeys(t *testing.T) {
	db := testDB(t)
	users := mongoadapter.NewUserStore(db)
	insert := func(email string) string {
		t.Helper()
		id := uuid.NewString()
		_, err := db.Collection("users").InsertOne(t.Context(), bson.M{
			"_id": id, "rev": int64(0), "email": email, "email_key": strings.ToLower(email),
			"email_verified": true, "given_name": "", "given_name_lc": "", "family_name": "", "family_name_lc": "",
			"picture": "", "phone_number": "", "phone_number_verified": false, "password_hash": "", "status": "active",
			"not_before": time.Time{}, "created_at": scimEpoch, "updated_at": scimEpoch,
		})
		require.NoError(t, err)
		return id
	}
	suffix := uuid.NewString()[:8] + "@example.com"
	kelvin := insert("\u212Aate." + suffix)
	unicode := insert("ÉLODIE." + suffix)
	insert("Plain." + suffix)
	_, err := users.GetUserByEmail(t.Context(), "\u212Aate."+suffix)
	require.ErrorIs(t, err, domain.ErrNotFound, "before: the key is the old one")

	n, err := mongoadapter.BackfillUsers(t.Context(), db)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the two non-ASCII addresses")
	for id, email := range map[string]string{kelvin: "\u212Aate." + suffix, unicode: "ÉLODIE." + suffix} {
		u, err := users.GetUserByEmail(t.Context(), email)
		require.NoError(t, err, email)
		assert.Equal(t, id, u.ID)
	}
	_, err = users.GetUserByEmail(t.Context(), "kate."+suffix)
	require.ErrorIs(t, err, domain.ErrNotFound, "no Unicode folding in lookups")

	n, err = mongoadapter.BackfillUsers(t.Context(), db)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to do")
}

// Filters beyond the translation's bounds are refused, not sent; constant
// sub-filters fold away.
func TestSCIMFilterBounds(t *testing.T) {
	db := testDB(t)
	scim := mongoadapter.NewSCIMStore(db)
	org := uuid.NewString()
	scimOrg(t, db, org)
	u := scimUser("Deep", domain.UserInvited)
	require.NoError(t, mongoadapter.NewUserStore(db).CreateUser(t.Context(), u))
	scimMember(t, db, org, u.ID)

	leaf := func() domain.UserFilter {
		return &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpEq, Value: "deep"}
	}
	// A chain of 200 ands, or of 200 nots, flattens: it is no deeper than
	// one.
	var chain domain.UserFilter = leaf()
	for range 200 {
		chain = &domain.And{Left: chain, Right: leaf()}
	}
	ids, _ := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: chain, Limit: 10})
	assert.Equal(t, []string{u.ID}, ids, "a long chain of and")
	var nots domain.UserFilter = leaf()
	for range 200 {
		nots = &domain.Not{X: nots}
	}
	ids, _ = searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: nots, Limit: 10})
	assert.Equal(t, []string{u.ID}, ids, "an even number of nots")

	// Alternating and and or nest, and are refused past the bound.
	var deep domain.UserFilter = leaf()
	for i := range 60 {
		if i%2 == 0 {
			deep = &domain.And{Left: leaf(), Right: deep}
		} else {
			deep = &domain.Or{Left: leaf(), Right: deep}
		}
	}
	_, err := scim.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: org, Filter: deep, Limit: 10})
	require.Error(t, err, "too deep")
	var nested domain.UserFilter = leaf()
	for i := range 30 {
		if i%2 == 0 {
			nested = &domain.And{Left: leaf(), Right: nested}
		} else {
			nested = &domain.Or{Left: leaf(), Right: nested}
		}
	}
	ids, _ = searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: nested, Limit: 10})
	assert.Equal(t, []string{u.ID}, ids, "30 alternations are fine")

	var wide domain.UserFilter = leaf()
	for range 20 {
		wide = &domain.And{Left: wide, Right: &domain.Or{Left: wide, Right: leaf()}}
	}
	_, err = scim.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: org, Filter: wide, Limit: 10})
	require.Error(t, err, "too many terms")

	var ok domain.UserFilter = leaf()
	for range 10 {
		ok = &domain.Not{X: &domain.Not{X: &domain.And{Left: ok, Right: leaf()}}}
	}
	ids, total := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: ok, Limit: 10})
	assert.Equal(t, []string{u.ID}, ids)
	assert.Equal(t, 1, total)

	// Constant comparisons: co "" always holds, active pr too; their
	// negations never do.
	always := &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpCo, Value: ""}
	ids, _ = searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: always, Limit: 10})
	assert.Equal(t, []string{u.ID}, ids)
	ids, total = searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: &domain.Not{X: always}, Limit: 10})
	assert.Empty(t, ids)
	assert.Zero(t, total)
	ids, _ = searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Limit: 10, Filter: &domain.Or{
		Left:  &domain.Not{X: &domain.Compare{Field: domain.FieldActive, Op: domain.OpPr}},
		Right: &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpSw, Value: "DE"},
	}})
	assert.Equal(t, []string{u.ID}, ids)
}

// userName is the membership's: each chunk's comparisons become
// conditions on its user ids, an $in or a $nin, whichever is shorter, and
// pages and totals still span the chunks.
func TestSCIMUserNameAcrossChunks(t *testing.T) {
	db := testDB(t)
	users, orgs, scim := mongoadapter.NewUserStore(db), mongoadapter.NewOrganizationStore(db), mongoadapter.NewSCIMStore(db)
	mongoadapter.SetSearchChunkForTest(scim, 3)
	org := uuid.NewString()
	scimOrg(t, db, org)
	names := map[string]string{} // user id -> user name
	for i := range 11 {
		u := scimUser(fmt.Sprintf("u%02d", i), domain.UserActive)
		require.NoError(t, users.CreateUser(t.Context(), u))
		name := fmt.Sprintf("Pupil.%02d@School.example", i)
		if i%5 == 4 {
			name = "" // unnamed
		}
		require.NoError(t, orgs.PutMembership(t.Context(), domain.Membership{
			OrganizationID: org, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive,
			UserName: name, CreatedAt: scimEpoch,
		}))
		names[u.ID] = strings.ToLower(name)
	}
	userName := func(op domain.FilterOp, v string) domain.UserFilter {
		return &domain.Compare{Field: domain.FieldUserName, Op: op, Value: v}
	}
	for _, tc := range []struct {
		name  string
		f     domain.UserFilter
		holds func(name string) bool
	}{
		{"most members start with the prefix", userName(domain.OpSw, "PUPIL.0"), func(n string) bool { return strings.HasPrefix(n, "pupil.0") }},
		{"one member has the name", userName(domain.OpEq, "pupil.07@school.EXAMPLE"), func(n string) bool { return n == "pupil.07@school.example" }},
		{"the unnamed members have none", &domain.Not{X: userName(domain.OpPr, "")}, func(n string) bool { return n == "" }},
		{"names after a bound", userName(domain.OpGt, "PUPIL.05"), func(n string) bool { return n > "pupil.05" }},
		{"names or given names", &domain.Or{
			Left:  userName(domain.OpEw, "02@school.example"),
			Right: &domain.Compare{Field: domain.FieldGivenName, Op: domain.OpEq, Value: "U08"},
		}, func(n string) bool {
			return strings.HasSuffix(n, "02@school.example") || n == "pupil.08@school.example"
		}},
	} {
		var want []string
		for id, n := range names {
			if tc.holds(n) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		require.NotEmpty(t, want, tc.name)
		for _, limit := range []int{1, 2, 100} {
			var got []string
			for offset := 0; offset < len(want); offset += limit {
				ids, total := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: tc.f, Offset: offset, Limit: limit})
				assert.Equal(t, len(want), total, "%s: total", tc.name)
				got = append(got, ids...)
			}
			assert.Equal(t, want, got, "%s: pages of %d", tc.name, limit)
		}
	}
}

// commandLog records the filters of the commands a client sends, by
// command name and collection.
type commandLog struct {
	mu   sync.Mutex
	seen []loggedCommand
}

type loggedCommand struct {
	name, collection string
	filter           bson.Raw
}

func (l *commandLog) started(_ context.Context, e *event.CommandStartedEvent) {
	coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
	var filter bson.Raw
	for _, key := range []string{"filter", "query"} {
		if v, err := e.Command.LookupErr(key); err == nil {
			filter, _ = v.DocumentOK()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, loggedCommand{name: e.CommandName, collection: coll, filter: filter})
}

func (l *commandLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = nil
}

// on returns the commands sent to a collection.
func (l *commandLog) on(collection string) []loggedCommand {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedCommand
	for _, c := range l.seen {
		if c.collection == collection {
			out = append(out, c)
		}
	}
	return out
}

// monitored opens db again through a client that logs its commands.
func monitored(t *testing.T, db *mongo.Database) (*mongo.Database, *commandLog) {
	t.Helper()
	log := &commandLog{}
	client, err := mongo.Connect(t.Context(), options.Client().ApplyURI(os.Getenv("CALIMATIC_TEST_MONGO_URI")).
		SetMonitor(&event.CommandMonitor{Started: log.started}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(db.Name()), log
}

// The providers' existence check, a top-level userName eq, is one lookup
// of the membership by its user_name_key, not a read of the organization's
// memberships; so is id eq, by the natural key.
func TestSCIMUserNameEqIsOneLookup(t *testing.T) {
	db := testDB(t)
	users, orgs := mongoadapter.NewUserStore(db), mongoadapter.NewOrganizationStore(db)
	org := uuid.NewString()
	scimOrg(t, db, org)
	var ids []string
	for i := range 4 {
		u := scimUser(fmt.Sprintf("u%d", i), domain.UserActive)
		require.NoError(t, users.CreateUser(t.Context(), u))
		require.NoError(t, orgs.PutMembership(t.Context(), domain.Membership{
			OrganizationID: org, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive,
			UserName: fmt.Sprintf("Upn.%d@Contoso.example", i), CreatedAt: scimEpoch,
		}))
		ids = append(ids, u.ID)
	}
	mdb, log := monitored(t, db)
	scim := mongoadapter.NewSCIMStore(mdb)

	for _, tc := range []struct {
		name string
		f    *domain.Compare
		key  string // the one field the membership lookup filters on besides status
	}{
		{"userName eq", &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "UPN.2@contoso.EXAMPLE"}, "user_name_key"},
		{"id eq", &domain.Compare{Field: domain.FieldID, Op: domain.OpEq, Value: ids[2]}, "user_id"},
	} {
		log.reset()
		got, total := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Filter: tc.f, Limit: 10})
		assert.Equal(t, []string{ids[2]}, got, tc.name)
		assert.Equal(t, 1, total, tc.name)
		reads := log.on("memberships")
		require.Len(t, reads, 1, "%s: one membership read", tc.name)
		assert.Equal(t, "find", reads[0].name, tc.name)
		_, err := reads[0].filter.LookupErr(tc.key)
		assert.NoError(t, err, "%s: the lookup filters on %s: %s", tc.name, tc.key, reads[0].filter)
	}

	log.reset()
	got, _ := searchIDs(t, scim, domain.UserQuery{OrganizationID: org, Limit: 10,
		Filter: &domain.Compare{Field: domain.FieldUserName, Op: domain.OpSw, Value: "upn.2"}})
	assert.Equal(t, []string{ids[2]}, got)
	reads := log.on("memberships")
	require.NotEmpty(t, reads)
	_, err := reads[0].filter.LookupErr("user_name_key")
	assert.Error(t, err, "other comparisons read the organization's memberships")
}
