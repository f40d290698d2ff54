package testsuite

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// IdentityProviderStores are one backend's identity provider store and the
// organization store on the same data: on PostgreSQL a provider references
// its organization, so the suite creates every organization it configures.
type IdentityProviderStores struct {
	Orgs      ports.OrganizationStore
	Providers ports.IdentityProviderStore
}

// RunIdentityProviderStore checks an IdentityProviderStore against its port
// contract. newStores is called once per subtest; the stores may hold other
// organizations and providers.
func RunIdentityProviderStore(t *testing.T, newStores func(t *testing.T) IdentityProviderStores) {
	runSubtests(t, newStores, []subtest[IdentityProviderStores]{
		{"a created provider reads back with every field, its client secret too", providerReadsBack},
		{"creating a provider whose id is taken fails with ErrAlreadyExists and keeps the first", providerDuplicate},
		{"reading, updating or deleting a missing provider fails with ErrNotFound", providerMissing},
		{"an organization's providers list by creation time then id, apart from another's", providerList},
		{"an update gets the stored provider, and stores and returns what the callback made", providerUpdate},
		{"an update whose callback fails writes nothing and returns the callback's error", providerUpdateRefused},
		{"the callback cannot move the provider to another id", providerKeepsID},
		{"deleting a provider removes it alone, and deleting it again fails with ErrNotFound", providerDelete},
		{"a value handed in or read back shares no memory with the store", providerShareNothing},
		{"nil scopes (the default) and no scopes read back apart", providerNilScopes},
	})
}

// sampleProvider fills every field of a provider of orgID, with a secret
// outside ASCII and times in milliseconds, which every backend keeps.
func sampleProvider(orgID string) domain.IdentityProvider {
	return domain.IdentityProvider{
		ID:              uniqueID("idp_"),
		OrganizationID:  orgID,
		Name:            "Springfield’s Google Workspace",
		Issuer:          "https://accounts.google.com",
		ClientID:        uuid.NewString() + ".apps.googleusercontent.com",
		ClientSecret:    "GOCSPX-" + uuid.NewString() + "-ß€🔑",
		Scopes:          []string{"email", "profile", "https://www.googleapis.com/auth/admin.directory.group.readonly"},
		Domains:         []string{"a" + uniqueDomain(), "b" + uniqueDomain()},
		JITProvisioning: true,
		LinkExisting:    true,
		CreatedAt:       at(1_001),
		UpdatedAt:       at(2_002),
	}
}

func createProvider(t *testing.T, s ports.IdentityProviderStore, p domain.IdentityProvider) domain.IdentityProvider {
	t.Helper()
	require.NoError(t, s.CreateIdentityProvider(t.Context(), p))
	return p
}

func getProvider(t *testing.T, s ports.IdentityProviderStore, id string) domain.IdentityProvider {
	t.Helper()
	p, err := s.GetIdentityProvider(t.Context(), id)
	require.NoError(t, err)
	return p
}

func listProviders(t *testing.T, s ports.IdentityProviderStore, orgID string) []domain.IdentityProvider {
	t.Helper()
	list, err := s.ListIdentityProviders(t.Context(), orgID)
	require.NoError(t, err)
	return list
}

func providerReadsBack(t *testing.T, s IdentityProviderStores) {
	org := createOrganization(t, s.Orgs)
	p := createProvider(t, s.Providers, sampleProvider(org.ID))
	assertSame(t, p, getProvider(t, s.Providers, p.ID))

	// A public client (RFC 7636 alone, no secret) and one with nothing
	// optional set.
	bare := domain.IdentityProvider{ID: uniqueID("idp_"), OrganizationID: org.ID, Issuer: "https://login.example.org"}
	createProvider(t, s.Providers, bare)
	assertSame(t, bare, getProvider(t, s.Providers, bare.ID), "an empty secret stays empty")
}

func providerDuplicate(t *testing.T, s IdentityProviderStores) {
	org := createOrganization(t, s.Orgs)
	p := createProvider(t, s.Providers, sampleProvider(org.ID))
	other := sampleProvider(createOrganization(t, s.Orgs).ID)
	other.ID = p.ID
	require.ErrorIs(t, s.Providers.CreateIdentityProvider(t.Context(), other), domain.ErrAlreadyExists)
	assertSame(t, p, getProvider(t, s.Providers, p.ID), "the first provider is kept")
	assert.Empty(t, listProviders(t, s.Providers, other.OrganizationID), "the refused one is nowhere")
}

