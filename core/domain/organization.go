package domain

import (
	"strings"
	"time"
)

// Built-in organization roles. Custom roles are plain strings.
const (
	RoleMember = "member"
	RoleAdmin  = "admin"
	RoleOwner  = "owner"
)

// Organization is a school or other tenant that users belong to.
type Organization struct {
	ID   string
	Name string
	Slug string
	// MFAPolicy is what the organization asks of its members' sign-in;
	// stores return MFAOff for an organization that never set one.
	MFAPolicy MFAPolicy
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrOff returns p, or MFAOff for the zero value. An organization written
// without a policy never set one, so it is under off: stores write it so,
// as PostgreSQL's column default and MongoDB's missing field read.
func (p MFAPolicy) OrOff() MFAPolicy {
	if p == "" {
		return MFAOff
	}
	return p
}

// MembershipStatus is where an account stands in one organization.
type MembershipStatus string

// Membership states.
const (
	// MembershipActive: the account is the organization's member.
	MembershipActive MembershipStatus = "active"
	// MembershipPending: the organization asked for an account it could
	// not see (it belongs to other organizations, or to no one) and its
	// holder has not accepted yet. The organization cannot read the
	// account, hears no events about it, and its apps see no membership.
	MembershipPending MembershipStatus = "pending"
	// MembershipSuspended: the organization suspended its own membership.
	// The account signs in as before, but the organization drops out of
	// its organization claims; the organization still manages it.
	MembershipSuspended MembershipStatus = "suspended"
)

// ValidMembershipStatus reports whether s is one of the states.
func ValidMembershipStatus(s MembershipStatus) bool {
	return s == MembershipActive || s == MembershipPending || s == MembershipSuspended
}

// Membership ties a user to an organization with a role.
type Membership struct {
	OrganizationID string
	UserID         string
	Role           string
	// Status is active, pending or suspended; stores keep it as given.
	Status MembershipStatus
	// Primary marks the organization that events and claims name first.
	// A pending membership is never primary.
	Primary bool
	// UserName is the organization's own name for the member, SCIM's
	// userName, kept as it was set (case included) and unique within the
	// organization by UserNameKey. A membership made outside SCIM is named
	// after the account's email (or, if another member has that name, the
	// user id); it changes only when the organization renames it, never
	// with the account's email.
	UserName  string
	CreatedAt time.Time
}

// Visible reports whether the organization may see the account through
// this membership: every state but pending.
func (m Membership) Visible() bool { return m.Status != MembershipPending }

// VerifiedDomain is a mail domain an organization proved it controls. An
// account whose email is in it joins the organization at once when the
// organization provisions it, instead of waiting for its holder to accept.
// A domain is verified for at most one organization.
type VerifiedDomain struct {
	Domain         string // lower-case, as NormalizeDomain leaves it
	OrganizationID string
	// VerifiedBy says who vouched for it: "admin:" and the admin key's id.
	VerifiedBy string
	CreatedAt  time.Time
}

// EmailDomain returns the domain part of a normalised email, "" if none.
func EmailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return email[i+1:]
}

// NormalizeDomain lower-cases the ASCII letters of a domain name and drops
// a trailing dot. Like NormalizeEmail it folds nothing else, so a Kelvin
// sign stays one, and ValidDomain refuses it.
func NormalizeDomain(d string) string {
	return strings.TrimSuffix(lowerASCII(strings.TrimSpace(d)), ".")
}

// ValidDomain reports whether d (normalised) is a DNS name of at least two
// labels: letters, digits and hyphens, 1 to 63 characters a label, no label
// starting or ending with a hyphen, 253 characters in all.
func ValidDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if tld := labels[len(labels)-1]; len(labels) < 2 || tld == "" || tld[0] < 'a' || tld[0] > 'z' {
		// One label, or an IPv4 address in any of the forms inet_aton and
		// browsers read (127.0.0.1, 127.1, 127.0.0.0x1, 0x7f000001.0x0):
		// every top-level domain starts with a letter.
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
