// Package directory holds the directory's use cases: provisioning users into
// organizations (one or a batch), the user lifecycle (suspend, reactivate,
// deactivate, delete, invite, password reset), organizations, client grants,
// licenses, roles and platform administration.
//
// It is core: it drives the store, mail and event ports and imports no
// adapter. The HTTP adapter calls it for the user management API
// (/api/v1/users), the administration API (/api/v1/admin) and the account
// pages (accept an invitation, forgot and reset password).
//
// Tenancy is checked here, on every call: a client acts only on the
// organizations an administrator granted it, each grant with its actions.
// A client with no grant gets Forbidden for everything; a user outside the
// client's organizations is NotFound, so nothing about them leaks.
package directory
