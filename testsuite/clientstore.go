package testsuite

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// RunClientStore checks a ClientStore against its port contract. newStore is
// called once per subtest; the store may already hold other tests' clients.
func RunClientStore(t *testing.T, newStore func(t *testing.T) ports.ClientStore) {
	runSubtests(t, newStore, []subtest[ports.ClientStore]{
		{"a created client reads back unchanged", clientReadsBack},
		{"creating a client whose id is taken fails with ErrAlreadyExists and keeps the first", clientDuplicateID},
		{"reading a missing client fails with ErrNotFound", clientMissing},
		{"an update stores and returns what the callback made", clientUpdate},
		{"an update whose callback fails writes nothing and returns the callback's error", clientUpdateRefused},
		{"updating a missing client fails with ErrNotFound", clientUpdateMissing},
		{"a deleted client is gone and cannot be deleted again", clientDelete},
		{"changing slices passed in or handed out does not change the stored client", clientNoAliasing},
		{"concurrent updates of one client lose none", clientConcurrentUpdates},
		{"clients list by id, a page at a time after a cursor", clientList},
	})
}

func sampleClient() domain.Client {
	return domain.Client{
		ID:                       uniqueID(domain.ClientIDPrefix),
		SecretHash:               uniqueHash(),
		RegistrationTokenHash:    uniqueHash(),
		Name:                     "Gradebook",
		RedirectURIs:             []string{"https://gradebook.example.com/callback"},
		PostLogoutRedirectURIs:   []string{"https://gradebook.example.com/"},
		GrantTypes:               []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken},
		ResponseTypes:            []string{domain.ResponseTypeCode},
		Scopes:                   []string{domain.ScopeOpenID, domain.ScopeEmail},
		TokenEndpointAuthMethod:  domain.AuthMethodSecretBasic,
		ClientURI:                "https://gradebook.example.com",
		PolicyURI:                "https://gradebook.example.com/privacy",
		TosURI:                   "https://gradebook.example.com/terms",
		Contacts:                 []string{"ops@gradebook.example.com"},
		IDTokenSignedResponseAlg: domain.AlgRS256,
		ApprovedScopes:           []string{domain.ScopeOrganization},
		LicenseRequired:          true,
		PKCERequired:             true,
		// Every field is stored, whatever the auth method: the store does
		// not judge metadata.
		JWKS:                             `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		JWKSURI:                          "https://gradebook.example.com/jwks.json",
		TokenEndpointAuthSigningAlg:      "EdDSA",
		RequirePAR:                       true,
		DPoPBound:                        true,
		BackchannelLogoutURI:             "https://gradebook.example.com/backchannel",
		BackchannelLogoutSessionRequired: true,
		CreatedAt:                        epoch,
		UpdatedAt:                        epoch,
	}
}

func createClient(t *testing.T, s ports.ClientStore) domain.Client {
	t.Helper()
	c := sampleClient()
	require.NoError(t, s.CreateClient(t.Context(), c))
	return c
}

func clientReadsBack(t *testing.T, s ports.ClientStore) {
	c := createClient(t, s)
	got, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	assertSame(t, c, got)
}

func clientDuplicateID(t *testing.T, s ports.ClientStore) {
	c := createClient(t, s)
	other := sampleClient()
	other.ID, other.Name = c.ID, "Impostor"
	require.ErrorIs(t, s.CreateClient(t.Context(), other), domain.ErrAlreadyExists)
	got, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	assert.Equal(t, "Gradebook", got.Name)
}

func clientMissing(t *testing.T, s ports.ClientStore) {
	_, err := s.GetClient(t.Context(), uniqueID(domain.ClientIDPrefix))
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func clientUpdate(t *testing.T, s ports.ClientStore) {
	c := createClient(t, s)
	updated, err := s.UpdateClient(t.Context(), c.ID, func(c *domain.Client) error {
		c.Name, c.Disabled, c.UpdatedAt = "Gradebook 2", true, epoch.Add(time.Hour)
		c.RedirectURIs = append(c.RedirectURIs, "https://gradebook.example.com/v2")
		return nil
	})
	require.NoError(t, err)
	want := c
	want.Name, want.Disabled, want.UpdatedAt = "Gradebook 2", true, epoch.Add(time.Hour)
	want.RedirectURIs = []string{"https://gradebook.example.com/callback", "https://gradebook.example.com/v2"}
	assertSame(t, want, updated, "the update returns the stored client")
	got, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	assertSame(t, want, got, "a read sees the update")
}

func clientUpdateRefused(t *testing.T, s ports.ClientStore) {
	c := createClient(t, s)
	_, err := s.UpdateClient(t.Context(), c.ID, func(c *domain.Client) error {
		c.Name = "Half-written"
		c.Scopes[0] = "tampered"
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	got, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	assertSame(t, c, got)
}

func clientUpdateMissing(t *testing.T, s ports.ClientStore) {
	_, err := s.UpdateClient(t.Context(), uniqueID(domain.ClientIDPrefix), func(*domain.Client) error { return nil })
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func clientDelete(t *testing.T, s ports.ClientStore) {
	c := createClient(t, s)
	require.NoError(t, s.DeleteClient(t.Context(), c.ID))
	_, err := s.GetClient(t.Context(), c.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "reading a deleted client")
	require.ErrorIs(t, s.DeleteClient(t.Context(), c.ID), domain.ErrNotFound, "deleting it again")
}

func clientNoAliasing(t *testing.T, s ports.ClientStore) {
	c := sampleClient()
	want := c
	want.SecretHash = slices.Clone(c.SecretHash)
	want.RedirectURIs = slices.Clone(c.RedirectURIs)
	want.Scopes = slices.Clone(c.Scopes)
	require.NoError(t, s.CreateClient(t.Context(), c))
	c.RedirectURIs[0] = "https://evil.example.com/callback"
	c.SecretHash[0]++

	got, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	got.Scopes[0] = "tampered"
	got.SecretHash[0]++

	again, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	assertSame(t, want, again)
}

func clientConcurrentUpdates(t *testing.T, s ports.ClientStore) {
	c := createClient(t, s)
	errs := make([]error, contenders)
	want := slices.Clone(c.Contacts)
	for i := range contenders {
		want = append(want, fmt.Sprintf("ops%d@gradebook.example.com", i))
	}
	race(contenders, func(i int) {
		_, errs[i] = s.UpdateClient(t.Context(), c.ID, func(c *domain.Client) error {
			c.Contacts = append(c.Contacts, fmt.Sprintf("ops%d@gradebook.example.com", i))
			return nil
		})
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds")
	got, err := s.GetClient(t.Context(), c.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, want, got.Contacts)
}

func clientList(t *testing.T, s ports.ClientStore) {
	// The store may hold other tests' clients: these three share a unique
	// prefix, so no other id sorts between them.
	prefix := uniqueID(domain.ClientIDPrefix)
	var made []domain.Client
	for _, suffix := range []string{"-c", "-a", "-b"} {
		c := sampleClient()
		c.ID = prefix + suffix
		require.NoError(t, s.CreateClient(t.Context(), c))
		made = append(made, c)
	}
	first, err := s.ListClients(t.Context(), prefix, 2)
	require.NoError(t, err)
	assertSame(t, []domain.Client{made[1], made[2]}, first, "the first page, in id order, whole")
	next, err := s.ListClients(t.Context(), first[1].ID, 2)
	require.NoError(t, err)
	require.NotEmpty(t, next)
	assertSame(t, made[0], next[0], "the next page starts after the cursor")

	none, err := s.ListClients(t.Context(), prefix, 0)
	require.NoError(t, err)
	assert.Empty(t, none, "a limit of 0 lists nothing")

	var all []string
	for after := ""; ; {
		page, err := s.ListClients(t.Context(), after, 50)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 50)
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			all = append(all, c.ID)
		}
		after = page[len(page)-1].ID
	}
	assert.True(t, slices.IsSorted(all), "every page continues the order")
	assert.Len(t, slices.Compact(slices.Clone(all)), len(all), "no client twice")
	for _, c := range made {
		assert.Contains(t, all, c.ID)
	}
}
