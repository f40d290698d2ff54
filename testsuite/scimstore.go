package testsuite

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// SCIMStores are one backend's stores that the SCIM suite drives together:
// the SCIM store searches the users and memberships the others write.
type SCIMStores struct {
	Users     ports.UserStore
	Orgs      ports.OrganizationStore
	Directory ports.DirectoryStore
	SCIM      ports.SCIMStore
}

// RunSCIMStore checks a SCIMStore against its port contract, and that users'
// per-organization profiles are kept by the user and directory stores.
// newStores may return the same stores every time: each subtest makes its
// own organizations and users and looks only at them.
func RunSCIMStore(t *testing.T, newStores func(t *testing.T) SCIMStores) {
	runSubtests(t, newStores, append([]subtest[SCIMStores]{
		{"a created token reads back by its hash", scimTokenReadsBack},
		{"an unknown hash fails with ErrNotFound", scimTokenUnknown},
		{"a token for a missing organization fails with ErrNotFound", scimTokenMissingOrg},
		{"a token whose id or hash is taken fails with ErrAlreadyExists", scimTokenDuplicate},
		{"an organization's tokens are listed oldest first, ties by id", scimTokensListed},
		{"a deleted token is gone; another organization's or an unknown token fails with ErrNotFound", scimTokenDelete},

		{"profiles round-trip through CreateUser, GetUser, GetUserByEmail and UpdateUser", scimProfilesUserStore},
		{"an update whose callback edits the profiles in place and fails writes nothing", scimProfilesUpdateRefused},
		{"provisioning a new user stores its profiles", scimProfilesProvision},
		{"two organizations' profiles of one user stay apart", scimProfilesSeparate},
		{"users read back share no maps or slices with the store", scimProfilesNoAliasing},

		{"a search sees only the organization's members", searchScoped},
		{"a search never matches a pending membership", searchPendingHidden},
		{"a search returns the members with their membership and profiles", searchReturnsMembers},
		{"a search pages in user id order and counts every match", searchPaged},
		{"a search with limit 0 returns only the total", searchLimitZero},
		{"id compares exactly", searchID},
		{"userName compares case-insensitively with every operator", searchUserName},
		{"name.givenName and name.familyName compare case-insensitively", searchNames},
		{"active is true for active and invited users", searchActive},
		{"active is false for a member whose membership is suspended", searchActiveMembership},
		{"meta.created and meta.lastModified compare instants", searchTimes},
		{"externalId compares exactly, an absent one as empty", searchExternalID},
		{"displayName, department and employeeNumber compare case-insensitively", searchProfileStrings},
		{"manager.value compares exactly", searchManager},
		{"emails.value matches the account email and the profile's emails", searchEmailValue},
		{"emails.type, phoneNumbers.value and phoneNumbers.type match any value", searchMultiValued},
		{"pr holds for non-empty values only", searchPresent},
		{"ne is not eq, also on absent and multi-valued fields", searchNotEqual},
		{"and, or, not and their nesting", searchLogic},
		{"LIKE and regular expression metacharacters in values are literal", searchMetacharacters},
		{"userName eq \"\" matches members without an email", searchEmptyUserName},
		{"case-insensitive comparisons fold non-ASCII letters", searchUnicode},
		{"a filter of 150 terms or nested 20 deep is answered", searchLargeFilters},
	}, userNameSearchTests...))
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

// ---- tokens ----

func sampleSCIMToken(orgID string) domain.SCIMToken {
	return domain.SCIMToken{
		ID: uuid.NewString(), OrganizationID: orgID, Name: "Entra ID", Hash: uniqueHash(),
		SignInEmail: domain.SignInUserName, CreatedAt: epoch,
	}
}

func createSCIMToken(t *testing.T, s SCIMStores, orgID string, at time.Time) domain.SCIMToken {
	t.Helper()
	tok := sampleSCIMToken(orgID)
	tok.CreatedAt = at
	require.NoError(t, s.SCIM.CreateSCIMToken(t.Context(), tok))
	return tok
}

func scimTokenReadsBack(t *testing.T, s SCIMStores) {
	o := createOrganization(t, s.Orgs)
	tok := createSCIMToken(t, s, o.ID, epoch)
	got, err := s.SCIM.GetSCIMToken(t.Context(), tok.Hash)
	require.NoError(t, err)
	assertSame(t, tok, got)

	got.Hash[0] ^= 0xff
	again, err := s.SCIM.GetSCIMToken(t.Context(), tok.Hash)
	require.NoError(t, err)
	assertSame(t, tok, again, "changing a returned hash changes nothing stored")
}

func scimTokenUnknown(t *testing.T, s SCIMStores) {
	_, err := s.SCIM.GetSCIMToken(t.Context(), uniqueHash())
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func scimTokenMissingOrg(t *testing.T, s SCIMStores) {
	tok := sampleSCIMToken(uuid.NewString())
	require.ErrorIs(t, s.SCIM.CreateSCIMToken(t.Context(), tok), domain.ErrNotFound)
	_, err := s.SCIM.GetSCIMToken(t.Context(), tok.Hash)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing was stored")
}

func scimTokenDuplicate(t *testing.T, s SCIMStores) {
	o := createOrganization(t, s.Orgs)
	tok := createSCIMToken(t, s, o.ID, epoch)

	sameID := sampleSCIMToken(o.ID)
	sameID.ID = tok.ID
	require.ErrorIs(t, s.SCIM.CreateSCIMToken(t.Context(), sameID), domain.ErrAlreadyExists, "same id")
	_, err := s.SCIM.GetSCIMToken(t.Context(), sameID.Hash)
	require.ErrorIs(t, err, domain.ErrNotFound, "the rejected token was not stored")

	sameHash := sampleSCIMToken(o.ID)
	sameHash.Hash = tok.Hash
	require.ErrorIs(t, s.SCIM.CreateSCIMToken(t.Context(), sameHash), domain.ErrAlreadyExists, "same hash")
	got, err := s.SCIM.GetSCIMToken(t.Context(), tok.Hash)
	require.NoError(t, err)
	assertSame(t, tok, got, "the hash still finds the first token")
	list, err := s.SCIM.ListSCIMTokens(t.Context(), o.ID)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func scimTokensListed(t *testing.T, s SCIMStores) {
	o, other, empty := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	late := createSCIMToken(t, s, o.ID, epoch.Add(2*time.Hour))
	tie1 := createSCIMToken(t, s, o.ID, epoch)
	tie2 := createSCIMToken(t, s, o.ID, epoch)
	middle := createSCIMToken(t, s, o.ID, epoch.Add(time.Hour))
	createSCIMToken(t, s, other.ID, epoch.Add(-time.Hour))
	if tie2.ID < tie1.ID {
		tie1, tie2 = tie2, tie1
	}
	got, err := s.SCIM.ListSCIMTokens(t.Context(), o.ID)
	require.NoError(t, err)
	assertSame(t, []domain.SCIMToken{tie1, tie2, middle, late}, got)

	none, err := s.SCIM.ListSCIMTokens(t.Context(), empty.ID)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func scimTokenDelete(t *testing.T, s SCIMStores) {
	o, other := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	tok := createSCIMToken(t, s, o.ID, epoch)
	keep := createSCIMToken(t, s, o.ID, epoch.Add(time.Hour))

	require.ErrorIs(t, s.SCIM.DeleteSCIMToken(t.Context(), other.ID, tok.ID), domain.ErrNotFound, "another organization's token")
	require.ErrorIs(t, s.SCIM.DeleteSCIMToken(t.Context(), o.ID, uuid.NewString()), domain.ErrNotFound, "an unknown token")
	_, err := s.SCIM.GetSCIMToken(t.Context(), tok.Hash)
	require.NoError(t, err, "the failed deletes removed nothing")

	require.NoError(t, s.SCIM.DeleteSCIMToken(t.Context(), o.ID, tok.ID))
	_, err = s.SCIM.GetSCIMToken(t.Context(), tok.Hash)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.ErrorIs(t, s.SCIM.DeleteSCIMToken(t.Context(), o.ID, tok.ID), domain.ErrNotFound, "deleting again")
	list, err := s.SCIM.ListSCIMTokens(t.Context(), o.ID)
	require.NoError(t, err)
	assertSame(t, []domain.SCIMToken{keep}, list)
}

// ---- profiles ----

// sampleProfile is a profile with every attribute set; tag makes it differ
// from other organizations' profiles.
func sampleProfile(tag string) domain.OrgProfile {
	return domain.OrgProfile{
		ExternalID:     "ext-" + tag,
		DisplayName:    "Casey Jones (" + tag + ")",
		EmployeeNumber: "E-" + tag,
		Department:     "Dept " + tag,
		ManagerID:      uuid.NewString(),
		ManagerName:    "Manager " + tag,
		Emails: []domain.MultiValue{
			{Value: "casey." + tag + "@work.example.com", Type: "work", Primary: true},
			{Value: "casey." + tag + "@home.example.com", Type: "home"},
		},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 01" + tag, Type: "mobile", Primary: true}},

		FormattedName: "Ms. Casey Q. Jones III (" + tag + ")", MiddleName: "Quinn " + tag,
		HonorificPrefix: "Ms.", HonorificSuffix: "III",
		NickName: "CJ " + tag, ProfileURL: "https://example.com/casey/" + tag, Title: "Teacher " + tag,
		UserType: "Employee", PreferredLanguage: "en-GB", Locale: "en-GB", Timezone: "Europe/London",
		CostCenter: "CC " + tag, Organization: "Springfield " + tag, Division: "Primary " + tag,
		Ims:    []domain.MultiValue{{Value: "casey." + tag, Display: "Casey on Teams", Type: "Teams", Primary: true}},
		Photos: []domain.MultiValue{{Value: "https://example.com/casey/" + tag + ".png", Type: "photo"}},
		Entitlements: []domain.MultiValue{
			{Value: "library", Display: "Library " + tag},
			{Value: "lab", Type: "science", Primary: true},
		},
		Roles:            []domain.MultiValue{{Value: "teacher", Display: "Teacher", Type: "staff"}},
		X509Certificates: []domain.MultiValue{{Value: "TUlJRGREQ0NB" + tag}},
		Addresses: []domain.Address{
			{
				Formatted: "1 Main St\nSpringfield", StreetAddress: "1 Main St", Locality: "Springfield " + tag,
				Region: "IL", PostalCode: "62701", Country: "US", Type: "work", Primary: true,
			},
			{Locality: "Shelbyville", Type: "home"},
		},
	}
}

// normProfiles is profiles as assertSame should compare them: nil when
// empty, and each profile's empty slices nil (assertSame does not look
// inside maps).
func normProfiles(m map[string]domain.OrgProfile) map[string]domain.OrgProfile {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]domain.OrgProfile, len(m))
	for k, p := range m {
		out[k] = p.Clone() // which makes every empty list nil
	}
	return out
}

// assertSameUser is assertSame for users, comparing their profiles too.
func assertSameUser(t *testing.T, want, got domain.User, msgAndArgs ...any) bool {
	t.Helper()
	want.Profiles, got.Profiles = normProfiles(want.Profiles), normProfiles(got.Profiles)
	return assertSame(t, want, got, msgAndArgs...)
}

func scimProfilesUserStore(t *testing.T, s SCIMStores) {
	a, b := createOrganization(t, s.Orgs).ID, createOrganization(t, s.Orgs).ID
	u := sampleUser()
	u.Profiles = map[string]domain.OrgProfile{a: sampleProfile("a"), b: {ExternalID: "only-b"}}
	require.NoError(t, s.Users.CreateUser(t.Context(), u))

	got, err := s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSameUser(t, u, got, "by id")
	got, err = s.Users.GetUserByEmail(t.Context(), strings.ToUpper(u.Email))
	require.NoError(t, err)
	assertSameUser(t, u, got, "by email")

	newA := sampleProfile("a2")
	newA.PhoneNumbers = nil
	updated, err := s.Users.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Profiles[a] = newA
		delete(u.Profiles, b)
		return nil
	})
	require.NoError(t, err)
	want := u
	want.Profiles = map[string]domain.OrgProfile{a: newA}
	assertSameUser(t, want, updated, "the update returns the stored user")
	got, err = s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSameUser(t, want, got, "after the update")

	_, err = s.Users.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Profiles = nil
		return nil
	})
	require.NoError(t, err)
	got, err = s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Profiles, "all profiles removed")

	plain := createUser(t, s.Users)
	got, err = s.Users.GetUser(t.Context(), plain.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Profiles, "a user without profiles has none")
}

