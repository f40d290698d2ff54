package testsuite

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// DirectoryStores are one backend's directory stores, which the directory
// suites drive together because their contracts refer to each other (a
// license needs a user, a grant needs an organization).
type DirectoryStores struct {
	Users     ports.UserStore
	Orgs      ports.OrganizationStore
	Licenses  ports.LicenseStore
	Grants    ports.ClientGrantStore
	Roles     ports.RoleStore
	Directory ports.DirectoryStore
}

// RunDirectoryStore checks a DirectoryStore against its port contract.
func RunDirectoryStore(t *testing.T, newStores func(t *testing.T) DirectoryStores) {
	runSubtests(t, newStores, append([]subtest[DirectoryStores]{
		{"provisioning a new email creates the user, a primary membership and the license", provisionCreates},
		{"provisioning an existing email, in any case, finds the user and keeps an existing role", provisionFinds},
		{"a second membership is not primary", provisionSecondMembership},
		{"an existing account the row cannot see gets a pending membership, without license or primary", provisionPending},
		{"an existing account seen in one of the row's organizations joins at once", provisionVisible},
		{"LinkExisting links an existing account whose email is verified at once, and no other", provisionLinkExisting},
		{"an account whose home is one of VisibleIn joins at once, its home membership written yet or not", provisionVisibleHome},
		{"a pending membership stays pending until a row may link it, then becomes active and primary", provisionPendingThenLinked},
		{"pending members are not listed", membersPendingHidden},
		{"a row for a missing organization fails alone and writes nothing", provisionMissingOrg},
		{"a row without a license client assigns no license", provisionNoLicense},
		{"deleting a user removes their memberships and licenses and frees the email", directoryDelete},
		{"deleting a missing user fails with ErrNotFound", directoryDeleteMissing},
		{"an organization's members are listed by user id in pages", membersPaged},
		{"members are searched by prefix of email, given or family name, case-insensitively, every term matching", membersSearched},
		{"a member search pages by user id, leaving out pending members and other organizations", membersSearchPaged},
	}, userNameDirectoryTests...))
}

// RunDirectoryStoreConcurrency checks that parallel provisioning of one
// email makes exactly one user.
func RunDirectoryStoreConcurrency(t *testing.T, newStores func(t *testing.T) DirectoryStores) {
	runSubtests(t, newStores, []subtest[DirectoryStores]{
		{"parallel provisioning of one email makes one user, one membership and one license", provisionParallel},
	})
}

func provisionRow(orgID, email string) domain.ProvisionRow {
	u := sampleUser()
	u.Email, u.PasswordHash, u.Status, u.HomeOrganizationID = email, "", domain.UserInvited, orgID
	return domain.ProvisionRow{User: u, OrganizationID: orgID, Role: domain.RoleMember, LicenseClientID: uniqueID(domain.ClientIDPrefix), Now: epoch}
}

func provisionOne(t *testing.T, s DirectoryStores, r domain.ProvisionRow) domain.ProvisionResult {
	t.Helper()
	res, err := s.Directory.Provision(t.Context(), []domain.ProvisionRow{r})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)
	return res[0]
}

func provisionCreates(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	res := provisionOne(t, s, r)
	assert.True(t, res.Created)
	assert.True(t, res.LicenseAssigned)
	assertSame(t, r.User, res.User)
	assert.True(t, res.Joined)
	want := domain.Membership{
		OrganizationID: o.ID, UserID: r.User.ID, Role: domain.RoleMember, Status: domain.MembershipActive, Primary: true,
		UserName: r.User.Email, CreatedAt: epoch,
	}
	assertSame(t, want, res.Membership)

	stored, err := s.Users.GetUser(t.Context(), r.User.ID)
	require.NoError(t, err)
	assertSame(t, r.User, stored)
	m, err := s.Orgs.GetMembership(t.Context(), o.ID, r.User.ID)
	require.NoError(t, err)
	assertSame(t, want, m)
	has, err := s.Licenses.HasLicense(t.Context(), r.LicenseClientID, r.User.ID)
	require.NoError(t, err)
	assert.True(t, has)
}

