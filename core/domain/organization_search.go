package domain

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rule by which organizations are searched, by name or slug, which
// every OrganizationStore follows and indexes: a query finds an
// organization when its words, in order, start at a word of the name or of
// the slug, the last one possibly cut short ("high sch" finds "Lincoln High
// School"; "lincoln-h" finds the slug lincoln-high). Case does not count.
// A word is a run of letters, digits and marks; anything else separates
// words. So each organization has a few search terms (its name and slug
// from each word on), and a query is a prefix of one of them: a range of
// an ordered index, in any store.

// MaxOrganizationQuery bounds a search's length in characters, as an
// organization's name is bounded.
const MaxOrganizationQuery = 200

// maxSearchTerm bounds a term's length in bytes: four per character of a
// query at most, so cutting longer terms finds nothing less, and keeps
// index entries well under the stores' limits.
const maxSearchTerm = 4 * MaxOrganizationQuery

// OrganizationSearchKey returns the query as it is compared with the
// terms: its words, lower-cased, joined by one space; "" if it has none,
// and then it finds nothing.
func OrganizationSearchKey(query string) string {
	return strings.Join(searchWords(query), " ")
}

// OrganizationSearchTerms returns what a key may be a prefix of to find o:
// its name and its slug, as keys, from each of their words on; sorted,
// without repeats.
func OrganizationSearchTerms(o Organization) []string {
	terms := []string{}
	for _, s := range []string{o.Name, o.Slug} {
		words := searchWords(s)
		for i := range words {
			terms = append(terms, cutTerm(strings.Join(words[i:], " ")))
		}
	}
	slices.Sort(terms)
	return slices.Compact(terms)
}

// FindsOrganization reports whether query finds o.
func FindsOrganization(o Organization, query string) bool {
	key := OrganizationSearchKey(query)
	if key == "" {
		return false
	}
	for _, t := range OrganizationSearchTerms(o) {
		if strings.HasPrefix(t, key) {
			return true
		}
	}
	return false
}

// PrefixEnd returns the first string, in byte order, after every string
// that starts with key and holds no U+10FFFF, for stores that scan an
// ordered index from key up to it: U+10FFFF is a noncharacter, in no
// search term and in no printable name (PrintableText).
func PrefixEnd(key string) string { return key + "\U0010FFFF" }

func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}

// cutTerm cuts t to maxSearchTerm bytes, at a rune's start.
func cutTerm(t string) string {
	if len(t) <= maxSearchTerm {
		return t
	}
	n := maxSearchTerm
	for n > 0 && !utf8.RuneStart(t[n]) {
		n--
	}
	return t[:n]
}
