package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestFindsOrganization(t *testing.T) {
	o := domain.Organization{Name: "École Saint-Jean (K-12)", Slug: "ecole-st-jean"}
	for _, tc := range []struct {
		name, query string
		finds       bool
	}{
		{"the name's first word, cut short", "éco", true},
		{"whatever the case", "ÉCOLE SAINT", true},
		{"a later word", "jean k", true},
		{"punctuation as a space", "saint.jean/k-12", true},
		{"the slug's words", "st-je", true},
		{"spaces around and between words", "  saint   jean ", true},
		{"not the middle of a word", "cole", false},
		{"not words out of order", "jean saint", false},
		{"not a query with no word", "--", false},
		{"not an empty query", "", false},
		{"not more than the name", "jean k 12 school", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.finds, domain.FindsOrganization(o, tc.query), "%q", tc.query)
		})
	}
}

func TestOrganizationSearchTermsAreSortedDistinctAndBounded(t *testing.T) {
	terms := domain.OrganizationSearchTerms(domain.Organization{Name: "Lincoln High", Slug: "lincoln-high"})
	assert.Equal(t, []string{"high", "lincoln high"}, terms, "the slug's terms are the name's here")
	long := domain.OrganizationSearchTerms(domain.Organization{Name: strings.Repeat("é", 1000), Slug: "x"})
	for _, term := range long {
		assert.LessOrEqual(t, len(term), 4*domain.MaxOrganizationQuery)
		assert.True(t, strings.HasSuffix(term, "é") || term == "x", "cut at a character's start")
	}
}
