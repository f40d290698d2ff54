// Package oidc holds the provider's use cases: dynamic registration,
// authorization, login and consent, the token grants, userinfo,
// introspection, revocation, end session, discovery and keys.
//
// It sits inside the hexagon, between core/domain and the driving adapters
// (adapters/http). It reaches the world only through the interfaces in
// ports, and knows nothing of HTTP frameworks, drivers or wiring. Errors it
// returns are *Error values carrying OAuth error codes, or domain sentinels;
// adapters/http maps both to the wire in one place.
package oidc
