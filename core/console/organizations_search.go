package console

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// SearchOrganizations finds, among the organizations v sees, those query
// finds by name or slug (domain.FindsOrganization): for a platform
// administrator through the directory's indexed search, by page; for an
// owner or admin among their own few organizations, in one page.
func (s *Service) SearchOrganizations(ctx context.Context, v *Viewer, query, cursor string, limit int) (directory.Page[domain.Organization], error) {
	if v.Platform {
		return s.deps.Directory.SearchOrganizations(ctx, query, cursor, limit)
	}
	// The same refusals as the directory's, for the same input.
	if err := directory.CheckOrganizationQuery(query); err != nil {
		return directory.Page[domain.Organization]{}, err
	}
	own, err := s.Organizations(ctx, v, "", limit)
	if err != nil {
		return own, err
	}
	var out directory.Page[domain.Organization]
	for _, o := range own.Items {
		if domain.FindsOrganization(o, query) {
			out.Items = append(out.Items, o)
		}
	}
	return out, nil
}
