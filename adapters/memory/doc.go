// Package memory implements every store port in process memory, plus a
// fixed-window rate limiter, a replay cache and an event log.
//
// It is a driven adapter of the hexagon: the default when no database is
// configured, and the reference the conformance suites in testsuite are first
// written against. State lives only as long as the process, and one process
// cannot share it, so production deployments with several instances use
// postgres or mongo instead.
//
// Every store is safe for concurrent use. A mutex guards each store's state,
// which makes every port method one atomic step, and slices are copied in and
// out so that no caller can reach that state. Stores never read the clock: records that
// expire are swept, a few at a time on each write, once the times callers
// pass in show them expired (see expiry.go).
package memory
