package testsuite

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// The organizations' user names (domain.Membership.UserName): kept as set,
// unique within an organization by domain.UserNameKey.

// userNameOrgTests extend RunOrganizationStore.
var userNameOrgTests = []subtest[ports.OrganizationStore]{
	{"a membership's user name reads back as set, case included", userNameReadsBack},
	{"a user name another member has, in any case, fails with ErrAlreadyExists and writes nothing", userNameTaken},
	{"one user name may name members of different organizations, and empty names never collide", userNameScoped},
	{"renaming or removing a member frees its old name", userNameFreed},
	{"GetMembershipByUserName finds any case, pending members too, and nothing for \"\"", userNameLookup},
	{"parallel members taking one name: exactly one gets it", userNameRace},
}

func nameMember(orgID, name string) domain.Membership {
	return domain.Membership{
		OrganizationID: orgID, UserID: uuid.NewString(), Role: domain.RoleMember,
		Status: domain.MembershipActive, UserName: name, CreatedAt: epoch,
	}
}

func uniqueUserName() string {
	return "Casey.Jones." + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

func userNameReadsBack(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	m := nameMember(o.ID, uniqueUserName()+"@Contoso.onmicrosoft.com")
	require.NoError(t, s.PutMembership(t.Context(), m))
	got, err := s.GetMembership(t.Context(), o.ID, m.UserID)
	require.NoError(t, err)
	assertSame(t, m, got)
	ms, err := s.ListUserMemberships(t.Context(), m.UserID)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, m.UserName, ms[0].UserName)

	// Unicode and case are kept, and a replacement that keeps the name is
	// no conflict with itself.
	m.UserName, m.Role = "Zoë.ÅSTRÖM."+uuid.NewString()[:8], domain.RoleAdmin
	require.NoError(t, s.PutMembership(t.Context(), m))
	require.NoError(t, s.PutMembership(t.Context(), m))
	got, err = s.GetMembership(t.Context(), o.ID, m.UserID)
	require.NoError(t, err)
	assertSame(t, m, got)
}

func userNameTaken(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	name := uniqueUserName()
	first := nameMember(o.ID, name)
	require.NoError(t, s.PutMembership(t.Context(), first))

	second := nameMember(o.ID, strings.ToUpper(name))
	require.ErrorIs(t, s.PutMembership(t.Context(), second), domain.ErrAlreadyExists, "a new member")
	_, err := s.GetMembership(t.Context(), o.ID, second.UserID)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing written")

	second.UserName = uniqueUserName()
	require.NoError(t, s.PutMembership(t.Context(), second))
	renamed := second
	renamed.UserName, renamed.Role = strings.ToLower(name), domain.RoleAdmin
	require.ErrorIs(t, s.PutMembership(t.Context(), renamed), domain.ErrAlreadyExists, "a rename")
	got, err := s.GetMembership(t.Context(), o.ID, second.UserID)
	require.NoError(t, err)
	assertSame(t, second, got, "the rename wrote nothing, its role neither")
}

func userNameScoped(t *testing.T, s ports.OrganizationStore) {
	a, b := createOrganization(t, s), createOrganization(t, s)
	name := uniqueUserName()
	require.NoError(t, s.PutMembership(t.Context(), nameMember(a.ID, name)))
	require.NoError(t, s.PutMembership(t.Context(), nameMember(b.ID, name)), "another organization")
	require.NoError(t, s.PutMembership(t.Context(), nameMember(a.ID, "")))
	require.NoError(t, s.PutMembership(t.Context(), nameMember(a.ID, "")), "a second member without a name")
}

func userNameFreed(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	old := uniqueUserName()
	m := nameMember(o.ID, old)
	require.NoError(t, s.PutMembership(t.Context(), m))
	m.UserName = uniqueUserName()
	require.NoError(t, s.PutMembership(t.Context(), m))
	require.NoError(t, s.PutMembership(t.Context(), nameMember(o.ID, old)), "the old name is free after a rename")

	gone := nameMember(o.ID, uniqueUserName())
	require.NoError(t, s.PutMembership(t.Context(), gone))
	require.NoError(t, s.DeleteMembership(t.Context(), o.ID, gone.UserID))
	require.NoError(t, s.PutMembership(t.Context(), nameMember(o.ID, gone.UserName)), "free after the member left")
}

