package testsuite

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// ---- search ----

func searchScoped(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	d.expect(t, s, nil, searchDirMembers...)
	d.expect(t, s, eq(domain.FieldID, d.id("outsider")))
	d.expect(t, s, eq(domain.FieldUserName, d.users["outsider"].Email))
	d.expect(t, s, eq(domain.FieldGivenName, "alice"), "alice")
	d.expect(t, s, eq(domain.FieldExternalID, "EXT-Alice"), "alice")

	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.other.ID, Limit: 100})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{d.id("dave"), d.id("outsider")}, memberIDs(page.Members))
	assert.Equal(t, 2, page.Total)

	empty := createOrganization(t, s.Orgs)
	page, err = s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: empty.ID, Limit: 100})
	require.NoError(t, err)
	assert.Empty(t, page.Members)
	assert.Zero(t, page.Total)
	page, err = s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: uuid.NewString(), Limit: 100})
	require.NoError(t, err, "an unknown organization has no members")
	assert.Empty(t, page.Members)
	assert.Zero(t, page.Total)
}

func searchPendingHidden(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	u := sampleUser()
	require.NoError(t, s.Users.CreateUser(t.Context(), u))
	require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
		OrganizationID: d.org.ID, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipPending, CreatedAt: epoch,
	}))
	d.expect(t, s, nil, searchDirMembers...)
	d.expect(t, s, eq(domain.FieldUserName, u.Email))
	d.expect(t, s, eq(domain.FieldID, u.ID))
	d.expect(t, s, eq(domain.FieldGivenName, u.GivenName))
}

func searchReturnsMembers(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID, Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Members, len(searchDirMembers))
	for _, m := range page.Members {
		name := d.names([]string{m.User.ID})[0]
		want := d.users[name]
		assertSame(t, domain.Membership{OrganizationID: d.org.ID, UserID: want.ID, Role: domain.RoleMember, UserName: want.Email, CreatedAt: epoch},
			m.Membership, name)
		assertSameUser(t, want, m.User, name)
	}
}

func searchPaged(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	all := d.ids(searchDirMembers...)
	page := func(f domain.UserFilter, offset, limit int) domain.UserPage {
		t.Helper()
		p, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID, Filter: f, Offset: offset, Limit: limit})
		require.NoError(t, err)
		return p
	}
	var got []string
	for offset := 0; offset < len(all); offset += 4 {
		p := page(nil, offset, 4)
		assert.Equal(t, len(all), p.Total, "the total counts every match, offset %d", offset)
		require.LessOrEqual(t, len(p.Members), 4)
		got = append(got, memberIDs(p.Members)...)
	}
	assert.Equal(t, all, got, "the pages cover every member once, in id order")
	p := page(nil, len(all), 4)
	assert.Empty(t, p.Members, "an offset past the end")
	assert.Equal(t, len(all), p.Total)
	p = page(nil, 100, 4)
	assert.Empty(t, p.Members)
	assert.Equal(t, len(all), p.Total)

	active := d.ids("alice", "bob", "erin", "frank")
	p = page(eq(domain.FieldActive, true), 1, 2)
	assert.Equal(t, active[1:3], memberIDs(p.Members), "a filtered page")
	assert.Equal(t, len(active), p.Total)
	p = page(eq(domain.FieldActive, true), 3, 2)
	assert.Equal(t, active[3:], memberIDs(p.Members))
	assert.Equal(t, len(active), p.Total)
}

func searchLimitZero(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	p, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID})
	require.NoError(t, err)
	assert.Empty(t, p.Members)
	assert.Equal(t, len(searchDirMembers), p.Total)
	p, err = s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID, Filter: eq(domain.FieldActive, false), Offset: 1})
	require.NoError(t, err)
	assert.Empty(t, p.Members)
	assert.Equal(t, 2, p.Total, "the total ignores the offset")
}

