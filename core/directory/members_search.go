package directory

import (
	"context"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// A member search: at most MaxMemberQuery characters, in at most
// maxMemberTerms words.
const (
	MaxMemberQuery = 100
	maxMemberTerms = 4
)

var errMemberQuery = fault.New(fault.Invalid, "invalid_query", "a search is at most %d printable characters in at most %d words", MaxMemberQuery, maxMemberTerms)

// SearchMembers lists an organization's members who match query, by page,
// in user id order as ListMembers lists them, with the same cursors: every
// word of the query begins the member's email, given name or family name,
// in any case (ports.DirectoryStore.SearchMembers). A blank query lists
// every member.
func (s *Service) SearchMembers(ctx context.Context, orgID, query, cursor string, limit int) (Page[domain.Member], error) {
	if !domain.PrintableText(query, MaxMemberQuery) {
		return Page[domain.Member]{}, errMemberQuery
	}
	terms := strings.Fields(query)
	switch {
	case len(terms) == 0:
		return s.ListMembers(ctx, orgID, cursor, limit)
	case len(terms) > maxMemberTerms:
		return Page[domain.Member]{}, errMemberQuery
	}
	after, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return Page[domain.Member]{}, err
	}
	ms, err := s.deps.Directory.SearchMembers(ctx, orgID, terms, after, limit+1)
	if err != nil {
		return Page[domain.Member]{}, fault.Store("search members", err)
	}
	return pageOf(ms, limit, idOfMember), nil
}
