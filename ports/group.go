package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// GroupStore keeps the organizations' groups and who is in them. A group's
// members are members of its organization: leaving the organization
// (OrganizationStore.DeleteMembership, DirectoryStore.DeleteUser) leaves
// its groups too.
type GroupStore interface {
	// CreateGroup stores a new group with its members (user ids), in one
	// atomic step. ErrAlreadyExists if the id is taken or another group of
	// the organization has a name with the same domain.GroupNameKey;
	// ErrNotFound if the organization does not exist or a member is not
	// the organization's (no membership, pending included).
	CreateGroup(ctx context.Context, g domain.Group, members []string) error
	// GetGroup returns one of an organization's groups. ErrNotFound if it
	// has no such group.
	GetGroup(ctx context.Context, organizationID, id string) (domain.Group, error)
	// GetGroupByName returns the organization's group whose name has the
	// same domain.GroupNameKey as name, by an index lookup. ErrNotFound if
	// none.
	GetGroupByName(ctx context.Context, organizationID, name string) (domain.Group, error)
	// ListGroups returns up to limit of an organization's groups ordered by
	// id, after the id after ("" for the first page).
	ListGroups(ctx context.Context, organizationID, after string, limit int) ([]domain.Group, error)
	// UpdateGroup reads a group, applies fn and writes the result
	// atomically; fn's error aborts the write and is returned, and fn cannot
	// move the group (its id and organization stay). ErrNotFound if there
	// is no such group; ErrAlreadyExists if fn renamed it to a name another
	// group of the organization has.
	UpdateGroup(ctx context.Context, organizationID, id string, fn func(*domain.Group) error) (domain.Group, error)
	// DeleteGroup removes a group and its members' places in it.
	// ErrNotFound if there is none.
	DeleteGroup(ctx context.Context, organizationID, id string) error
	// ChangeGroupMembers adds the users of add not in the group yet and
	// removes those of remove that are, in one atomic step, and sets the
	// group's UpdatedAt to now when anything changed. It returns the group
	// as stored after. ErrNotFound, writing nothing, if there is no such
	// group or a user of add is not the organization's member.
	ChangeGroupMembers(ctx context.Context, organizationID, id string, add, remove []string, now time.Time) (domain.Group, error)
	// ListGroupMembers returns up to limit of a group's members' user ids
	// in order, after afterUserID ("" for the first page). An unknown group
	// has none.
	ListGroupMembers(ctx context.Context, organizationID, id, afterUserID string, limit int) ([]string, error)
	// ListUserGroups returns the groups of one organization a user is in,
	// ordered by id; empty if none.
	ListUserGroups(ctx context.Context, organizationID, userID string) ([]domain.Group, error)
}
