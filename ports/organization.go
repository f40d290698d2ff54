package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// OrganizationStore keeps organizations and their memberships. Changes
// that span users and memberships go through DirectoryStore.
type OrganizationStore interface {
	// CreateOrganization stores a new organization. ErrAlreadyExists if the id
	// or the slug is taken.
	CreateOrganization(ctx context.Context, o domain.Organization) error
	// GetOrganization returns an organization by id. ErrNotFound if there is none.
	GetOrganization(ctx context.Context, id string) (domain.Organization, error)
	// GetOrganizationBySlug returns an organization by slug. ErrNotFound if there is none.
	GetOrganizationBySlug(ctx context.Context, slug string) (domain.Organization, error)
	// UpdateOrganization reads, applies fn and writes atomically. ErrNotFound
	// if there is none; fn's error aborts the write and is returned.
	UpdateOrganization(ctx context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error)
	// PutMembership creates or replaces the membership of (organization, user),
	// its status and user name included, in one atomic upsert. ErrNotFound if
	// the organization does not exist; ErrAlreadyExists, writing nothing, if
	// another member of the organization has a user name with the same
	// domain.UserNameKey (an empty name is never taken).
	PutMembership(ctx context.Context, m domain.Membership) error
	// ListOrganizations returns up to limit organizations ordered by id,
	// starting after the id after ("" for the first page).
	ListOrganizations(ctx context.Context, after string, limit int) ([]domain.Organization, error)
	// SearchOrganizations returns up to limit organizations that query finds
	// by name or slug (domain.FindsOrganization: its words start at a word
	// of the name or the slug, case aside), ordered by id, starting after
	// the id after. A query with no word finds nothing. It reads an index of
	// domain.OrganizationSearchTerms kept with each write of an
	// organization, so it costs the organizations found, not all of them.
	SearchOrganizations(ctx context.Context, query, after string, limit int) ([]domain.Organization, error)
	// GetMembership returns the membership of (organization, user).
	// ErrNotFound if there is none.
	GetMembership(ctx context.Context, organizationID, userID string) (domain.Membership, error)
	// GetMembershipByUserName returns the organization's membership whose
	// user name has the same domain.UserNameKey as userName, pending ones
	// included. ErrNotFound if there is none, or userName is "". It is an
	// index lookup.
	GetMembershipByUserName(ctx context.Context, organizationID, userName string) (domain.Membership, error)
	// DeleteMembership removes a membership. ErrNotFound if there is none.
	DeleteMembership(ctx context.Context, organizationID, userID string) error
	// ListUserMemberships returns a user's memberships in every status,
	// oldest first; empty if none.
	ListUserMemberships(ctx context.Context, userID string) ([]domain.Membership, error)
}
