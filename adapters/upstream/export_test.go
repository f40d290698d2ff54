package upstream

import "time"

// SetNow makes c read the time from now, so that a test can age the
// discovery cache without sleeping.
func SetNow(c *Client, now func() time.Time) { c.now = now }