func scimProfilesUpdateRefused(t *testing.T, s SCIMStores) {
	a := createOrganization(t, s.Orgs).ID
	u := sampleUser()
	u.Profiles = map[string]domain.OrgProfile{a: sampleProfile("a")}
	require.NoError(t, s.Users.CreateUser(t.Context(), u))
	_, err := s.Users.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		p := u.Profiles[a]
		p.Emails[0].Value = "changed@example.com"
		u.Profiles[a] = domain.OrgProfile{ExternalID: "changed"}
		u.Profiles[uuid.NewString()] = domain.OrgProfile{ExternalID: "added"}
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	got, err := s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSameUser(t, u, got)
}

func scimProfilesProvision(t *testing.T, s SCIMStores) {
	o := createOrganization(t, s.Orgs)
	u := sampleUser()
	u.Email, u.PasswordHash, u.Status = uniqueLocalPart()+"@example.com", "", domain.UserInvited
	u.Profiles = map[string]domain.OrgProfile{o.ID: sampleProfile("p")}
	res, err := s.Directory.Provision(t.Context(), []domain.ProvisionRow{{User: u, OrganizationID: o.ID, Role: domain.RoleMember, Now: epoch}})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)
	require.True(t, res[0].Created)
	assertSameUser(t, u, res[0].User, "the result")

	got, err := s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSameUser(t, u, got, "stored")

	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: o.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Members, 1)
	assertSameUser(t, u, page.Members[0].User, "searched")
}