func searchID(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	alice := d.id("alice")
	d.expect(t, s, eq(domain.FieldID, alice), "alice")
	d.expect(t, s, eq(domain.FieldID, strings.ToUpper(alice)))
	d.expect(t, s, cmpf(domain.FieldID, domain.OpNe, alice), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldID, domain.OpSw, alice[:13]), "alice")
	d.expect(t, s, cmpf(domain.FieldID, domain.OpEw, alice[24:]), "alice")
	d.expect(t, s, cmpf(domain.FieldID, domain.OpCo, alice[9:23]), "alice")
	d.expect(t, s, pr(domain.FieldID), searchDirMembers...)
	d.expect(t, s, cmpf(domain.FieldID, domain.OpGe, alice), d.namesFrom(func(u domain.User) bool { return u.ID >= alice })...)
	d.expect(t, s, cmpf(domain.FieldID, domain.OpLt, alice), d.namesFrom(func(u domain.User) bool { return u.ID < alice })...)
}

// namesFrom is the names of the members for which keep holds.
func (d *searchDir) namesFrom(keep func(domain.User) bool) []string {
	var out []string
	for _, n := range searchDirMembers {
		if keep(d.users[n]) {
			out = append(out, n)
		}
	}
	return out
}

func searchUserName(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	f := domain.FieldUserName
	up := strings.ToUpper
	d.expect(t, s, eq(f, up(d.users["alice"].Email)), "alice")
	d.expect(t, s, eq(f, d.users["alice"].Email), "alice")
	d.expect(t, s, eq(f, "alice"))
	d.expect(t, s, cmpf(f, domain.OpNe, up(d.users["alice"].Email)), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpCo, "ICE."), "alice")
	d.expect(t, s, cmpf(f, domain.OpCo, up(d.suffix)), searchDirMembers...)
	d.expect(t, s, cmpf(f, domain.OpSw, "BOB."), "bob")
	d.expect(t, s, cmpf(f, domain.OpSw, "ob."))
	d.expect(t, s, cmpf(f, domain.OpEw, "@X.Test"), "alice", "carol", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpEw, "@x.tes"))
	d.expect(t, s, pr(f), searchDirMembers...)
	d.expect(t, s, cmpf(f, domain.OpGt, "C"), "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpGe, "DAVE."), "dave", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpLt, "Bob"), "alice")
	d.expect(t, s, cmpf(f, domain.OpLe, up(d.users["bob"].Email)), "alice", "bob")
}

func searchNames(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	g, fam := domain.FieldGivenName, domain.FieldFamilyName
	d.expect(t, s, eq(g, "alice"), "alice")
	d.expect(t, s, eq(g, "ALICE"), "alice")
	d.expect(t, s, eq(g, ""), "dave")
	d.expect(t, s, cmpf(g, domain.OpSw, "c"), "carol")
	d.expect(t, s, cmpf(g, domain.OpEw, "K"), "frank")
	d.expect(t, s, cmpf(g, domain.OpCo, "R"), "carol", "frank")
	d.expect(t, s, cmpf(g, domain.OpGt, "b"), "bob", "carol", "frank")
	d.expect(t, s, cmpf(g, domain.OpLe, "BOB"), "alice", "bob", "dave", "erin")
	d.expect(t, s, eq(fam, "smith"), "alice", "carol")
	d.expect(t, s, eq(fam, "SMITH"), "alice", "carol")
	d.expect(t, s, cmpf(fam, domain.OpNe, "Smith"), "bob", "dave", "erin", "frank")
	d.expect(t, s, cmpf(fam, domain.OpEw, "TH"), "alice", "carol")
	d.expect(t, s, cmpf(fam, domain.OpLt, "k"), "bob", "dave", "erin")
	d.expect(t, s, cmpf(fam, domain.OpGe, "o'brien"), "alice", "carol", "frank")
}

func searchActive(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	f := domain.FieldActive
	d.expect(t, s, eq(f, true), "alice", "bob", "erin", "frank")
	d.expect(t, s, eq(f, false), "carol", "dave")
	d.expect(t, s, cmpf(f, domain.OpNe, true), "carol", "dave")
	d.expect(t, s, cmpf(f, domain.OpNe, false), "alice", "bob", "erin", "frank")
	d.expect(t, s, pr(f), searchDirMembers...)
}

