package postgres

import ()

// SweepQueries returns the janitor's DELETE statements by target name, so
// that a test can EXPLAIN them.
func SweepQueries() map[string]string {
	qs := make(map[string]string, len(sweepTargets))
	for _, t := range sweepTargets {
		qs[t.name] = t.query()
	}
	return qs
}
