package testsuite

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// The member search of ports.DirectoryStore (SearchMembers), run by
// RunDirectoryStore.

// provisionNamed provisions a member of orgID with the names and the email
// local part given, and returns the user.
func provisionNamed(t *testing.T, s DirectoryStores, orgID, local, given, family string) domain.User {
	t.Helper()
	r := provisionRow(orgID, local+"@example.com")
	r.User.GivenName, r.User.FamilyName = given, family
	return provisionOne(t, s, r).User
}

// memberSearchIDs returns the ids of the members of orgID a search finds, on
// one page of up to 100.
func memberSearchIDs(t *testing.T, s DirectoryStores, orgID string, terms ...string) []string {
	t.Helper()
	page, err := s.Directory.SearchMembers(t.Context(), orgID, terms, "", 100)
	require.NoError(t, err)
	ids := []string{}
	for _, m := range page {
		require.Equal(t, orgID, m.Membership.OrganizationID)
		require.Equal(t, m.User.ID, m.Membership.UserID)
		ids = append(ids, m.User.ID)
	}
	return ids
}

func membersSearched(t *testing.T, s DirectoryStores) {
	o := createOrganization(t, s.Orgs)
	tag := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	ada := provisionNamed(t, s, o.ID, "ada."+tag, "Ada", "Lovelace")
	adam := provisionNamed(t, s, o.ID, "asmith."+tag, "Adam", "Smith")
	grace := provisionNamed(t, s, o.ID, tag+".hopper", "Grace", "Hopper")
	elise := provisionNamed(t, s, o.ID, "e."+tag, "Élise", "Ångström")
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

	for _, c := range []struct {
		name  string
		terms []string
		want  []string
	}{
		{"a given name's prefix finds each member whose name starts so", []string{"ada"}, sorted(ada.ID, adam.ID)},
		{"the case of the term does not matter", []string{"ADA"}, sorted(ada.ID, adam.ID)},
		{"a family name's prefix finds its member", []string{"lOvE"}, []string{ada.ID}},
		{"an email's prefix finds its member", []string{strings.ToUpper(tag) + ".HOP"}, []string{grace.ID}},
		{"every term must match, each in any field", []string{"ada", "smi"}, []string{adam.ID}},
		{"letters beyond ASCII match in any case", []string{"éLI", "ÅNG"}, []string{elise.ID}},
		{"a whole email matches", []string{"asmith." + tag + "@example.com"}, []string{adam.ID}},
		{"the middle of a name is no prefix", []string{"ovelace"}, []string{}},
		{"the middle of an email is no prefix", []string{tag}, []string{grace.ID}},
		{"nothing matches an unknown prefix", []string{"zz" + tag}, []string{}},
	} {
		assert.Equal(t, c.want, memberSearchIDs(t, s, o.ID, c.terms...), c.name)
	}

	_, err := s.Users.UpdateUser(t.Context(), grace.ID, func(u *domain.User) error {
		u.GivenName, u.FamilyName = "Grace", "Brewster"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{grace.ID}, memberSearchIDs(t, s, o.ID, "brew"), "a renamed member is found by the new name")
	assert.Empty(t, memberSearchIDs(t, s, o.ID, "hopper"), "and no longer by the old one")
}

func membersSearchPaged(t *testing.T, s DirectoryStores) {
	o, other := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	tag := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	want := []string{}
	for i := range 5 {
		want = append(want, provisionNamed(t, s, o.ID, fmt.Sprintf("m%d.%s", i, tag), "Quentin", "Member").ID)
	}
	provisionNamed(t, s, o.ID, "x."+tag, "Someone", "Else")
	provisionNamed(t, s, other.ID, "y."+tag, "Quentin", "Elsewhere")
	// A member of another organization, invited into o and pending there.
	pending := provisionNamed(t, s, other.ID, "z."+tag, "Quentin", "Pending")
	require.Equal(t, domain.MembershipPending, provisionOne(t, s, provisionRow(o.ID, pending.Email)).Membership.Status)
	slices.Sort(want)

	var got []string
	after := ""
	for {
		page, err := s.Directory.SearchMembers(t.Context(), o.ID, []string{"quen"}, after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			require.Greater(t, m.User.ID, after, "ordered by user id, strictly after the cursor")
			got = append(got, m.User.ID)
			after = m.User.ID
		}
	}
	assert.Equal(t, want, got, "exactly the organization's matching members, each once")
	page, err := s.Directory.SearchMembers(t.Context(), o.ID, []string{"quen"}, "", 0)
	require.NoError(t, err)
	assert.Empty(t, page, "a limit of 0 returns nothing")
}