func searchActiveMembership(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	erin := d.users["erin"]
	m, err := s.Orgs.GetMembership(t.Context(), d.org.ID, erin.ID)
	require.NoError(t, err)
	m.Status = domain.MembershipSuspended
	require.NoError(t, s.Orgs.PutMembership(t.Context(), m))
	f := domain.FieldActive
	d.expect(t, s, eq(f, true), "alice", "bob", "frank")
	d.expect(t, s, eq(f, false), "carol", "dave", "erin")
	d.expect(t, s, cmpf(f, domain.OpNe, true), "carol", "dave", "erin")
	d.expect(t, s, pr(f), searchDirMembers...)
	d.expect(t, s, &domain.And{Left: eq(domain.FieldUserName, erin.Email), Right: eq(f, true)})
	d.expect(t, s, &domain.And{Left: eq(domain.FieldUserName, erin.Email), Right: eq(f, false)}, "erin")
	d.expect(t, s, &domain.And{Left: eq(domain.FieldID, erin.ID), Right: &domain.Not{X: eq(f, true)}}, "erin")
}

func searchTimes(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	c, m := domain.FieldCreated, domain.FieldLastModified
	at := func(hours float64) time.Time {
		// another zone: times compare as instants
		return epoch.Add(time.Duration(hours * float64(time.Hour))).In(time.FixedZone("UTC+5", 5*3600))
	}
	d.expect(t, s, eq(c, at(1)), "bob")
	d.expect(t, s, cmpf(c, domain.OpNe, at(1)), "alice", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(c, domain.OpGt, at(3)), "erin", "frank")
	d.expect(t, s, cmpf(c, domain.OpGe, at(3)), "dave", "erin", "frank")
	d.expect(t, s, cmpf(c, domain.OpLt, at(1)), "alice")
	d.expect(t, s, cmpf(c, domain.OpLe, at(1)), "alice", "bob")
	d.expect(t, s, cmpf(c, domain.OpGt, at(0.5)), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, pr(c), searchDirMembers...)
	d.expect(t, s, eq(m, at(0.5)), "alice")
	d.expect(t, s, cmpf(m, domain.OpGt, at(0.5)), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(m, domain.OpLt, at(2.5)), "alice", "bob")
	d.expect(t, s, cmpf(m, domain.OpLe, at(2.5)), "alice", "bob", "carol")
	d.expect(t, s, cmpf(m, domain.OpGe, at(5.5)), "frank")
	d.expect(t, s, pr(m), searchDirMembers...)
}

func searchExternalID(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	f := domain.FieldExternalID
	d.expect(t, s, eq(f, "EXT-Alice"), "alice")
	d.expect(t, s, eq(f, "ext-alice"))
	d.expect(t, s, eq(f, "EXT-ALICE"))
	d.expect(t, s, eq(f, "ext-bob"), "bob")
	d.expect(t, s, eq(f, "EXT-BOB"))
	d.expect(t, s, eq(f, ""), "carol", "dave")
	d.expect(t, s, cmpf(f, domain.OpSw, "EXT"), "alice")
	d.expect(t, s, cmpf(f, domain.OpSw, "ext"), "bob")
	d.expect(t, s, cmpf(f, domain.OpCo, "-"), "alice", "bob")
	d.expect(t, s, cmpf(f, domain.OpCo, "ALICE"))
	d.expect(t, s, cmpf(f, domain.OpEw, "Alice"), "alice")
	d.expect(t, s, cmpf(f, domain.OpEw, "y"), "erin", "frank")
	// byte order: "" < "EXT-Alice" < "a" < "ext-bob" < "x_y" < "xzy"
	d.expect(t, s, cmpf(f, domain.OpLt, "a"), "alice", "carol", "dave")
	d.expect(t, s, cmpf(f, domain.OpGt, "a"), "bob", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpGt, "ext-bob"), "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpGe, "ext-bob"), "bob", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpLe, ""), "carol", "dave")
	d.expect(t, s, cmpf(f, domain.OpGe, ""), searchDirMembers...)
}

