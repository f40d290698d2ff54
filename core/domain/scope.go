package domain

import (
	"slices"
	"strings"
)

// Standard scopes from the integration guide, §2, and the extended scopes
// that need an administrator's approval (§3).
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopePhone         = "phone"
	ScopeOfflineAccess = "offline_access"
	ScopeAddress       = "address"
	ScopeOrganization  = "organization"
	ScopePermissions   = "permissions"
)

// StandardScopes are granted to any client that registers them.
var StandardScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeAddress, ScopePhone, ScopeOfflineAccess}

// ExtendedScopes need an administrator's approval per client.
var ExtendedScopes = []string{ScopeOrganization, ScopePermissions}

// ScopeClaims maps each scope to the claims it releases (guide §2 table;
// phone adds phone_number_verified per OIDC Core §5.4).
var ScopeClaims = map[string][]string{
	ScopeOpenID: {"sub"},
	ScopeProfile: {"name", "given_name", "family_name", "middle_name", "nickname", "profile", "picture",
		"zoneinfo", "locale", "updated_at"},
	ScopeEmail:   {"email", "email_verified"},
	ScopeAddress: {"address"},
	ScopePhone:   {"phone_number", "phone_number_verified"},
	// The extended scopes (§3), for clients an administrator approved.
	ScopeOrganization: {"organization_id", "organization_memberships"},
	ScopePermissions:  {"roles", "permissions"},
}

// ScopeDescriptions are the plain words the consent page shows.
var ScopeDescriptions = map[string]string{
	ScopeOpenID:        "Know who you are when you sign in",
	ScopeProfile:       "See your name and profile picture",
	ScopeEmail:         "See your email address",
	ScopePhone:         "See your phone number",
	ScopeAddress:       "See your postal address",
	ScopeOfflineAccess: "Stay signed in when you are not using the app",
	ScopeOrganization:  "See which organizations you belong to",
	ScopePermissions:   "See your roles and permissions",
}

// KnownScope reports whether s is a scope this provider defines.
func KnownScope(s string) bool {
	return slices.Contains(StandardScopes, s) || slices.Contains(ExtendedScopes, s)
}

// IsExtendedScope reports whether s needs administrator approval.
func IsExtendedScope(s string) bool { return slices.Contains(ExtendedScopes, s) }

// ParseScope splits a space-delimited scope string (RFC 6749 §3.3), dropping
// duplicates and keeping the first-seen order.
func ParseScope(s string) []string {
	fields := strings.Fields(s)
	out := fields[:0]
	for _, f := range fields {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// JoinScope is the inverse of ParseScope.
func JoinScope(scopes []string) string { return strings.Join(scopes, " ") }

// ValidScopeToken reports whether s uses only the characters RFC 6749 §3.3 allows.
func ValidScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
