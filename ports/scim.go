package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// SCIMStore keeps the organizations' SCIM tokens and answers SCIM's user
// searches. The SCIM attributes themselves live on the user
// (domain.User.Profiles) and are written through UserStore.
type SCIMStore interface {
	// CreateSCIMToken stores a token. ErrAlreadyExists if the id or hash is
	// taken; ErrNotFound if the organization does not exist.
	CreateSCIMToken(ctx context.Context, t domain.SCIMToken) error
	// GetSCIMToken returns the token with this hash. ErrNotFound if none.
	GetSCIMToken(ctx context.Context, hash []byte) (domain.SCIMToken, error)
	// ListSCIMTokens returns an organization's tokens, oldest first (ties by
	// id); empty if none.
	ListSCIMTokens(ctx context.Context, organizationID string) ([]domain.SCIMToken, error)
	// DeleteSCIMToken removes one of an organization's tokens. ErrNotFound if
	// the organization has no token with that id.
	DeleteSCIMToken(ctx context.Context, organizationID, id string) error
	// SearchUsers returns the members of q.OrganizationID that match
	// q.Filter (see domain.Compare for its semantics), ordered by user id,
	// skipping q.Offset and returning at most q.Limit, with the total number
	// of matches. The filter runs in the store's own query language (SQL, a
	// MongoDB filter); users outside the organization, and pending
	// memberships, are never matched.
	// Each member's User carries its Profiles.
	SearchUsers(ctx context.Context, q domain.UserQuery) (domain.UserPage, error)
}
