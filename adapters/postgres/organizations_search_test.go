package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Migration 00029 gives the organizations written before it the search
// terms the Go rule gives them (for ASCII names, exactly), so that they
// are found like the ones the store writes.
func TestOrganizationSearchMigrationGivesOldOrganizationsTheirTerms(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 28))
	old := []domain.Organization{
		{ID: "a", Name: "Lincoln High-School (North)", Slug: "lincoln-high"},
		{ID: "b", Name: "  St. Mary's  K12 ", Slug: "st-marys"},
		{ID: "c", Name: strings.Repeat("Long ", 200), Slug: "long"},
	}
	for _, o := range old {
		_, err := pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3)`, o.ID, o.Name, o.Slug)
		require.NoError(t, err)
	}
	require.NoError(t, postgres.Migrate(ctx, pool))

	for _, o := range old {
		rows, err := pool.Query(ctx, `SELECT term FROM organization_search_terms WHERE organization_id = $1 ORDER BY term`, o.ID)
		require.NoError(t, err)
		terms, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		assert.Equal(t, domain.OrganizationSearchTerms(o), terms, "organization %s", o.ID)
	}
	orgs := postgres.NewOrganizationStore(pool)
	found, err := orgs.SearchOrganizations(ctx, "school nor", "", 10)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, "a", found[0].ID)
}

// A search reads one range of the terms' primary key, whatever the
// database's collation.
func TestOrganizationSearchReadsTheTermsIndex(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SET LOCAL enable_seqscan = off`)
	require.NoError(t, err)
	var plan strings.Builder
	rows, err := tx.Query(ctx, `EXPLAIN SELECT organization_id FROM organization_search_terms WHERE term >= $1 AND term < $2 AND organization_id > $3`,
		"lin", domain.PrefixEnd("lin"), "")
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for _, l := range lines {
		plan.WriteString(l + "\n")
	}
	assert.Contains(t, plan.String(), "organization_search_terms_pkey", plan.String())
	assert.Contains(t, plan.String(), "Index Cond: ((term >= ", plan.String())
}