func searchProfileStrings(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	dn, dep, num := domain.FieldDisplayName, domain.FieldDepartment, domain.FieldEmployeeNumber
	d.expect(t, s, eq(dn, "ALICE SMITH"), "alice")
	d.expect(t, s, eq(dn, "Dave Other")) // another organization's profile
	d.expect(t, s, cmpf(dn, domain.OpCo, "JONES"), "bob")
	d.expect(t, s, cmpf(dn, domain.OpSw, "A"), "alice", "erin", "frank")
	d.expect(t, s, cmpf(dn, domain.OpEw, "B"), "erin", "frank")
	d.expect(t, s, cmpf(dn, domain.OpGt, "B"), "bob")
	d.expect(t, s, cmpf(dn, domain.OpLe, "AXYZB"), "alice", "carol", "dave", "erin", "frank")
	d.expect(t, s, eq(dep, "MATH"), "alice")
	d.expect(t, s, eq(dep, "Science"), "bob")
	d.expect(t, s, cmpf(dep, domain.OpNe, "math"), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(dep, domain.OpSw, "SCI"), "bob")
	d.expect(t, s, eq(num, "E200"), "bob")
	d.expect(t, s, cmpf(num, domain.OpSw, "e"), "alice", "bob")
	d.expect(t, s, cmpf(num, domain.OpGt, "e150"), "bob")
	d.expect(t, s, cmpf(num, domain.OpLe, "E100"), "alice", "carol", "dave", "erin", "frank")
}

func searchManager(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	f, bob := domain.FieldManagerID, d.id("bob")
	d.expect(t, s, eq(f, bob), "alice")
	d.expect(t, s, eq(f, strings.ToUpper(bob)))
	d.expect(t, s, cmpf(f, domain.OpNe, bob), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpSw, bob[:8]), "alice")
	d.expect(t, s, pr(f), "alice")
}

func searchEmailValue(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	f := domain.FieldEmailValue
	d.expect(t, s, eq(f, strings.ToUpper(d.users["carol"].Email)), "carol")
	d.expect(t, s, eq(f, d.users["alice"].Email), "alice")
	d.expect(t, s, eq(f, "ALICE.WORK@SCHOOL.TEST"), "alice")
	d.expect(t, s, eq(f, "alice.home@mail.test"), "alice")
	d.expect(t, s, eq(f, "dave@school.test")) // another organization's profile
	d.expect(t, s, cmpf(f, domain.OpCo, "@School."), "alice", "bob")
	d.expect(t, s, cmpf(f, domain.OpEw, "@mail.TEST"), "alice")
	d.expect(t, s, cmpf(f, domain.OpEw, "@z.test"), "dave")
	d.expect(t, s, cmpf(f, domain.OpSw, "bob@"), "bob")
	d.expect(t, s, cmpf(f, domain.OpSw, "bob."), "bob")
	d.expect(t, s, cmpf(f, domain.OpGt, "e"), "erin", "frank")
	d.expect(t, s, cmpf(f, domain.OpLt, "B"), "alice")
	d.expect(t, s, pr(f), searchDirMembers...)
}

func searchMultiValued(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	et, pv, pt := domain.FieldEmailType, domain.FieldPhoneValue, domain.FieldPhoneType
	d.expect(t, s, eq(et, "WORK"), "alice", "bob")
	d.expect(t, s, eq(et, "home"), "alice")
	d.expect(t, s, cmpf(et, domain.OpSw, "h"), "alice")
	d.expect(t, s, cmpf(et, domain.OpGt, "ho"), "alice", "bob")
	d.expect(t, s, eq(pv, "+1 555 0100"), "alice")
	d.expect(t, s, cmpf(pv, domain.OpCo, "0200"), "bob")
	d.expect(t, s, cmpf(pv, domain.OpSw, "+1 555"), "alice", "bob")
	d.expect(t, s, cmpf(pv, domain.OpEw, "0300")) // another organization's profile
	d.expect(t, s, eq(pt, "mobile"), "bob")
	d.expect(t, s, eq(pt, "FAX"), "erin")
	d.expect(t, s, cmpf(pt, domain.OpCo, "o"), "alice", "bob")
}