func userNameLookup(t *testing.T, s ports.OrganizationStore) {
	o, other := createOrganization(t, s), createOrganization(t, s)
	m := nameMember(o.ID, uniqueUserName())
	m.Status = domain.MembershipPending
	require.NoError(t, s.PutMembership(t.Context(), m))
	for _, n := range []string{m.UserName, strings.ToUpper(m.UserName), strings.ToLower(m.UserName)} {
		got, err := s.GetMembershipByUserName(t.Context(), o.ID, n)
		require.NoError(t, err, n)
		assertSame(t, m, got, n)
	}
	_, err := s.GetMembershipByUserName(t.Context(), other.ID, m.UserName)
	require.ErrorIs(t, err, domain.ErrNotFound, "another organization")
	_, err = s.GetMembershipByUserName(t.Context(), o.ID, uniqueUserName())
	require.ErrorIs(t, err, domain.ErrNotFound, "an unknown name")
	require.NoError(t, s.PutMembership(t.Context(), nameMember(o.ID, "")))
	_, err = s.GetMembershipByUserName(t.Context(), o.ID, "")
	require.ErrorIs(t, err, domain.ErrNotFound, "the empty name names no one")
}

func userNameRace(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	name := uniqueUserName()
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		n := name
		if i%2 == 1 {
			n = strings.ToUpper(name)
		}
		errs[i] = s.PutMembership(t.Context(), nameMember(o.ID, n))
	})
	ok, taken := countErrors(errs, domain.ErrAlreadyExists)
	assert.Equal(t, 1, ok, "one member got the name")
	assert.Equal(t, contenders-1, taken, "every other got ErrAlreadyExists")
}

// userNameDirectoryTests extend RunDirectoryStore.
var userNameDirectoryTests = []subtest[DirectoryStores]{
	{"provisioning names a new membership as the row says, else after the email", provisionNames},
	{"a row whose user name another member has fails alone and writes nothing", provisionNameTaken},
	{"a default name another member has falls back to the user id", provisionNameFallback},
	{"provisioning keeps an existing membership's name", provisionKeepsName},
	{"deleting a user frees their names", provisionDeleteFreesName},
	{"parallel rows naming different users alike: one succeeds", provisionNameRace},
}

func provisionNames(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	plain := provisionOne(t, s, provisionRow(o.ID, uniqueLocalPart()+"@Example.com"))
	assert.Equal(t, plain.User.Email, plain.Membership.UserName, "after the email, as stored")

	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	r.UserName = uniqueUserName() + "@Contoso.onmicrosoft.com"
	named := provisionOne(t, s, r)
	assert.Equal(t, r.UserName, named.Membership.UserName)
	got, err := s.Orgs.GetMembershipByUserName(t.Context(), o.ID, strings.ToLower(r.UserName))
	require.NoError(t, err)
	assert.Equal(t, named.User.ID, got.UserID)
	assert.Equal(t, r.UserName, got.UserName, "kept as sent")
}

func provisionNameTaken(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	r.UserName = uniqueUserName()
	provisionOne(t, s, r)

	clash := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	clash.UserName = strings.ToUpper(r.UserName)
	fine := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	res, err := s.Directory.Provision(t.Context(), []domain.ProvisionRow{clash, fine})
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.ErrorIs(t, res[0].Err, domain.ErrAlreadyExists)
	require.NoError(t, res[1].Err, "the other row is unaffected")
	_, err = s.Users.GetUserByEmail(t.Context(), clash.User.Email)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed row created no user")

	// An existing account joining under a taken name fails too.
	existing := createUser(t, s.Users)
	join := provisionRow(o.ID, existing.Email)
	join.UserName, join.VisibleIn = r.UserName, []string{o.ID}
	res, err = s.Directory.Provision(t.Context(), []domain.ProvisionRow{join})
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, domain.ErrAlreadyExists)
	_, err = s.Orgs.GetMembership(t.Context(), o.ID, existing.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "no membership written")
}

