// Package system adapts the operating system to the Clock, Random and
// TXTResolver ports: the wall clock, the kernel's cryptographic random
// source and the system's DNS resolver.
//
// It is a driven adapter at the edge of the hexagon. The core asks these
// ports for time and randomness instead of calling time.Now or crypto/rand
// itself, so tests can substitute fixed values and stay exact.
package system
