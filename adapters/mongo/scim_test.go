package mongo_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

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