func provisionNameFallback(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	r.UserName = strings.ToUpper(email) // someone else is named after the email
	provisionOne(t, s, r)
	res := provisionOne(t, s, provisionRow(o.ID, email))
	assert.Equal(t, res.User.ID, res.Membership.UserName)
	got, err := s.Orgs.GetMembership(t.Context(), o.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, res.User.ID, got.UserName)
}

func provisionKeepsName(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	r.UserName = uniqueUserName()
	first := provisionOne(t, s, r)
	again := provisionRow(o.ID, r.User.Email)
	again.UserName = uniqueUserName()
	res := provisionOne(t, s, again)
	assert.Equal(t, first.User.ID, res.User.ID)
	assert.Equal(t, r.UserName, res.Membership.UserName, "an existing membership keeps its name")
}

func provisionDeleteFreesName(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	r.UserName = uniqueUserName()
	res := provisionOne(t, s, r)
	require.NoError(t, s.Directory.DeleteUser(t.Context(), res.User.ID))
	_, err := s.Orgs.GetMembershipByUserName(t.Context(), o.ID, r.UserName)
	require.ErrorIs(t, err, domain.ErrNotFound)
	next := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	next.UserName = r.UserName
	provisionOne(t, s, next)
}

func provisionNameRace(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	name := uniqueUserName()
	var (
		mu   sync.Mutex
		errs []error
	)
	race(contenders, func(i int) {
		r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
		r.UserName = name
		if i%2 == 1 {
			r.UserName = strings.ToLower(name)
		}
		res, err := s.Directory.Provision(t.Context(), []domain.ProvisionRow{r})
		if err == nil {
			err = res[0].Err
		}
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	})
	ok, taken := countErrors(errs, domain.ErrAlreadyExists)
	assert.Equal(t, 1, ok, "one row got the name")
	assert.Equal(t, contenders-1, taken)
	members, err := s.Directory.ListMembers(t.Context(), o.ID, "", 100)
	require.NoError(t, err)
	assert.Len(t, members, 1, "the failed rows left no member")
}

// userNameSearchTests extend RunSCIMStore.
var userNameSearchTests = []subtest[SCIMStores]{
	{"userName is the membership's name, not the account email", searchUserNameIsMembership},
}

func searchUserNameIsMembership(t *testing.T, s SCIMStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	u := createUser(t, s.Users)
	upn := uniqueUserName() + "@Contoso.onmicrosoft.com"
	for _, m := range []domain.Membership{
		{OrganizationID: a.ID, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive, UserName: upn, CreatedAt: epoch},
		{OrganizationID: b.ID, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive, UserName: "jdoe", CreatedAt: epoch},
	} {
		require.NoError(t, s.Orgs.PutMembership(t.Context(), m))
	}
	search := func(org string, f domain.UserFilter) []string {
		t.Helper()
		page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: org, Filter: f, Limit: 10})
		require.NoError(t, err)
		return memberIDs(page.Members)
	}
	one := []string{u.ID}
	assert.Equal(t, one, search(a.ID, eq(domain.FieldUserName, strings.ToLower(upn))))
	assert.Equal(t, one, search(a.ID, eq(domain.FieldUserName, strings.ToUpper(upn))))
	assert.Equal(t, one, search(a.ID, cmpf(domain.FieldUserName, domain.OpSw, strings.ToLower(upn[:10]))))
	assert.Empty(t, search(a.ID, eq(domain.FieldUserName, u.Email)), "the account email is not the name")
	assert.Equal(t, one, search(a.ID, eq(domain.FieldEmailValue, u.Email)), "it is still an email")
	assert.Equal(t, one, search(b.ID, eq(domain.FieldUserName, "JDOE")))
	assert.Empty(t, search(b.ID, eq(domain.FieldUserName, upn)), "each organization names the member its own way")
	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: a.ID, Filter: eq(domain.FieldID, u.ID), Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Members, 1)
	assert.Equal(t, upn, page.Members[0].Membership.UserName, "the member carries its name")
}
