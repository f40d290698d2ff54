package testsuite

import (
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