func scimProfilesSeparate(t *testing.T, s SCIMStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	u := sampleUser()
	pa, pb := sampleProfile("a"), sampleProfile("b")
	u.Profiles = map[string]domain.OrgProfile{a.ID: pa, b.ID: pb}
	require.NoError(t, s.Users.CreateUser(t.Context(), u))
	putMember(t, s, a.ID, u.ID)
	putMember(t, s, b.ID, u.ID)

	newB := pb
	newB.Department = "Moved"
	_, err := s.Users.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Profiles[b.ID] = newB
		return nil
	})
	require.NoError(t, err)
	got, err := s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSame(t, pa, normProfiles(got.Profiles)[a.ID], "a's profile is untouched")
	assertSame(t, newB, normProfiles(got.Profiles)[b.ID])

	ids := func(orgID string, f domain.UserFilter) []string {
		t.Helper()
		page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: orgID, Filter: f, Limit: 10})
		require.NoError(t, err)
		return memberIDs(page.Members)
	}
	assert.Equal(t, []string{u.ID}, ids(a.ID, eq(domain.FieldExternalID, pa.ExternalID)))
	assert.Empty(t, ids(a.ID, eq(domain.FieldExternalID, pb.ExternalID)), "b's externalId is not a's")
	assert.Equal(t, []string{u.ID}, ids(b.ID, eq(domain.FieldDepartment, "moved")))
	assert.Empty(t, ids(a.ID, eq(domain.FieldDepartment, "moved")))
	assert.Empty(t, ids(a.ID, eq(domain.FieldEmailValue, pb.Emails[0].Value)), "b's emails are not a's")
	assert.Equal(t, []string{u.ID}, ids(b.ID, eq(domain.FieldEmailValue, pb.Emails[0].Value)))
}

