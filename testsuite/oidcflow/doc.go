// Package oidcflow is the black-box end-to-end suite of Calimatic Auth: it
// drives a running provider over HTTP only, as a relying party and as a user
// with a browser would, and checks the behaviour that issue 2 and the
// integration guide (sections 1, 2, 3 and 7) promise.
//
// It sits outside the hexagon, one ring further out than testsuite: it knows
// neither ports nor adapters, only a base URL and a user's credentials, so the
// same suite runs against the server on every storage and signer backend.
//
//   - Run checks discovery, registration, the authorization code flow, the
//     token, userinfo, introspection, revocation and end-session endpoints,
//     the pages' security headers and bad input. The server must have its
//     endpoint rate limits switched off, because the suite registers many
//     clients from one IP.
//   - RunRateLimits checks the guide's section 7 limits and login throttling.
//     It needs a server with rate limits on, counting from zero: a fresh one.
//   - RunDirectory checks the OIDC side of the directory (section 3):
//     extended scopes and their approval, invitations, forgot and reset
//     password, status changes and license policy taking effect at once,
//     and first-party clients. It needs Env.AdminKey and Env.Mailbox.
//
// The relying party is coreos/go-oidc and golang.org/x/oauth2; access tokens
// are verified with MicahParks/keyfunc against the JWKS endpoint. The "user"
// is an http.Client with a cookie jar that reads the login and consent forms
// and submits them, filling the inputs by their labels.
package oidcflow
