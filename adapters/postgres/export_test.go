package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
)

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

// ListMembersSQL returns ListMembers' statement, whose parameters are the
// organization, the user id to start after and the limit, so that a test
// can EXPLAIN it.
func ListMembersSQL() string { return listMembersSQL }

// SearchMembersSQL is DirectoryStore.SearchMembers' statement for n terms.
func SearchMembersSQL(n int) string { return searchMembersSQL(n) }

// MigrateTo applies the migrations up to and including version, so that a
// test can fill an older schema before it migrates the rest.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	provider, closeDB, err := newMigrator(ctx, pool)
	if err != nil {
		return err
	}
	defer closeDB()
	_, err = provider.UpTo(ctx, version)
	return err
}
