package domain

import (
	"slices"
	"time"
)

// License lets a user use one application, which is an OAuth client. A client
// whose LicenseRequired flag is set admits only users holding its license.
type License struct {
	ClientID   string
	UserID     string
	AssignedAt time.Time
}

// Client grant actions: what an administrator lets a client do to the users
// of one organization through the user management API.
const (
	ActionProvision     = "provision"      // create users and ensure memberships and licenses
	ActionRead          = "read"           // read users and list the organization's users
	ActionUpdate        = "update"         // change a user's profile
	ActionSuspend       = "suspend"        // suspend and reactivate
	ActionDeactivate    = "deactivate"     // deactivate
	ActionDelete        = "delete"         // delete
	ActionResetPassword = "reset_password" // send a password reset
	// ActionAssignAdmin lets provisioning give the admin role. No client
	// makes owners: only platform administrators and the organization's
	// owners do.
	ActionAssignAdmin = "assign_admin"
)

// GrantActions lists every client grant action.
var GrantActions = []string{
	ActionProvision, ActionRead, ActionUpdate, ActionSuspend, ActionDeactivate, ActionDelete, ActionResetPassword,
	ActionAssignAdmin,
}

// ClientGrant lets a client act on one organization's users. A client with no
// grant (every dynamically registered client) may act on no one.
type ClientGrant struct {
	ClientID       string
	OrganizationID string
	Actions        []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Allows reports whether the grant includes action.
func (g *ClientGrant) Allows(action string) bool { return slices.Contains(g.Actions, action) }

// Role is an organization role and the permissions it carries. The built-in
// roles exist in every organization with BuiltInRoles' permissions unless the
// organization stores its own version; custom roles exist only where stored.
type Role struct {
	OrganizationID string
	Name           string
	Permissions    []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// BuiltInRoles are the default permissions of member, admin and owner.
var BuiltInRoles = map[string][]string{
	RoleMember: {"organization:read"},
	RoleAdmin:  {"organization:read", "users:read", "users:manage"},
	RoleOwner:  {"organization:read", "organization:manage", "roles:manage", "users:read", "users:manage"},
}

// IsBuiltInRole reports whether name is member, admin or owner.
func IsBuiltInRole(name string) bool { _, ok := BuiltInRoles[name]; return ok }

// ValidName reports whether s is a usable role name or permission: 1 to 64
// characters of lower-case letters, digits and . _ : -, starting with a letter.
func ValidName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// AdminKeyPrefix marks platform administration keys, as cca_ marks clients.
const AdminKeyPrefix = "cak_"

// AdminKey authenticates a platform administrator. Only its SHA-256 hash is
// kept: it is 256 random bits, like a client secret.
type AdminKey struct {
	ID        string
	Hash      []byte
	Name      string
	CreatedAt time.Time
}

// ActionPurpose says what an emailed single-use link does.
type ActionPurpose string

// Emailed link purposes.
const (
	PurposeInvite ActionPurpose = "invite" // accept an invitation: set a first password
	PurposeReset  ActionPurpose = "reset"  // reset a forgotten password
	PurposeJoin   ActionPurpose = "join"   // accept a pending membership
)

// ActionToken is the stored form of an emailed single-use link. The token
// itself is 256 random bits and only its hash is kept.
type ActionToken struct {
	Hash    []byte
	Purpose ActionPurpose
	UserID  string
	// OrganizationID is the organization a join link admits to, and
	// ClientID the application whose license comes with it ("" for none);
	// both are empty for other purposes.
	OrganizationID string
	ClientID       string
	// Email is the address the link was mailed to. The link is void once
	// the account's email is another, so it proves only that address; ""
	// on links made before links were bound.
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MailedTo reports whether the link may act for an account whose email is
// email: it was mailed there (or made before links were bound).
func (t ActionToken) MailedTo(email string) bool { return t.Email == "" || t.Email == email }

// ProvisionRow is one user to provision: found by email, or created from
// User when no one has that email; then the membership and the license are
// ensured.
type ProvisionRow struct {
	// User is created when its email is free. Its ID must be fresh.
	User           User
	OrganizationID string
	Role           string
	// LicenseClientID is the application whose license the user gets; empty
	// for none. A pending membership gets no license.
	LicenseClientID string
	// VisibleIn and LinkExisting decide how an existing account joins. It
	// joins at once (an active membership) when LinkExisting is set (a
	// verified domain of the organization matches the email) and its email
	// is verified, or when its home organization, or a membership of it
	// other than pending, is in one of VisibleIn (the caller's
	// organizations: the caller sees it already). An unverified email
	// proves nothing about who holds the account: anyone may have renamed
	// it into the domain before the domain was verified. Otherwise its membership is pending until its holder
	// accepts. A user this row creates joins at once.
	VisibleIn    []string
	LinkExisting bool
	// UserName names a membership this row makes (Membership.UserName).
	// Empty: the user's email, or the user id if another member of the
	// organization has that name. A UserName another member has fails the
	// row with ErrAlreadyExists.
	UserName string
	Now      time.Time
}

// ProvisionResult is what provisioning one row did.
type ProvisionResult struct {
	// User is the stored user: the new one, or the one that had the email.
	User User
	// Created is true when this row made the user.
	Created bool
	// Membership is the stored membership. An existing membership keeps
	// its role and status (provisioning never changes a role), except that
	// a pending one the row may link becomes active.
	Membership Membership
	// Joined is true when this row made the membership.
	Joined bool
	// LicenseAssigned is true when this row assigned the license (false
	// when the user already held it).
	LicenseAssigned bool
	// Err is the row's own failure (ErrNotFound: the organization does not
	// exist); nothing of a failed row is written.
	Err error
}

// Member is one user of an organization, as listed.
type Member struct {
	User       User
	Membership Membership
}

// Mail is one plain-text email message. The sender is the mailer's.
type Mail struct {
	To      string
	Subject string
	Text    string
}
