// Package testsuite holds the conformance suites of the driven ports: one
// exported Run<Port> function per port, plus Run<Port>Concurrency where the
// port promises something under contention. Every adapter's tests call the
// same suites (memory, postgres, mongo), as Dex's storage/conformance does,
// so the adapters cannot drift apart.
//
// It sits outside the hexagon and tests the ports' contracts from the core's
// side: a suite sees only the port interface, never an adapter's internals.
//
// The suites use fixed times and fresh random ids, so they need no sleeps and
// no empty store: a database shared with other tests works. They compare
// records after normalising times to UTC and treating nil and empty slices
// alike, so a backend may store either.
package testsuite
