package postgres

import "github.com/calimatic/calimatic-auth/core/domain"

// SweepQueries returns the janitor's DELETE statements by target name, so
// that a test can EXPLAIN them.
func SweepQueries() map[string]string {
	qs := make(map[string]string, len(sweepTargets))
	for _, t := range sweepTargets {
		qs[t.name] = t.query()
	}
	return qs
}

// SearchUsersSQL returns SearchUsers' page and count statements and their
// arguments (the page's offset and limit are two more, after them), so that
// a test can EXPLAIN them.
func SearchUsersSQL(organizationID string, f domain.UserFilter) (page, count string, args []any, err error) {
	return searchQueries(organizationID, f)
}