func providerMissing(t *testing.T, s IdentityProviderStores) {
	id := uniqueID("idp_")
	_, err := s.Providers.GetIdentityProvider(t.Context(), id)
	require.ErrorIs(t, err, domain.ErrNotFound, "a read")
	called := false
	_, err = s.Providers.UpdateIdentityProvider(t.Context(), id, func(*domain.IdentityProvider) error {
		called = true
		return nil
	})
	require.ErrorIs(t, err, domain.ErrNotFound, "an update")
	assert.False(t, called, "the callback never runs")
	require.ErrorIs(t, s.Providers.DeleteIdentityProvider(t.Context(), id), domain.ErrNotFound, "a deletion")
}

func providerList(t *testing.T, s IdentityProviderStores) {
	org, other := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	assert.Empty(t, listProviders(t, s.Providers, org.ID), "an organization with none")

	// Two created at the same instant are ordered by id, byte by byte: "B"
	// before "a", which a natural-language collation would put the other
	// way round.
	base := uniqueID("idp_")
	late, early, tied := sampleProvider(org.ID), sampleProvider(org.ID), sampleProvider(org.ID)
	late.ID, late.CreatedAt = base+"a", at(5_000)
	early.ID, early.CreatedAt = base+"c", at(4_000)
	tied.ID, tied.CreatedAt = base+"B", at(5_000)
	for _, p := range []domain.IdentityProvider{late, early, tied} {
		createProvider(t, s.Providers, p)
	}
	elsewhere := createProvider(t, s.Providers, sampleProvider(other.ID))

	assertSame(t, []domain.IdentityProvider{early, tied, late}, listProviders(t, s.Providers, org.ID))
	assertSame(t, []domain.IdentityProvider{elsewhere}, listProviders(t, s.Providers, other.ID))
	assert.Empty(t, listProviders(t, s.Providers, uuid.NewString()), "an unknown organization has none")
}

func providerUpdate(t *testing.T, s IdentityProviderStores) {
	p := createProvider(t, s.Providers, sampleProvider(createOrganization(t, s.Orgs).ID))
	want := p
	want.Name, want.ClientID, want.ClientSecret = "Entra ID", uuid.NewString(), "rotated~secret"
	want.Issuer = "https://login.microsoftonline.com/" + uuid.NewString() + "/v2.0"
	want.Scopes, want.Domains = []string{"offline_access"}, []string{uniqueDomain()}
	want.JITProvisioning, want.LinkExisting, want.UpdatedAt = false, false, at(9_009)

	got, err := s.Providers.UpdateIdentityProvider(t.Context(), p.ID, func(x *domain.IdentityProvider) error {
		assertSame(t, p, *x, "the callback gets the stored provider")
		*x = want
		return nil
	})
	require.NoError(t, err)
	assertSame(t, want, got, "the update returns what the callback left")
	assertSame(t, want, getProvider(t, s.Providers, p.ID), "a read sees the update")
	assertSame(t, []domain.IdentityProvider{want}, listProviders(t, s.Providers, p.OrganizationID), "so does a list")
}