func scimProfilesNoAliasing(t *testing.T, s SCIMStores) {
	o := createOrganization(t, s.Orgs)
	u := sampleUser()
	u.Profiles = map[string]domain.OrgProfile{o.ID: sampleProfile("a")}
	want := u
	want.Profiles = domain.CloneProfiles(u.Profiles)
	require.NoError(t, s.Users.CreateUser(t.Context(), u))
	putMember(t, s, o.ID, u.ID)

	mutate := func(m map[string]domain.OrgProfile) {
		if p := m[o.ID]; len(p.Emails) > 0 && len(p.PhoneNumbers) > 0 {
			p.Emails[0].Value = "mutated@example.com"
			p.PhoneNumbers[0].Type = "mutated"
		}
		m[o.ID] = domain.OrgProfile{ExternalID: "mutated"}
		m[uuid.NewString()] = domain.OrgProfile{ExternalID: "added"}
	}
	check := func(msg string) {
		t.Helper()
		got, err := s.Users.GetUser(t.Context(), u.ID)
		require.NoError(t, err)
		assertSameUser(t, want, got, msg)
	}

	mutate(u.Profiles)
	check("the created user's map is not the store's")

	got, err := s.Users.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	mutate(got.Profiles)
	check("GetUser returns a copy")

	got, err = s.Users.GetUserByEmail(t.Context(), u.Email)
	require.NoError(t, err)
	mutate(got.Profiles)
	check("GetUserByEmail returns a copy")

	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: o.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Members, 1)
	mutate(page.Members[0].User.Profiles)
	check("SearchUsers returns a copy")

	members, err := s.Directory.ListMembers(t.Context(), o.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, members, 1)
	if members[0].User.Profiles != nil {
		mutate(members[0].User.Profiles)
	}
	check("ListMembers returns a copy")

	mine := domain.CloneProfiles(want.Profiles)
	updated, err := s.Users.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Profiles = mine
		return nil
	})
	require.NoError(t, err)
	mutate(mine)
	check("the map set in an update is not the store's")
	mutate(updated.Profiles)
	check("UpdateUser returns a copy")
}

