package system

import "time"

// Clock is the wall clock.
type Clock struct{}

// NewClock returns the wall clock.
func NewClock() *Clock { return &Clock{} }

// Now returns the current time in UTC, so that every timestamp the core
// writes has one location and compares equal after a round trip through a
// database.
func (*Clock) Now() time.Time { return time.Now().UTC() }