func providerUpdateRefused(t *testing.T, s IdentityProviderStores) {
	p := createProvider(t, s.Providers, sampleProvider(createOrganization(t, s.Orgs).ID))
	_, err := s.Providers.UpdateIdentityProvider(t.Context(), p.ID, func(x *domain.IdentityProvider) error {
		x.Domains[0], x.Scopes[0] = "tampered.example", "tampered"
		x.Name, x.ClientSecret, x.JITProvisioning = "refused", "refused", false
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	assertSame(t, p, getProvider(t, s.Providers, p.ID), "the stored provider is unchanged")
}

func providerKeepsID(t *testing.T, s IdentityProviderStores) {
	p := createProvider(t, s.Providers, sampleProvider(createOrganization(t, s.Orgs).ID))
	moved := uniqueID("idp_")
	got, err := s.Providers.UpdateIdentityProvider(t.Context(), p.ID, func(x *domain.IdentityProvider) error {
		x.ID, x.Name = moved, "renamed"
		return nil
	})
	require.NoError(t, err)
	want := p
	want.Name = "renamed"
	assertSame(t, want, got, "the update returns the provider's own id")
	assertSame(t, want, getProvider(t, s.Providers, p.ID), "the change is the provider's, its secret still readable")
	_, err = s.Providers.GetIdentityProvider(t.Context(), moved)
	require.ErrorIs(t, err, domain.ErrNotFound, "no provider appears under the other id")
}

func providerDelete(t *testing.T, s IdentityProviderStores) {
	org := createOrganization(t, s.Orgs)
	gone := createProvider(t, s.Providers, sampleProvider(org.ID))
	kept := sampleProvider(org.ID)
	kept.CreatedAt = at(3_003)
	createProvider(t, s.Providers, kept)

	require.NoError(t, s.Providers.DeleteIdentityProvider(t.Context(), gone.ID))
	_, err := s.Providers.GetIdentityProvider(t.Context(), gone.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the deleted provider")
	assertSame(t, []domain.IdentityProvider{kept}, listProviders(t, s.Providers, org.ID), "the other is kept")
	require.ErrorIs(t, s.Providers.DeleteIdentityProvider(t.Context(), gone.ID), domain.ErrNotFound, "deleting it again")

	again := sampleProvider(org.ID)
	again.ID = gone.ID
	require.NoError(t, s.Providers.CreateIdentityProvider(t.Context(), again), "the id is free again")
}

// scribbleProvider changes every slice p may share with another value.
func scribbleProvider(p *domain.IdentityProvider) {
	p.Scopes[0] = "scribbled"
	p.Domains[0] = "scribbled.example"
}

func providerShareNothing(t *testing.T, s IdentityProviderStores) {
	org := createOrganization(t, s.Orgs)
	want := sampleProvider(org.ID)
	given := want
	given.Scopes, given.Domains = append([]string(nil), want.Scopes...), append([]string(nil), want.Domains...)
	require.NoError(t, s.Providers.CreateIdentityProvider(t.Context(), given))
	scribbleProvider(&given)
	read := getProvider(t, s.Providers, want.ID)
	assertSame(t, want, read, "changing what was handed to a create changes nothing stored")
	scribbleProvider(&read)
	list := listProviders(t, s.Providers, org.ID)
	require.Len(t, list, 1)
	scribbleProvider(&list[0])
	assertSame(t, want, getProvider(t, s.Providers, want.ID), "changing what was read or listed changes nothing stored")

	mine := sampleProvider(org.ID)
	mine.ID, mine.CreatedAt = want.ID, want.CreatedAt
	got, err := s.Providers.UpdateIdentityProvider(t.Context(), want.ID, func(x *domain.IdentityProvider) error {
		*x = mine // the caller's own slices, not a copy
		return nil
	})
	require.NoError(t, err)
	want = mine
	want.Scopes, want.Domains = append([]string(nil), mine.Scopes...), append([]string(nil), mine.Domains...)
	scribbleProvider(&mine)
	scribbleProvider(&got)
	assertSame(t, want, getProvider(t, s.Providers, want.ID), "changing what an update was given or returned changes nothing stored")
}

func providerNilScopes(t *testing.T, s IdentityProviderStores) {
	org := createOrganization(t, s.Orgs)
	byDefault, none := sampleProvider(org.ID), sampleProvider(org.ID)
	byDefault.Scopes, none.Scopes = nil, []string{}
	createProvider(t, s.Providers, byDefault)
	createProvider(t, s.Providers, none)
	got := getProvider(t, s.Providers, byDefault.ID)
	assert.Nil(t, got.Scopes, "nil asks for the default scopes")
	got = getProvider(t, s.Providers, none.ID)
	assert.NotNil(t, got.Scopes, "an empty list asks for none besides openid")
	assert.Empty(t, got.Scopes)

	got, err := s.Providers.UpdateIdentityProvider(t.Context(), none.ID, func(x *domain.IdentityProvider) error {
		assert.NotNil(t, x.Scopes, "the callback gets the empty list")
		x.Scopes = nil
		return nil
	})
	require.NoError(t, err)
	assert.Nil(t, got.Scopes)
	assert.Nil(t, getProvider(t, s.Providers, none.ID).Scopes, "an update to the default is kept")
}

// LinkedIdentityStores are one backend's linked identity store and the
// user store on the same data: on PostgreSQL a link references its user,
// so the suite creates every user it links.
type LinkedIdentityStores struct {
	Users ports.UserStore
	Links ports.LinkedIdentityStore
}

// RunLinkedIdentityStore checks a LinkedIdentityStore against its port
// contract. newStores is called once per subtest; the stores may hold other
// users and links.
func RunLinkedIdentityStore(t *testing.T, newStores func(t *testing.T) LinkedIdentityStores) {
	runSubtests(t, newStores, []subtest[LinkedIdentityStores]{
		{"a link reads back by issuer and subject", linkReadsBack},
		{"reading or unlinking a missing link fails with ErrNotFound", linkMissing},
		{"linking a linked identity fails with ErrAlreadyExists, to the same user or another, and keeps the first", linkTaken},
		{"a subject is an identity at its issuer only", linkPerIssuer},
		{"a user's links list by creation time, then issuer, then subject, apart from another's", linkList},
		{"unlinking removes one link, which may then be linked again", linkUnlink},
		{"deleting a user's identities removes theirs alone, and deleting none is no error", linkDeleteUser},
	})
}

// RunLinkedIdentityStoreConcurrency checks that of racing links of one
// identity exactly one wins.
func RunLinkedIdentityStoreConcurrency(t *testing.T, newStores func(t *testing.T) LinkedIdentityStores) {
	runSubtests(t, newStores, []subtest[LinkedIdentityStores]{
		{"of parallel links of one identity to many users exactly one wins", linkParallel},
	})
}

// sampleLink links a fresh subject at Google to userID.
func sampleLink(userID string) domain.LinkedIdentity {
	return domain.LinkedIdentity{
		Issuer:     "https://accounts.google.com",
		Subject:    uuid.NewString(),
		UserID:     userID,
		ProviderID: uniqueID("idp_"),
		Email:      "casey.jones@" + uniqueDomain(),
		CreatedAt:  at(1_001),
	}
}

func link(t *testing.T, s LinkedIdentityStores, l domain.LinkedIdentity) domain.LinkedIdentity {
	t.Helper()
	require.NoError(t, s.Links.LinkIdentity(t.Context(), l))
	return l
}

func getLink(t *testing.T, s LinkedIdentityStores, issuer, subject string) domain.LinkedIdentity {
	t.Helper()
	l, err := s.Links.GetLinkedIdentity(t.Context(), issuer, subject)
	require.NoError(t, err)
	return l
}

func listLinks(t *testing.T, s LinkedIdentityStores, userID string) []domain.LinkedIdentity {
	t.Helper()
	list, err := s.Links.ListLinkedIdentities(t.Context(), userID)
	require.NoError(t, err)
	return list
}

func linkReadsBack(t *testing.T, s LinkedIdentityStores) {
	l := link(t, s, sampleLink(createUser(t, s.Users).ID))
	assertSame(t, l, getLink(t, s, l.Issuer, l.Subject))

	// An identity linked by hand, through no provider and with no email.
	bare := domain.LinkedIdentity{Issuer: "https://login.example.org", Subject: uuid.NewString(), UserID: l.UserID}
	link(t, s, bare)
	assertSame(t, bare, getLink(t, s, bare.Issuer, bare.Subject))
}

func linkMissing(t *testing.T, s LinkedIdentityStores) {
	l := link(t, s, sampleLink(createUser(t, s.Users).ID))
	for _, c := range []struct{ name, issuer, subject string }{
		{"an unknown subject", l.Issuer, uuid.NewString()},
		{"the subject at another issuer", "https://login.example.org", l.Subject},
		{"the issuer and subject run together", l.Issuer + l.Subject, ""},
	} {
		_, err := s.Links.GetLinkedIdentity(t.Context(), c.issuer, c.subject)
		require.ErrorIs(t, err, domain.ErrNotFound, "reading %s", c.name)
		require.ErrorIs(t, s.Links.UnlinkIdentity(t.Context(), c.issuer, c.subject), domain.ErrNotFound, "unlinking %s", c.name)
	}
	assertSame(t, l, getLink(t, s, l.Issuer, l.Subject), "the link is untouched")
}

func linkTaken(t *testing.T, s LinkedIdentityStores) {
	first := link(t, s, sampleLink(createUser(t, s.Users).ID))
	again := first
	again.Email, again.CreatedAt = "other@"+uniqueDomain(), at(2_002)
	require.ErrorIs(t, s.Links.LinkIdentity(t.Context(), again), domain.ErrAlreadyExists, "to the same user")

	other := createUser(t, s.Users)
	again.UserID = other.ID
	require.ErrorIs(t, s.Links.LinkIdentity(t.Context(), again), domain.ErrAlreadyExists, "to another user")
	assertSame(t, first, getLink(t, s, first.Issuer, first.Subject), "the first link is kept")
	assert.Empty(t, listLinks(t, s, other.ID), "the other user got nothing")
}

func linkPerIssuer(t *testing.T, s LinkedIdentityStores) {
	a, b := createUser(t, s.Users), createUser(t, s.Users)
	google := link(t, s, sampleLink(a.ID))
	entra := google
	entra.Issuer, entra.UserID = "https://login.microsoftonline.com/"+uuid.NewString()+"/v2.0", b.ID
	link(t, s, entra)
	assertSame(t, google, getLink(t, s, google.Issuer, google.Subject))
	assertSame(t, entra, getLink(t, s, entra.Issuer, entra.Subject))
}

func linkList(t *testing.T, s LinkedIdentityStores) {
	user, other := createUser(t, s.Users), createUser(t, s.Users)
	assert.Empty(t, listLinks(t, s, user.ID), "a user with none")

	// At one instant, issuers then subjects are ordered byte by byte: "B"
	// before "a", which a natural-language collation would put the other
	// way round.
	sub := uuid.NewString()
	early := sampleLink(user.ID)
	early.CreatedAt = at(1_000)
	atB1, atB2, atA := sampleLink(user.ID), sampleLink(user.ID), sampleLink(user.ID)
	atB1.Issuer, atB1.Subject, atB1.CreatedAt = "https://B.example", sub+"B", at(2_000)
	atB2.Issuer, atB2.Subject, atB2.CreatedAt = "https://B.example", sub+"a", at(2_000)
	atA.Issuer, atA.Subject, atA.CreatedAt = "https://a.example", sub+"B", at(2_000)
	for _, l := range []domain.LinkedIdentity{atA, atB2, early, atB1} {
		link(t, s, l)
	}
	elsewhere := link(t, s, sampleLink(other.ID))

	assertSame(t, []domain.LinkedIdentity{early, atB1, atB2, atA}, listLinks(t, s, user.ID))
	assertSame(t, []domain.LinkedIdentity{elsewhere}, listLinks(t, s, other.ID))
	assert.Empty(t, listLinks(t, s, uuid.NewString()), "an unknown user has none")
}

func linkUnlink(t *testing.T, s LinkedIdentityStores) {
	user := createUser(t, s.Users)
	gone, kept := sampleLink(user.ID), sampleLink(user.ID)
	kept.CreatedAt = at(2_002)
	link(t, s, gone)
	link(t, s, kept)

	require.NoError(t, s.Links.UnlinkIdentity(t.Context(), gone.Issuer, gone.Subject))
	_, err := s.Links.GetLinkedIdentity(t.Context(), gone.Issuer, gone.Subject)
	require.ErrorIs(t, err, domain.ErrNotFound, "the unlinked identity")
	assertSame(t, []domain.LinkedIdentity{kept}, listLinks(t, s, user.ID), "the other link is kept")
	require.ErrorIs(t, s.Links.UnlinkIdentity(t.Context(), gone.Issuer, gone.Subject), domain.ErrNotFound, "unlinking it again")

	relinked := gone
	relinked.UserID = createUser(t, s.Users).ID
	link(t, s, relinked)
	assertSame(t, relinked, getLink(t, s, gone.Issuer, gone.Subject), "the identity is free for another user")
}

func linkDeleteUser(t *testing.T, s LinkedIdentityStores) {
	user, other := createUser(t, s.Users), createUser(t, s.Users)
	a, b := link(t, s, sampleLink(user.ID)), link(t, s, sampleLink(user.ID))
	kept := link(t, s, sampleLink(other.ID))

	require.NoError(t, s.Links.DeleteUserIdentities(t.Context(), user.ID))
	assert.Empty(t, listLinks(t, s, user.ID))
	for _, l := range []domain.LinkedIdentity{a, b} {
		_, err := s.Links.GetLinkedIdentity(t.Context(), l.Issuer, l.Subject)
		require.ErrorIs(t, err, domain.ErrNotFound)
	}
	assertSame(t, kept, getLink(t, s, kept.Issuer, kept.Subject), "another user's link is kept")
	require.NoError(t, s.Links.DeleteUserIdentities(t.Context(), user.ID), "deleting them again")
	require.NoError(t, s.Links.DeleteUserIdentities(t.Context(), createUser(t, s.Users).ID), "a user with none")
}

func linkParallel(t *testing.T, s LinkedIdentityStores) {
	users := make([]string, contenders)
	for i := range users {
		users[i] = createUser(t, s.Users).ID
	}
	l := sampleLink(users[0])
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		mine := l
		mine.UserID = users[i]
		errs[i] = s.Links.LinkIdentity(t.Context(), mine)
	})
	ok, taken := countErrors(errs, domain.ErrAlreadyExists)
	require.Equal(t, 1, ok, "one link wins: %v", errs)
	assert.Equal(t, contenders-1, taken, "the others are refused: %v", errs)
	winner := users[0]
	for i, err := range errs {
		if err == nil {
			winner = users[i]
		}
	}
	got := getLink(t, s, l.Issuer, l.Subject)
	assert.Equal(t, winner, got.UserID, "the winner's link is stored")
	linked := 0
	for _, u := range users {
		linked += len(listLinks(t, s, u))
	}
	assert.Equal(t, 1, linked, "and no other")
}
