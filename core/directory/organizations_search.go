package directory

import (
	"context"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// SearchOrganizations finds organizations by name or slug
// (domain.FindsOrganization), by page, in id order as ListOrganizations
// lists them, with the same cursors. A query longer than
// domain.MaxOrganizationQuery characters is refused; one with no letter or
// digit finds nothing.
func (s *Service) SearchOrganizations(ctx context.Context, query, cursor string, limit int) (Page[domain.Organization], error) {
	if err := CheckOrganizationQuery(query); err != nil {
		return Page[domain.Organization]{}, err
	}
	after, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return Page[domain.Organization]{}, err
	}
	os, err := s.deps.Orgs.SearchOrganizations(ctx, query, after, limit+1)
	if err != nil {
		return Page[domain.Organization]{}, fault.Store("search organizations", err)
	}
	return pageOf(os, limit, idOfOrg), nil
}

// CheckOrganizationQuery refuses a search that is not text, or is longer
// than domain.MaxOrganizationQuery characters, for any caller that
// searches organizations its own way.
func CheckOrganizationQuery(query string) error {
	if !utf8.ValidString(query) || utf8.RuneCountInString(query) > domain.MaxOrganizationQuery {
		return fault.New(fault.Invalid, "invalid_request", "a search is at most %d characters of text", domain.MaxOrganizationQuery)
	}
	return nil
}