func provisionFinds(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	local := uniqueLocalPart()
	first := provisionRow(o.ID, local+"@example.com")
	first.Role = domain.RoleAdmin
	created := provisionOne(t, s, first)

	again := provisionRow(o.ID, caseVariant(local, 0b10101)+"@EXAMPLE.com")
	again.LicenseClientID = first.LicenseClientID
	res := provisionOne(t, s, again)
	assert.False(t, res.Created)
	assert.False(t, res.Joined, "the membership was there")
	assert.Equal(t, domain.MembershipActive, res.Membership.Status)
	assert.False(t, res.LicenseAssigned, "the user held the license already")
	assertSame(t, created.User, res.User, "the existing user, unchanged")
	assert.Equal(t, domain.RoleAdmin, res.Membership.Role, "provisioning never changes a role")
	_, err := s.Users.GetUser(t.Context(), again.User.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the second row's user was not made")
}

func provisionSecondMembership(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	provisionOne(t, s, provisionRow(a.ID, email))
	res := provisionOne(t, s, provisionRow(b.ID, email))
	assert.False(t, res.Membership.Primary)
	ms, err := s.Orgs.ListUserMemberships(t.Context(), res.User.ID)
	require.NoError(t, err)
	assert.Len(t, ms, 2)
}

func provisionPending(t *testing.T, s DirectoryStores) {
	home, other := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	created := provisionOne(t, s, provisionRow(home.ID, email))

	r := provisionRow(other.ID, email)
	r.VisibleIn = []string{other.ID, createOrganization(t, s.Orgs).ID}
	res := provisionOne(t, s, r)
	assert.False(t, res.Created)
	assert.True(t, res.Joined)
	assert.Equal(t, created.User.ID, res.User.ID)
	assert.Equal(t, domain.MembershipPending, res.Membership.Status)
	assert.False(t, res.Membership.Primary, "a pending membership is never primary")
	assert.False(t, res.LicenseAssigned, "a pending membership brings no license")
	has, err := s.Licenses.HasLicense(t.Context(), r.LicenseClientID, res.User.ID)
	require.NoError(t, err)
	assert.False(t, has)
	m, err := s.Orgs.GetMembership(t.Context(), other.ID, res.User.ID)
	require.NoError(t, err)
	assertSame(t, res.Membership, m)
	stored, err := s.Users.GetUser(t.Context(), res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, home.ID, stored.HomeOrganizationID, "the account's home stays")
}

func provisionVisible(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	provisionOne(t, s, provisionRow(a.ID, email))
	r := provisionRow(b.ID, email)
	r.VisibleIn = []string{b.ID, a.ID}
	res := provisionOne(t, s, r)
	assert.Equal(t, domain.MembershipActive, res.Membership.Status)
	assert.False(t, res.Membership.Primary, "the first membership stays primary")
	assert.True(t, res.LicenseAssigned)
}

func provisionVisibleHome(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	u := provisionRow(a.ID, uniqueLocalPart()+"@example.com").User
	require.NoError(t, s.Users.CreateUser(t.Context(), u)) // as a concurrent creator has, before its membership
	r := provisionRow(b.ID, u.Email)
	r.VisibleIn = []string{a.ID, b.ID}
	res := provisionOne(t, s, r)
	assert.Equal(t, u.ID, res.User.ID)
	assert.Equal(t, domain.MembershipActive, res.Membership.Status)
}

func provisionLinkExisting(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	provisionOne(t, s, provisionRow(a.ID, email))
	r := provisionRow(b.ID, email)
	r.LinkExisting = true
	res := provisionOne(t, s, r)
	assert.Equal(t, domain.MembershipActive, res.Membership.Status)
	assert.True(t, res.LicenseAssigned)

	unverified := provisionRow(a.ID, uniqueLocalPart()+"@example.com")
	unverified.User.EmailVerified = false
	provisionOne(t, s, unverified)
	r = provisionRow(b.ID, unverified.User.Email)
	r.LinkExisting = true
	res = provisionOne(t, s, r)
	assert.Equal(t, domain.MembershipPending, res.Membership.Status, "an unverified email proves nothing about its holder")
	assert.False(t, res.LicenseAssigned)
}

func provisionPendingThenLinked(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	first := provisionOne(t, s, provisionRow(a.ID, email))
	// The account leaves its first organization, so it has no primary.
	require.NoError(t, s.Orgs.DeleteMembership(t.Context(), a.ID, first.User.ID))

	pending := provisionRow(b.ID, email)
	pending.Role = "teacher"
	require.Equal(t, domain.MembershipPending, provisionOne(t, s, pending).Membership.Status)
	again := provisionOne(t, s, provisionRow(b.ID, email))
	assert.False(t, again.Joined)
	assert.Equal(t, domain.MembershipPending, again.Membership.Status, "still nothing lets it link")

	linked := provisionRow(b.ID, email)
	linked.LinkExisting = true
	res := provisionOne(t, s, linked)
	assert.False(t, res.Joined)
	assert.Equal(t, domain.MembershipActive, res.Membership.Status)
	assert.True(t, res.Membership.Primary, "the account had no primary membership")
	assert.Equal(t, "teacher", res.Membership.Role, "the pending membership's role stays")
	assert.True(t, res.LicenseAssigned)
	m, err := s.Orgs.GetMembership(t.Context(), b.ID, res.User.ID)
	require.NoError(t, err)
	assertSame(t, res.Membership, m)
}

func membersPendingHidden(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	provisionOne(t, s, provisionRow(a.ID, email))
	require.Equal(t, domain.MembershipPending, provisionOne(t, s, provisionRow(b.ID, email)).Membership.Status)
	members, err := s.Directory.ListMembers(t.Context(), b.ID, "", 10)
	require.NoError(t, err)
	assert.Empty(t, members)
	members, err = s.Directory.ListMembers(t.Context(), a.ID, "", 10)
	require.NoError(t, err)
	assert.Len(t, members, 1)
}

func provisionMissingOrg(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	good, bad, good2 := provisionRow(o.ID, uniqueLocalPart()+"@example.com"),
		provisionRow(uuid.NewString(), uniqueLocalPart()+"@example.com"),
		provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	res, err := s.Directory.Provision(t.Context(), []domain.ProvisionRow{good, bad, good2})
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.NoError(t, res[0].Err)
	require.ErrorIs(t, res[1].Err, domain.ErrNotFound)
	require.NoError(t, res[2].Err, "a failed row does not stop the next")
	_, err = s.Users.GetUserByEmail(t.Context(), bad.User.Email)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed row made no user")
	_, err = s.Users.GetUser(t.Context(), good2.User.ID)
	require.NoError(t, err)
}

func provisionNoLicense(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	r.LicenseClientID = ""
	res := provisionOne(t, s, r)
	assert.False(t, res.LicenseAssigned)
	ls, err := s.Licenses.ListUserLicenses(t.Context(), res.User.ID)
	require.NoError(t, err)
	assert.Empty(t, ls)
}

func directoryDelete(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	r := provisionRow(o.ID, uniqueLocalPart()+"@example.com")
	provisionOne(t, s, r)
	require.NoError(t, s.Directory.DeleteUser(t.Context(), r.User.ID))

	_, err := s.Users.GetUser(t.Context(), r.User.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
	ms, err := s.Orgs.ListUserMemberships(t.Context(), r.User.ID)
	require.NoError(t, err)
	assert.Empty(t, ms, "memberships are gone")
	has, err := s.Licenses.HasLicense(t.Context(), r.LicenseClientID, r.User.ID)
	require.NoError(t, err)
	assert.False(t, has, "licenses are gone")
	members, err := s.Directory.ListMembers(t.Context(), o.ID, "", 10)
	require.NoError(t, err)
	assert.Empty(t, members)

	again := provisionRow(o.ID, r.User.Email)
	res := provisionOne(t, s, again)
	assert.True(t, res.Created, "the email is free again")
}

func directoryDeleteMissing(t *testing.T, s DirectoryStores) {
	require.ErrorIs(t, s.Directory.DeleteUser(t.Context(), uuid.NewString()), domain.ErrNotFound)
}

func membersPaged(t *testing.T, s DirectoryStores) {
	o, other := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	want := map[string]bool{}
	for range 5 {
		want[provisionOne(t, s, provisionRow(o.ID, uniqueLocalPart()+"@example.com")).User.ID] = true
	}
	provisionOne(t, s, provisionRow(other.ID, uniqueLocalPart()+"@example.com"))

	var got []string
	after := ""
	for {
		page, err := s.Directory.ListMembers(t.Context(), o.ID, after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			require.Greater(t, m.User.ID, after, "ordered by user id, strictly after the cursor")
			require.Equal(t, o.ID, m.Membership.OrganizationID)
			require.Equal(t, m.User.ID, m.Membership.UserID)
			got = append(got, m.User.ID)
			after = m.User.ID
		}
	}
	require.Len(t, got, len(want), "exactly the organization's members")
	for _, id := range got {
		assert.True(t, want[id])
	}
}

func provisionParallel(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	email := uniqueLocalPart() + "@example.com"
	clientID := uniqueID(domain.ClientIDPrefix)
	var (
		mu      sync.Mutex
		users   = map[string]bool{}
		created int
		granted int
		errs    []error
	)
	race(contenders, func(int) {
		r := provisionRow(o.ID, email)
		r.LicenseClientID = clientID
		res, err := s.Directory.Provision(t.Context(), []domain.ProvisionRow{r})
		mu.Lock()
		defer mu.Unlock()
		if err == nil && len(res) == 1 {
			err = res[0].Err
		}
		if err != nil {
			errs = append(errs, err)
			return
		}
		users[res[0].User.ID] = true
		if res[0].Created {
			created++
		}
		if res[0].LicenseAssigned {
			granted++
		}
	})
	require.Empty(t, errs, "identical provisioning requests all succeed")
	assert.Len(t, users, 1, "every request got the same user")
	assert.Equal(t, 1, created, "one request created the user")
	assert.Equal(t, 1, granted, "one request assigned the license")
	members, err := s.Directory.ListMembers(t.Context(), o.ID, "", 10)
	require.NoError(t, err)
	assert.Len(t, members, 1)
}

// RunLicenseStore checks a LicenseStore against its port contract.
func RunLicenseStore(t *testing.T, newStores func(t *testing.T) DirectoryStores) {
	runSubtests(t, newStores, []subtest[DirectoryStores]{
		{"a license is assigned once and then reported as held", licenseAssignOnce},
		{"a license for a missing user fails with ErrNotFound", licenseMissingUser},
		{"a revoked license is no longer held, and revoking it again fails with ErrNotFound", licenseRevoke},
		{"a user's licenses are listed oldest first", licensesOldestFirst},
	})
}

func licenseAssignOnce(t *testing.T, s DirectoryStores) {
	u := createUser(t, s.Users)
	l := domain.License{ClientID: uniqueID(domain.ClientIDPrefix), UserID: u.ID, AssignedAt: epoch}
	assigned, err := s.Licenses.AssignLicense(t.Context(), l)
	require.NoError(t, err)
	assert.True(t, assigned)
	later := l
	later.AssignedAt = epoch.Add(time.Hour)
	assigned, err = s.Licenses.AssignLicense(t.Context(), later)
	require.NoError(t, err)
	assert.False(t, assigned, "already held")
	ls, err := s.Licenses.ListUserLicenses(t.Context(), u.ID)
	require.NoError(t, err)
	assertSame(t, []domain.License{l}, ls, "the first assignment stands")
	has, err := s.Licenses.HasLicense(t.Context(), l.ClientID, u.ID)
	require.NoError(t, err)
	assert.True(t, has)
	has, err = s.Licenses.HasLicense(t.Context(), uniqueID(domain.ClientIDPrefix), u.ID)
	require.NoError(t, err)
	assert.False(t, has, "another application's license")
}

func licenseMissingUser(t *testing.T, s DirectoryStores) {
	_, err := s.Licenses.AssignLicense(t.Context(), domain.License{ClientID: uniqueID(domain.ClientIDPrefix), UserID: uuid.NewString(), AssignedAt: epoch})
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func licenseRevoke(t *testing.T, s DirectoryStores) {
	u := createUser(t, s.Users)
	l := domain.License{ClientID: uniqueID(domain.ClientIDPrefix), UserID: u.ID, AssignedAt: epoch}
	_, err := s.Licenses.AssignLicense(t.Context(), l)
	require.NoError(t, err)
	require.NoError(t, s.Licenses.RevokeLicense(t.Context(), l.ClientID, u.ID))
	require.ErrorIs(t, s.Licenses.RevokeLicense(t.Context(), l.ClientID, u.ID), domain.ErrNotFound)
	has, err := s.Licenses.HasLicense(t.Context(), l.ClientID, u.ID)
	require.NoError(t, err)
	assert.False(t, has)
}

func licensesOldestFirst(t *testing.T, s DirectoryStores) {
	u := createUser(t, s.Users)
	var want []domain.License
	for _, age := range []time.Duration{time.Hour, 3 * time.Hour, 2 * time.Hour} {
		l := domain.License{ClientID: uniqueID(domain.ClientIDPrefix), UserID: u.ID, AssignedAt: epoch.Add(-age)}
		_, err := s.Licenses.AssignLicense(t.Context(), l)
		require.NoError(t, err)
		want = append(want, l)
	}
	got, err := s.Licenses.ListUserLicenses(t.Context(), u.ID)
	require.NoError(t, err)
	assertSame(t, []domain.License{want[1], want[2], want[0]}, got)
}

// RunClientGrantStore checks a ClientGrantStore against its port contract.
func RunClientGrantStore(t *testing.T, newStores func(t *testing.T) DirectoryStores) {
	runSubtests(t, newStores, []subtest[DirectoryStores]{
		{"a grant reads back, and putting it again replaces its actions but keeps its creation time", grantPutReplace},
		{"a grant on a missing organization fails with ErrNotFound", grantMissingOrg},
		{"a deleted grant is gone, and deleting it again fails with ErrNotFound", grantDelete},
		{"a client with no grants lists none", grantsNone},
		{"an organization's grants list by client id, and only its own", grantsOfOrganization},
	})
}

func grantPutReplace(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	clientID := uniqueID(domain.ClientIDPrefix)
	ga := domain.ClientGrant{ClientID: clientID, OrganizationID: a.ID, Actions: []string{domain.ActionProvision}, CreatedAt: epoch, UpdatedAt: epoch}
	gb := domain.ClientGrant{ClientID: clientID, OrganizationID: b.ID, Actions: []string{domain.ActionRead}, CreatedAt: epoch, UpdatedAt: epoch}
	require.NoError(t, s.Grants.PutClientGrant(t.Context(), ga))
	require.NoError(t, s.Grants.PutClientGrant(t.Context(), gb))
	ga2 := ga
	ga2.Actions = []string{domain.ActionRead, domain.ActionUpdate}
	ga2.CreatedAt, ga2.UpdatedAt = epoch.Add(time.Hour), epoch.Add(time.Hour)
	require.NoError(t, s.Grants.PutClientGrant(t.Context(), ga2))

	got, err := s.Grants.ListClientGrants(t.Context(), clientID)
	require.NoError(t, err)
	ga2.CreatedAt = epoch
	want := []domain.ClientGrant{ga2, gb}
	if b.ID < a.ID {
		want = []domain.ClientGrant{gb, ga2}
	}
	assertSame(t, want, got)
}

func grantMissingOrg(t *testing.T, s DirectoryStores) {
	g := domain.ClientGrant{ClientID: uniqueID(domain.ClientIDPrefix), OrganizationID: uuid.NewString(), Actions: []string{domain.ActionRead}, CreatedAt: epoch, UpdatedAt: epoch}
	require.ErrorIs(t, s.Grants.PutClientGrant(t.Context(), g), domain.ErrNotFound)
}

func grantDelete(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	g := domain.ClientGrant{ClientID: uniqueID(domain.ClientIDPrefix), OrganizationID: o.ID, Actions: []string{domain.ActionRead}, CreatedAt: epoch, UpdatedAt: epoch}
	require.NoError(t, s.Grants.PutClientGrant(t.Context(), g))
	require.NoError(t, s.Grants.DeleteClientGrant(t.Context(), g.ClientID, o.ID))
	require.ErrorIs(t, s.Grants.DeleteClientGrant(t.Context(), g.ClientID, o.ID), domain.ErrNotFound)
	got, err := s.Grants.ListClientGrants(t.Context(), g.ClientID)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func grantsNone(t *testing.T, s DirectoryStores) {
	got, err := s.Grants.ListClientGrants(t.Context(), uniqueID(domain.ClientIDPrefix))
	require.NoError(t, err)
	assert.Empty(t, got)
}

func grantsOfOrganization(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	prefix := uniqueID(domain.ClientIDPrefix)
	second := domain.ClientGrant{ClientID: prefix + "-b", OrganizationID: a.ID, Actions: []string{domain.ActionRead, domain.ActionUpdate}, CreatedAt: epoch, UpdatedAt: epoch}
	first := domain.ClientGrant{ClientID: prefix + "-a", OrganizationID: a.ID, Actions: []string{domain.ActionProvision}, CreatedAt: epoch, UpdatedAt: epoch}
	elsewhere := domain.ClientGrant{ClientID: prefix + "-a", OrganizationID: b.ID, Actions: []string{domain.ActionRead}, CreatedAt: epoch, UpdatedAt: epoch}
	for _, g := range []domain.ClientGrant{second, first, elsewhere} {
		require.NoError(t, s.Grants.PutClientGrant(t.Context(), g))
	}
	got, err := s.Grants.ListOrganizationGrants(t.Context(), a.ID)
	require.NoError(t, err)
	assertSame(t, []domain.ClientGrant{first, second}, got)

	got[0].Actions[0] = "tampered"
	again, err := s.Grants.ListOrganizationGrants(t.Context(), a.ID)
	require.NoError(t, err)
	assertSame(t, []domain.ClientGrant{first, second}, again, "a listing handed out is not the stored grant")

	require.NoError(t, s.Grants.DeleteClientGrant(t.Context(), second.ClientID, a.ID))
	got, err = s.Grants.ListOrganizationGrants(t.Context(), a.ID)
	require.NoError(t, err)
	assertSame(t, []domain.ClientGrant{first}, got, "a deleted grant is no longer listed")

	none, err := s.Grants.ListOrganizationGrants(t.Context(), createOrganization(t, s.Orgs).ID)
	require.NoError(t, err)
	assert.Empty(t, none, "an organization with no grants lists none")
}

// RunRoleStore checks a RoleStore against its port contract.
func RunRoleStore(t *testing.T, newStores func(t *testing.T) DirectoryStores) {
	runSubtests(t, newStores, []subtest[DirectoryStores]{
		{"roles read back, are listed by name, and a replacement keeps the creation time", rolePutReplace},
		{"a role in a missing organization fails with ErrNotFound", roleMissingOrg},
		{"a missing role fails with ErrNotFound, and so does deleting it", roleMissing},
		{"roles are per organization", rolesPerOrganization},
	})
}

func rolePutReplace(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	teacher := domain.Role{OrganizationID: o.ID, Name: "teacher", Permissions: []string{"grades:write"}, CreatedAt: epoch, UpdatedAt: epoch}
	admin := domain.Role{OrganizationID: o.ID, Name: domain.RoleAdmin, Permissions: []string{"users:read"}, CreatedAt: epoch, UpdatedAt: epoch}
	require.NoError(t, s.Roles.PutRole(t.Context(), teacher))
	require.NoError(t, s.Roles.PutRole(t.Context(), admin))
	teacher2 := teacher
	teacher2.Permissions = []string{"grades:read", "grades:write"}
	teacher2.CreatedAt, teacher2.UpdatedAt = epoch.Add(time.Hour), epoch.Add(time.Hour)
	require.NoError(t, s.Roles.PutRole(t.Context(), teacher2))
	teacher2.CreatedAt = epoch

	got, err := s.Roles.GetRole(t.Context(), o.ID, "teacher")
	require.NoError(t, err)
	assertSame(t, teacher2, got)
	all, err := s.Roles.ListRoles(t.Context(), o.ID)
	require.NoError(t, err)
	assertSame(t, []domain.Role{admin, teacher2}, all)
}

func roleMissingOrg(t *testing.T, s DirectoryStores) {
	r := domain.Role{OrganizationID: uuid.NewString(), Name: "teacher", CreatedAt: epoch, UpdatedAt: epoch}
	require.ErrorIs(t, s.Roles.PutRole(t.Context(), r), domain.ErrNotFound)
}

func roleMissing(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	_, err := s.Roles.GetRole(t.Context(), o.ID, "teacher")
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.ErrorIs(t, s.Roles.DeleteRole(t.Context(), o.ID, "teacher"), domain.ErrNotFound)
	r := domain.Role{OrganizationID: o.ID, Name: "teacher", CreatedAt: epoch, UpdatedAt: epoch}
	require.NoError(t, s.Roles.PutRole(t.Context(), r))
	require.NoError(t, s.Roles.DeleteRole(t.Context(), o.ID, "teacher"))
	_, err = s.Roles.GetRole(t.Context(), o.ID, "teacher")
	require.ErrorIs(t, err, domain.ErrNotFound, "deleted")
}

func rolesPerOrganization(t *testing.T, s DirectoryStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	require.NoError(t, s.Roles.PutRole(t.Context(), domain.Role{OrganizationID: a.ID, Name: "teacher", CreatedAt: epoch, UpdatedAt: epoch}))
	_, err := s.Roles.GetRole(t.Context(), b.ID, "teacher")
	require.ErrorIs(t, err, domain.ErrNotFound)
	got, err := s.Roles.ListRoles(t.Context(), b.ID)
	require.NoError(t, err)
	assert.Empty(t, got)
}
