package domain

import (
	"net/mail"
	"strings"
	"time"
)

// UserStatus is a user's lifecycle state.
type UserStatus string

// User lifecycle states. Only active users may sign in or use tokens.
const (
	UserActive      UserStatus = "active"
	UserInvited     UserStatus = "invited"
	UserSuspended   UserStatus = "suspended"
	UserDeactivated UserStatus = "deactivated"
)

// User is a Calimatic account. ID is a UUID and is the OIDC subject.
type User struct {
	ID                  string
	Email               string // normalised by NormalizeEmail
	EmailVerified       bool
	GivenName           string
	FamilyName          string
	Picture             string
	PhoneNumber         string
	PhoneNumberVerified bool
	PasswordHash        string // PHC string; empty when no password is set
	Status              UserStatus
	// HomeOrganizationID is the organization that created the account, ""
	// for an account no organization created (self-service) or whose home
	// let it go. Only the home organization's granted clients and platform
	// administrators change the account itself (its profile, email,
	// password, status, existence); every other organization acts on its
	// own membership.
	HomeOrganizationID string
	// NotBefore ends everything signed in before it: sessions, refresh
	// tokens and access tokens whose auth_time is earlier are void. A
	// password reset moves it to the reset's time (Keycloak's "not before").
	NotBefore time.Time
	// Profiles holds, per organization id, what that organization's
	// directory (its SCIM provider) recorded about the user. Nil if none.
	// Stores keep it with the user and return a copy that shares nothing.
	Profiles map[string]OrgProfile
	// PlatformAdmin makes the account a platform administrator: in the
	// console it sees and manages every organization. Only the CLI and
	// the platform admin API grant it.
	PlatformAdmin bool
	// PlatformLocked is set while the account is suspended or deactivated
	// by a platform administrator (the admin API): only a platform
	// administrator lifts it, never the account's organizations.
	PlatformLocked bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Name is the display name built from the given and family names.
func (u *User) Name() string {
	return strings.TrimSpace(u.GivenName + " " + u.FamilyName)
}

// CanSignIn reports whether the user's status lets them authenticate and use tokens.
func (u *User) CanSignIn() bool { return u.Status == UserActive }

// NormalizeEmail is the one normalisation of email addresses, for storage
// and lookups alike: trim the spaces around it and lower-case ASCII
// letters, nothing else. Emails are unique under it. Unicode case folding
// is not applied: it would turn the Kelvin sign (U+212A) into "k" and make
// "\u212aate@example.com" find kate@example.com; ValidEmail refuses such
// addresses anyway.
func NormalizeEmail(email string) string { return lowerASCII(strings.TrimSpace(email)) }

// lowerASCII lower-cases the ASCII letters of s and leaves every other
// character as it is.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// ValidEmail reports whether email is a bare addr-spec (no display name, no
// comment) of sane length, in printable ASCII, whose domain is a dotted
// ASCII DNS name (ValidDomain, in any case): no IP literal, no IP address.
// An internationalised domain must come in its A-label form (xn--…), and
// the local part in ASCII: a Unicode or look-alike address (full-width
// letters, the Kelvin sign, ideographic dots, zero-width characters)
// would otherwise slip past verified domains and uniqueness while the mail
// still reaches the real one. School systems (Entra ID, Google Workspace)
// issue ASCII addresses.
func ValidEmail(email string) bool {
	if len(email) > 254 || email == "" {
		return false
	}
	for i := 0; i < len(email); i++ {
		if email[i] <= ' ' || email[i] > '~' {
			return false
		}
	}
	a, err := mail.ParseAddress(email)
	return err == nil && a.Address == email && a.Name == "" && ValidDomain(strings.ToLower(EmailDomain(email)))
}
