// Package ports declares the driven ports of the hexagon: the interfaces the
// core needs from the outside world (storage, signing, rate limiting, events,
// time and randomness). They speak only core/domain types.
//
// Each method documents its sentinel errors (from core/domain), what it does
// atomically and how it treats time. Every adapter of a port runs that port's
// conformance suite in testsuite/.
//
// Methods that may block take a context first. Time is always passed in by
// the caller (from Clock), never read by an adapter, except where a method says
// otherwise, so that the suites are exact and need no sleeps.
package ports