// ---- search fixtures ----

// putMember makes the user a member named after their email, as
// provisioning names one.
func putMember(t *testing.T, s SCIMStores, orgID, userID string) {
	t.Helper()
	u, err := s.Users.GetUser(t.Context(), userID)
	require.NoError(t, err)
	require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
		OrganizationID: orgID, UserID: userID, Role: domain.RoleMember, UserName: u.Email, CreatedAt: epoch,
	}))
}

func memberIDs(ms []domain.Member) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.User.ID)
	}
	return out
}

func eq(f domain.UserField, v any) domain.UserFilter {
	return &domain.Compare{Field: f, Op: domain.OpEq, Value: v}
}

func cmpf(f domain.UserField, op domain.FilterOp, v any) domain.UserFilter {
	return &domain.Compare{Field: f, Op: op, Value: v}
}

func pr(f domain.UserField) domain.UserFilter { return &domain.Compare{Field: f, Op: domain.OpPr} }

// searchDir is one organization's directory made for the search checks.
// Its members, by name:
//
//	alice  active       Alice / Smith     full profile, manager bob
//	bob    invited      Bob / Jones       profile with work email and mobile
//	carol  suspended    Carol / SMITH     no profile at all
//	dave   deactivated  (no names)        a profile for another organization only
//	erin   active       50%_off / back\slash  metacharacters, a phone without a value
//	frank  active       Frank / O'Brien   metacharacters; profile without employee number
//
// outsider is a member of another organization only, who looks like alice
// and even has a profile for this organization.
type searchDir struct {
	org, other domain.Organization
	suffix     string
	users      map[string]domain.User
}

func (d *searchDir) id(name string) string { return d.users[name].ID }

// ids returns the named members' ids in id order.
func (d *searchDir) ids(names ...string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		u, ok := d.users[n]
		if !ok {
			panic("no member " + n)
		}
		out = append(out, u.ID)
	}
	slices.Sort(out)
	return out
}

// searchDirMembers is every member's name.
var searchDirMembers = []string{"alice", "bob", "carol", "dave", "erin", "frank"}

