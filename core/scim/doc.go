// Package scim is SCIM 2.0 (RFC 7643, RFC 7644) over the directory: each
// organization's identity provider (Entra ID, Okta, OneLogin) provisions
// that organization's users and groups with its own bearer token.
//
// Users map onto accounts and memberships: userName and the primary email
// are the account's email, name.givenName and name.familyName its names,
// active its status (false suspends, true reactivates). The attributes with
// no place on the account (externalId, displayName, the other emails, phone
// numbers and the enterprise extension) are the organization's profile of
// the user (domain.OrgProfile), which no other organization sees.
//
// Groups map onto the organization's roles: a group is a role, its members
// the members holding it. A membership has one role, so adding a user to a
// group moves them out of the one they were in, and removing them puts
// them back in "member".
//
// Filters are parsed with github.com/scim2/filter-parser and translated to
// domain.UserFilter, which each store runs as its own query.
package scim