func searchPresent(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	d.expect(t, s, pr(domain.FieldExternalID), "alice", "bob", "erin", "frank")
	d.expect(t, s, pr(domain.FieldDisplayName), "alice", "bob", "erin", "frank")
	d.expect(t, s, pr(domain.FieldDepartment), "alice", "bob", "erin", "frank")
	d.expect(t, s, pr(domain.FieldEmployeeNumber), "alice", "bob")
	d.expect(t, s, pr(domain.FieldGivenName), "alice", "bob", "carol", "erin", "frank")
	d.expect(t, s, pr(domain.FieldFamilyName), "alice", "bob", "carol", "erin", "frank")
	d.expect(t, s, pr(domain.FieldEmailType), "alice", "bob")
	d.expect(t, s, pr(domain.FieldPhoneValue), "alice", "bob") // erin's phone has no value
	d.expect(t, s, pr(domain.FieldPhoneType), "alice", "bob", "erin")
	d.expect(t, s, &domain.Not{X: pr(domain.FieldExternalID)}, "carol", "dave")
	d.expect(t, s, &domain.Not{X: pr(domain.FieldPhoneValue)}, "carol", "dave", "erin", "frank")
}

func searchNotEqual(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	d.expect(t, s, cmpf(domain.FieldExternalID, domain.OpNe, "x"), searchDirMembers...)
	d.expect(t, s, cmpf(domain.FieldExternalID, domain.OpNe, "ext-bob"), "alice", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldExternalID, domain.OpNe, ""), "alice", "bob", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldDisplayName, domain.OpNe, "dave other"), searchDirMembers...)
	d.expect(t, s, cmpf(domain.FieldGivenName, domain.OpNe, ""), "alice", "bob", "carol", "erin", "frank")
	// multi-valued: not (any value eq)
	d.expect(t, s, cmpf(domain.FieldEmailType, domain.OpNe, "HOME"), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldEmailType, domain.OpNe, "work"), "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldEmailValue, domain.OpNe, "alice.home@mail.test"), "bob", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldEmailValue, domain.OpNe, d.users["bob"].Email), "alice", "carol", "dave", "erin", "frank")
	d.expect(t, s, cmpf(domain.FieldPhoneValue, domain.OpNe, "+1 555 0200"), "alice", "carol", "dave", "erin", "frank")
	d.expect(t, s, &domain.Not{X: cmpf(domain.FieldEmailValue, domain.OpCo, "school")}, "carol", "dave", "erin", "frank")
}

