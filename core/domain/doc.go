// Package domain holds Calimatic Auth's entities, value objects and pure rules:
// clients, users, organizations, grants, tokens, consent, sessions, scopes,
// PKCE and redirect-URI rules, and the sentinel errors every layer shares.
//
// It is the centre of the hexagon. It imports only the standard library and
// golang.org/x/crypto, so every other package may depend on it and it on none.
package domain
