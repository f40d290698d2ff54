package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// DirectoryStore makes the directory changes that span users, memberships
// and licenses, each atomically: no reader ever sees half of one.
type DirectoryStore interface {
	// Provision runs each row on its own: it finds the user by email
	// (case-insensitively) or creates row.User, then ensures the membership
	// and, if row.LicenseClientID is set and the membership is not pending,
	// the license. A new membership is active when the row created the user,
	// set LinkExisting and found a user whose email is verified, or found the user with its home organization or a
	// non-pending membership in one of row.VisibleIn; else pending. An existing membership keeps its
	// role and status, but a pending one that the row may link becomes
	// active. A membership that becomes active is primary when the user has
	// no primary membership; a pending one never is. A new membership is
	// named row.UserName, or by default the user's email, or the user id if
	// another member of the organization has the email as its name. Each row is atomic and
	// parallel rows with one email make one user. A row that fails gets
	// ErrNotFound (its organization does not exist) or ErrAlreadyExists
	// (another member has row.UserName) in its result's Err and writes
	// nothing; the error return is for the store failing as a whole.
	Provision(ctx context.Context, rows []domain.ProvisionRow) ([]domain.ProvisionResult, error)
	// DeleteUser removes a user with their memberships and licenses, in one
	// step. ErrNotFound if there is no such user.
	DeleteUser(ctx context.Context, userID string) error
	// ListMembers returns up to limit members of an organization ordered by
	// user id, starting after the user id afterUserID ("" for the first page).
	// Pending memberships are not members yet and are left out.
	ListMembers(ctx context.Context, organizationID, afterUserID string, limit int) ([]domain.Member, error)
	// SearchMembers is ListMembers narrowed to the members who match every
	// one of terms (at least one, each non-empty): a term matches when the
	// member's email (as domain.NormalizeEmail keys it) starts with
	// domain.NormalizeEmail(term), or their given or family name, lower-cased
	// (strings.ToLower), starts with strings.ToLower(term). Prefixes, so a
	// store answers from indexes on those keys. Ordered by user id as
	// ListMembers is, so the last user id seen is the cursor.
	SearchMembers(ctx context.Context, organizationID string, terms []string, afterUserID string, limit int) ([]domain.Member, error)
}

// LicenseStore keeps which users hold which application's license.
type LicenseStore interface {
	// AssignLicense stores a license unless the user holds it already, in one
	// atomic step, and reports whether it did. ErrNotFound if the user does
	// not exist.
	AssignLicense(ctx context.Context, l domain.License) (assigned bool, err error)
	// RevokeLicense removes a license. ErrNotFound if the user does not hold it.
	RevokeLicense(ctx context.Context, clientID, userID string) error
	// HasLicense reports whether the user holds the client's license.
	HasLicense(ctx context.Context, clientID, userID string) (bool, error)
	// ListUserLicenses returns a user's licenses, oldest first; empty if none.
	ListUserLicenses(ctx context.Context, userID string) ([]domain.License, error)
}

// ClientGrantStore keeps which organizations each client may act on.
type ClientGrantStore interface {
	// PutClientGrant creates or replaces the grant of (client, organization)
	// in one atomic upsert; a replacement keeps CreatedAt. ErrNotFound if the
	// organization does not exist.
	PutClientGrant(ctx context.Context, g domain.ClientGrant) error
	// DeleteClientGrant removes a grant. ErrNotFound if there is none.
	DeleteClientGrant(ctx context.Context, clientID, organizationID string) error
	// ListClientGrants returns a client's grants ordered by organization id;
	// empty if none.
	ListClientGrants(ctx context.Context, clientID string) ([]domain.ClientGrant, error)
	// ListOrganizationGrants returns the grants on an organization ordered
	// by client id, in one read; empty if none (or no such organization).
	ListOrganizationGrants(ctx context.Context, organizationID string) ([]domain.ClientGrant, error)
}

// RoleStore keeps each organization's stored roles: its custom roles, and
// its own versions of the built-in ones.
type RoleStore interface {
	// PutRole creates or replaces a role in one atomic upsert; a replacement
	// keeps CreatedAt. ErrNotFound if the organization does not exist.
	PutRole(ctx context.Context, r domain.Role) error
	// GetRole returns a stored role. ErrNotFound if the organization stores
	// no role of that name (a built-in role may still apply).
	GetRole(ctx context.Context, organizationID, name string) (domain.Role, error)
	// DeleteRole removes a stored role. ErrNotFound if there is none.
	DeleteRole(ctx context.Context, organizationID, name string) error
	// ListRoles returns an organization's stored roles ordered by name.
	ListRoles(ctx context.Context, organizationID string) ([]domain.Role, error)
}

// AdminKeyStore keeps the platform administration keys, by hash.
type AdminKeyStore interface {
	// CreateAdminKey stores a key. ErrAlreadyExists if the id or hash is taken.
	CreateAdminKey(ctx context.Context, k domain.AdminKey) error
	// GetAdminKey returns the key with this hash. ErrNotFound if there is none.
	GetAdminKey(ctx context.Context, hash []byte) (domain.AdminKey, error)
}

// ActionTokenStore keeps the emailed single-use links (invitations and
// password resets), by hash.
type ActionTokenStore interface {
	// CreateActionToken stores a token. ErrAlreadyExists if the hash is taken.
	CreateActionToken(ctx context.Context, t domain.ActionToken) error
	// ConsumeActionToken deletes and returns the token with this hash and
	// purpose, in one atomic step, so of concurrent calls exactly one
	// succeeds. ErrNotFound if there is none, it has another purpose, or it
	// expired at now (an expired token is left for the janitor).
	ConsumeActionToken(ctx context.Context, hash []byte, purpose domain.ActionPurpose, now time.Time) (domain.ActionToken, error)
}

// DomainStore keeps the organizations' verified mail domains.
type DomainStore interface {
	// PutDomain records d.Domain as verified for d.OrganizationID in one
	// atomic step; a domain the organization has already keeps its
	// CreatedAt and takes d's VerifiedBy. It returns what is stored.
	// ErrAlreadyExists if another organization has the domain; ErrNotFound
	// if the organization does not exist.
	PutDomain(ctx context.Context, d domain.VerifiedDomain) (domain.VerifiedDomain, error)
	// GetDomain returns the organization that verified a domain.
	// ErrNotFound if none did.
	GetDomain(ctx context.Context, name string) (domain.VerifiedDomain, error)
	// ListDomains returns an organization's domains ordered by name; empty
	// if none.
	ListDomains(ctx context.Context, organizationID string) ([]domain.VerifiedDomain, error)
	// DeleteDomain removes one of an organization's domains. ErrNotFound if
	// the organization has no such domain.
	DeleteDomain(ctx context.Context, organizationID, name string) error
}

// Mailer sends email.
type Mailer interface {
	// Send delivers one message, or fails with the reason. It may block on
	// the network; ctx bounds it.
	Send(ctx context.Context, m domain.Mail) error
}
