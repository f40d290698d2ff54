// Package system adapts the operating system to the Clock and Random ports:
// the wall clock and the kernel's cryptographic random source.
//
// It is a driven adapter at the edge of the hexagon. The core asks these
// ports for time and randomness instead of calling time.Now or crypto/rand
// itself, so tests can substitute fixed values and stay exact.
package system