func searchLogic(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	active := eq(domain.FieldActive, true)
	smith := eq(domain.FieldFamilyName, "smith")
	d.expect(t, s, &domain.And{Left: smith, Right: active}, "alice")
	d.expect(t, s, &domain.Or{Left: smith, Right: active}, "alice", "bob", "carol", "erin", "frank")
	d.expect(t, s, &domain.Not{X: active}, "carol", "dave")
	d.expect(t, s, &domain.Not{X: &domain.Not{X: smith}}, "alice", "carol")
	d.expect(t, s, &domain.And{Left: smith, Right: &domain.Not{X: smith}})
	d.expect(t, s, &domain.Or{Left: eq(domain.FieldDepartment, "math"), Right: eq(domain.FieldDepartment, "science")}, "alice", "bob")
	d.expect(t, s, &domain.Or{
		Left:  &domain.And{Left: smith, Right: eq(domain.FieldActive, false)},
		Right: &domain.Not{X: &domain.Or{Left: pr(domain.FieldEmailType), Right: pr(domain.FieldDisplayName)}},
	}, "carol", "dave")
	d.expect(t, s, &domain.And{
		Left:  &domain.Not{X: eq(domain.FieldDepartment, "math")},
		Right: &domain.Or{Left: eq(domain.FieldActive, false), Right: cmpf(domain.FieldExternalID, domain.OpSw, "x")},
	}, "carol", "dave", "erin", "frank")
	d.expect(t, s, &domain.And{
		Left: &domain.Or{Left: eq(domain.FieldEmailType, "work"), Right: eq(domain.FieldGivenName, "carol")},
		Right: &domain.And{
			Left:  &domain.Not{X: eq(domain.FieldUserName, d.users["bob"].Email)},
			Right: cmpf(domain.FieldCreated, domain.OpLt, epoch.Add(10*time.Hour)),
		},
	}, "alice", "carol")
	// the multi-valued conditions of an and need not hold for the same value
	d.expect(t, s, &domain.And{Left: eq(domain.FieldEmailType, "home"), Right: cmpf(domain.FieldEmailValue, domain.OpCo, "work@")}, "alice")
}

