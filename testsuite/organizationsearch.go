package testsuite

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// orgSearchTests extend RunOrganizationStore with SearchOrganizations. The
// store may hold other organizations, so each test names its own with a
// word of its own (searchTag) and asserts on those.
var orgSearchTests = []subtest[ports.OrganizationStore]{
	{"an organization is found by a prefix of its name's words or of its slug, whatever the case", orgSearchFinds},
	{"a search without a word, or one that matches nothing, finds nothing", orgSearchFindsNothing},
	{"search results are paged by id", orgSearchPaged},
	{"a renamed organization is found by its new name and slug only", orgSearchRenamed},
}

// searchTag is a word no other organization has: letters and digits.
func searchTag() string { return "tag" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] }

// createNamed creates an organization with name and slug.
func createNamed(t *testing.T, s ports.OrganizationStore, name, slug string) domain.Organization {
	t.Helper()
	o := sampleOrganization()
	o.Name, o.Slug = name, slug
	require.NoError(t, s.CreateOrganization(t.Context(), o))
	return o
}

// searchIDs returns the ids of every organization query finds, paging by
// limit, and checks the pages' order on the way.
func searchIDs(t *testing.T, s ports.OrganizationStore, query string, limit int) []string {
	t.Helper()
	var ids []string
	after := ""
	for {
		page, err := s.SearchOrganizations(t.Context(), query, after, limit)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), limit)
		for _, o := range page {
			require.Greater(t, o.ID, after, "ordered by id, strictly after the cursor")
			require.True(t, domain.FindsOrganization(o, query), "%q does not find %q (%s)", query, o.Name, o.Slug)
			after = o.ID
			ids = append(ids, o.ID)
		}
		if len(page) < limit {
			return ids
		}
	}
}

func orgSearchFinds(t *testing.T, s ports.OrganizationStore) {
	tag := searchTag()
	high := createNamed(t, s, "Lincoln High School "+tag, "lincoln-high-"+tag)
	elementary := createNamed(t, s, tag+" Lincoln Elementary", "elem-"+tag)
	ecole := createNamed(t, s, "École Saint-Jean "+tag, "ecole-"+tag)

	for _, tc := range []struct {
		name, query string
		finds, not  []domain.Organization
	}{
		{"the tag, in capitals, finds every one", strings.ToUpper(tag), []domain.Organization{high, elementary, ecole}, nil},
		{"the name's start, its last word cut short", "lincoln high sch", []domain.Organization{high}, []domain.Organization{elementary, ecole}},
		{"a later word of the name", "high school " + tag, []domain.Organization{high}, []domain.Organization{elementary}},
		{"the words in the name's order only", tag + " lincoln", []domain.Organization{elementary}, []domain.Organization{high}},
		{"accents, whatever the case", "ÉCOLE saint-j", []domain.Organization{ecole}, []domain.Organization{high}},
		{"the slug's start", "elem-" + tag[:6], []domain.Organization{elementary}, []domain.Organization{high, ecole}},
		{"the whole slug", "lincoln-high-" + tag, []domain.Organization{high}, []domain.Organization{elementary}},
		{"punctuation as a space", "lincoln.high/" + tag, []domain.Organization{high}, nil},
	} {
		ids := searchIDs(t, s, tc.query, 50)
		for _, o := range tc.finds {
			assert.Contains(t, ids, o.ID, "%s (%q) finds %q", tc.name, tc.query, o.Name)
		}
		for _, o := range tc.not {
			assert.NotContains(t, ids, o.ID, "%s (%q) finds %q, which it should not", tc.name, tc.query, o.Name)
		}
	}
	// Not the middle of a word.
	assert.NotContains(t, searchIDs(t, s, "incoln high school "+tag, 50), high.ID)
	assert.NotContains(t, searchIDs(t, s, tag[3:], 50), high.ID)
}

func orgSearchFindsNothing(t *testing.T, s ports.OrganizationStore) {
	tag := searchTag()
	createNamed(t, s, "Springfield "+tag, "springfield-"+tag)
	for _, query := range []string{"", "   ", "!!! ---", tag + "x", "springfield " + tag + " elementary"} {
		got, err := s.SearchOrganizations(t.Context(), query, "", 50)
		require.NoError(t, err)
		assert.Empty(t, got, "query %q", query)
	}
	got, err := s.SearchOrganizations(t.Context(), tag, "", 0)
	require.NoError(t, err)
	assert.Empty(t, got, "a limit of 0 finds nothing")
}

func orgSearchPaged(t *testing.T, s ports.OrganizationStore) {
	tag := searchTag()
	var want []string
	for i := range 5 {
		want = append(want, createNamed(t, s, "School "+tag+" "+string(rune('a'+i)), "school-"+tag+"-"+string(rune('a'+i))).ID)
	}
	slices.Sort(want)
	assert.Equal(t, want, searchIDs(t, s, tag, 2), "pages of 2 find each once, in id order")
	assert.Equal(t, want, searchIDs(t, s, "school "+tag, 50))
	page, err := s.SearchOrganizations(t.Context(), tag, want[2], 50)
	require.NoError(t, err)
	var after []string
	for _, o := range page {
		after = append(after, o.ID)
	}
	assert.Equal(t, want[3:], after, "a page starts after the cursor's id")
}

func orgSearchRenamed(t *testing.T, s ports.OrganizationStore) {
	tag, renamed := searchTag(), searchTag()
	o := createNamed(t, s, "Old Name "+tag, "old-"+tag)
	got, err := s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
		o.Name, o.Slug = "New Name "+renamed, "new-"+renamed
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "New Name "+renamed, got.Name)
	assert.Empty(t, searchIDs(t, s, tag, 50), "the old name and slug find nothing")
	assert.Empty(t, searchIDs(t, s, "old-"+tag, 50))
	assert.Equal(t, []string{o.ID}, searchIDs(t, s, renamed, 50))
	assert.Contains(t, searchIDs(t, s, "new-"+renamed[:8], 50), o.ID)
	found, err := s.SearchOrganizations(t.Context(), "new name "+renamed, "", 50)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assertSame(t, got, found[0], "a found organization reads as stored")
}