func newSearchDir(t *testing.T, s SCIMStores) *searchDir {
	t.Helper()
	d := &searchDir{
		org: createOrganization(t, s.Orgs), other: createOrganization(t, s.Orgs),
		suffix: strings.ReplaceAll(uuid.NewString(), "-", ""), users: map[string]domain.User{},
	}
	mk := func(name, domainPart string, hours int, status domain.UserStatus, given, family string) domain.User {
		u := sampleUser()
		u.Email = name + "." + d.suffix + "@" + domainPart
		u.GivenName, u.FamilyName, u.Status = given, family, status
		u.CreatedAt = epoch.Add(time.Duration(hours) * time.Hour)
		u.UpdatedAt = u.CreatedAt.Add(30 * time.Minute)
		return u
	}
	bob := mk("bob", "y.test", 1, domain.UserInvited, "Bob", "Jones")
	bob.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "ext-bob", DisplayName: "Bob Jones", EmployeeNumber: "e200", Department: "science",
		Emails:       []domain.MultiValue{{Value: "bob@school.test", Type: "work", Primary: true}},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 0200", Type: "Mobile"}},
	}}
	alice := mk("alice", "x.test", 0, domain.UserActive, "Alice", "Smith")
	alice.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "EXT-Alice", DisplayName: "Alice Smith", EmployeeNumber: "E100", Department: "Math",
		ManagerID: bob.ID, ManagerName: "Bob Jones",
		Emails: []domain.MultiValue{
			{Value: "alice.work@school.test", Type: "work", Primary: true},
			{Value: "Alice.Home@Mail.test", Type: "home"},
		},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 0100", Type: "work"}},
	}}
	carol := mk("carol", "x.test", 2, domain.UserSuspended, "Carol", "SMITH")
	dave := mk("dave", "z.test", 3, domain.UserDeactivated, "", "")
	dave.Profiles = map[string]domain.OrgProfile{d.other.ID: {
		ExternalID: "EXT-Alice", DisplayName: "Dave Other", EmployeeNumber: "E100", Department: "Math",
		ManagerID:    bob.ID,
		Emails:       []domain.MultiValue{{Value: "dave@school.test", Type: "work"}},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 0300", Type: "work"}},
	}}
	erin := mk("erin", "x.test", 4, domain.UserActive, "50%_off", `back\slash`)
	erin.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "x_y", DisplayName: "a.*b", Department: "100%",
		PhoneNumbers: []domain.MultiValue{{Value: "", Type: "fax"}},
	}}
	frank := mk("frank", "x.test", 5, domain.UserActive, "Frank", "O'Brien")
	frank.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "xzy", DisplayName: "aXYZb", Department: "R&D [lab] (x|y)+?^$",
	}}
	for name, u := range map[string]domain.User{"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin, "frank": frank} {
		require.NoError(t, s.Users.CreateUser(t.Context(), u), name)
		putMember(t, s, d.org.ID, u.ID)
		d.users[name] = u
	}
	putMember(t, s, d.other.ID, dave.ID)

	outsider := mk("outsider", "x.test", 0, domain.UserActive, "Alice", "Smith")
	outsider.Profiles = map[string]domain.OrgProfile{d.org.ID: alice.Profiles[d.org.ID].Clone(), d.other.ID: alice.Profiles[d.org.ID].Clone()}
	require.NoError(t, s.Users.CreateUser(t.Context(), outsider))
	putMember(t, s, d.other.ID, outsider.ID)
	d.users["outsider"] = outsider
	return d
}

// expect checks that filter matches exactly the named members.
func (d *searchDir) expect(t *testing.T, s SCIMStores, filter domain.UserFilter, names ...string) {
	t.Helper()
	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID, Filter: filter, Limit: 100})
	require.NoError(t, err, describeFilter(filter))
	want := d.ids(names...)
	got := memberIDs(page.Members)
	if !assert.Equal(t, d.names(want), d.names(got), describeFilter(filter)) {
		return
	}
	assert.Equal(t, len(want), page.Total, "total of %s", describeFilter(filter))
}

// names turns ids back into member names, to make failures readable.
func (d *searchDir) names(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		name := id
		for n, u := range d.users {
			if u.ID == id {
				name = n
			}
		}
		out = append(out, name)
	}
	return out
}

func describeFilter(f domain.UserFilter) string {
	switch f := f.(type) {
	case nil:
		return "<nil>"
	case *domain.Compare:
		if f.Op == domain.OpPr {
			return string(f.Field) + " pr"
		}
		if tm, ok := f.Value.(time.Time); ok {
			return string(f.Field) + " " + string(f.Op) + " " + tm.Format(time.RFC3339)
		}
		return string(f.Field) + " " + string(f.Op) + " " + strings.TrimSpace(strings.ReplaceAll(
			strings.ReplaceAll(fmtValue(f.Value), "\n", " "), "\t", " "))
	case *domain.And:
		return "(" + describeFilter(f.Left) + " and " + describeFilter(f.Right) + ")"
	case *domain.Or:
		return "(" + describeFilter(f.Left) + " or " + describeFilter(f.Right) + ")"
	case *domain.Not:
		return "not(" + describeFilter(f.X) + ")"
	}
	return "?"
}

func fmtValue(v any) string {
	switch v := v.(type) {
	case string:
		return `"` + v + `"`
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return "?"
}

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