func searchMetacharacters(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	g, fam, dn, dep, ext := domain.FieldGivenName, domain.FieldFamilyName, domain.FieldDisplayName, domain.FieldDepartment, domain.FieldExternalID
	d.expect(t, s, cmpf(g, domain.OpCo, "%"), "erin")
	d.expect(t, s, cmpf(g, domain.OpCo, "_"), "erin")
	d.expect(t, s, cmpf(g, domain.OpSw, "50%"), "erin")
	d.expect(t, s, cmpf(g, domain.OpSw, "%"))
	d.expect(t, s, cmpf(g, domain.OpEw, "_OFF"), "erin")
	d.expect(t, s, cmpf(g, domain.OpEw, "_"))
	d.expect(t, s, eq(g, "50__off"))
	d.expect(t, s, eq(g, "50%off"))
	d.expect(t, s, cmpf(fam, domain.OpCo, `\`), "erin")
	d.expect(t, s, cmpf(fam, domain.OpCo, `k\s`), "erin")
	d.expect(t, s, cmpf(fam, domain.OpCo, `\s`), "erin")
	d.expect(t, s, cmpf(fam, domain.OpCo, `\\`))
	d.expect(t, s, cmpf(fam, domain.OpSw, `back\`), "erin")
	d.expect(t, s, cmpf(fam, domain.OpEw, `\slash`), "erin")
	d.expect(t, s, eq(fam, `BACK\SLASH`), "erin")
	d.expect(t, s, cmpf(fam, domain.OpCo, "'"), "frank")
	d.expect(t, s, eq(fam, "o'brien"), "frank")
	d.expect(t, s, eq(dn, "a.*b"), "erin")
	d.expect(t, s, eq(dn, "A.*B"), "erin")
	d.expect(t, s, cmpf(dn, domain.OpCo, ".*"), "erin")
	d.expect(t, s, cmpf(dn, domain.OpSw, "a."), "erin")
	d.expect(t, s, cmpf(dn, domain.OpEw, "*b"), "erin")
	d.expect(t, s, cmpf(dn, domain.OpCo, "."), "erin")
	d.expect(t, s, cmpf(dn, domain.OpSw, "^a"))
	d.expect(t, s, cmpf(dn, domain.OpEw, "b$"))
	d.expect(t, s, cmpf(dep, domain.OpCo, "%"), "erin")
	d.expect(t, s, cmpf(dep, domain.OpEw, "0%"), "erin")
	d.expect(t, s, cmpf(dep, domain.OpCo, "["), "frank")
	d.expect(t, s, cmpf(dep, domain.OpCo, "[lab]"), "frank")
	d.expect(t, s, cmpf(dep, domain.OpCo, "(x|y)+?^$"), "frank")
	d.expect(t, s, cmpf(dep, domain.OpCo, "(x|y)"), "frank")
	d.expect(t, s, cmpf(dep, domain.OpCo, "x|y"), "frank")
	d.expect(t, s, cmpf(dep, domain.OpCo, "a|m"))
	d.expect(t, s, cmpf(dep, domain.OpCo, "[a-z]"))
	d.expect(t, s, cmpf(dep, domain.OpSw, "r&d"), "frank")
	d.expect(t, s, cmpf(ext, domain.OpCo, "_"), "erin")
	d.expect(t, s, eq(ext, "x_y"), "erin")
	d.expect(t, s, eq(ext, "x%"))
	d.expect(t, s, cmpf(ext, domain.OpSw, "x_"), "erin")
	d.expect(t, s, cmpf(domain.FieldEmailValue, domain.OpCo, "%"))
	d.expect(t, s, cmpf(domain.FieldEmailValue, domain.OpCo, ".*"))
	d.expect(t, s, cmpf(domain.FieldUserName, domain.OpSw, "_"))
	d.expect(t, s, cmpf(domain.FieldPhoneValue, domain.OpSw, "+1"), "alice", "bob")
	d.expect(t, s, cmpf(domain.FieldPhoneValue, domain.OpCo, "1+"))
	d.expect(t, s, cmpf(domain.FieldPhoneValue, domain.OpCo, "5+"))
}

func searchEmptyUserName(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	u := sampleUser()
	u.Email = ""
	require.NoError(t, s.Users.CreateUser(t.Context(), u))
	putMember(t, s, d.org.ID, u.ID)
	d.users["noemail"] = u
	d.expect(t, s, eq(domain.FieldUserName, ""), "noemail")
	d.expect(t, s, &domain.And{Left: eq(domain.FieldUserName, ""), Right: eq(domain.FieldActive, true)}, "noemail")
	d.expect(t, s, eq(domain.FieldEmailValue, ""), "noemail")
	d.expect(t, s, cmpf(domain.FieldUserName, domain.OpNe, ""), searchDirMembers...)
}

func searchUnicode(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	u := sampleUser()
	u.GivenName = "Émile"
	u.Profiles = map[string]domain.OrgProfile{d.org.ID: {DisplayName: "ÉMILE ZOLA"}}
	require.NoError(t, s.Users.CreateUser(t.Context(), u))
	putMember(t, s, d.org.ID, u.ID)
	d.users["emile"] = u
	d.expect(t, s, eq(domain.FieldGivenName, "émile"), "emile")
	d.expect(t, s, eq(domain.FieldDisplayName, "émile zola"), "emile")
}

// searchLargeFilters: the SCIM layer lets through 64 terms nested 16 deep,
// which its rewriting of time comparisons may grow; every store answers
// more than that.
func searchLargeFilters(t *testing.T, s SCIMStores) {
	d := newSearchDir(t, s)
	var deep domain.UserFilter = eq(domain.FieldUserName, "z")
	for i := range 10 { // 20 levels of not over alternating or/and
		leaf := eq(domain.FieldUserName, "nobody"+strconv.Itoa(i))
		if i%2 == 0 {
			deep = &domain.Not{X: &domain.Or{Left: leaf, Right: deep}}
		} else {
			deep = &domain.Not{X: &domain.And{Left: leaf, Right: deep}}
		}
	}
	_, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID, Filter: deep, Limit: 10})
	require.NoError(t, err, "a filter nested 20 deep")
	var wide domain.UserFilter = eq(domain.FieldExternalID, "none")
	for i := range 150 {
		var leaf domain.UserFilter = eq(domain.FieldExternalID, "x"+strconv.Itoa(i))
		if i%3 == 0 {
			leaf = &domain.Not{X: cmpf(domain.FieldCreated, domain.OpLt, epoch)}
		}
		wide = &domain.Or{Left: wide, Right: leaf}
	}
	d.expect(t, s, &domain.And{Left: wide, Right: eq(domain.FieldUserName, d.users["alice"].Email)}, "alice")
}
