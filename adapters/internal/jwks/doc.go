// Package jwks keeps JWK Sets that others publish, for verifying the
// tokens they sign: an upstream identity provider's ID tokens
// (adapters/upstream) and a client's private_key_jwt assertions
// (adapters/webhook, whose SSRF-safe client fetches a jwks_uri). Both
// want the same things of github.com/MicahParks/keyfunc/v3 and jwkset:
// a set fetched once and refreshed, signing keys only, a lookup for a
// token without a kid, a bounded cache that fetches each set once however
// many requests wait for it, and a cap on what a set's endpoint can make
// us read. This package holds the one copy of each.
//
// It sits outside the hexagon's rings, as plumbing that adapters share. It
// imports nothing of the module and no fx, which keeps it legal for every
// adapter to import (app/architecture_test.go). What a failure means (an
// invalid token, an unavailable upstream) and what is logged stay with
// each adapter.
package jwks
