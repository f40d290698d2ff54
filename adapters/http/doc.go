// Package http is the driving adapter on the HTTP side of the hexagon: Fiber
// routes for the OpenID provider's endpoints, the server-rendered login,
// consent and logout pages, rate limiting, security headers, metrics and
// health checks. It turns requests into calls on core/oidc and maps the
// answers (and every error, in errors.go) to the wire.
package http
