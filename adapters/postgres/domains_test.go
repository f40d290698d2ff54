package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// A claim by a missing organization is ErrNotFound even when another
// organization holds the domain, as the memory store answers: the upsert
// writes nothing then, so no foreign key speaks, and the store looks.
func TestPutDomainOfAMissingOrganizationIsNotFound(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	s := postgres.NewDomainStore(pool)
	o := createOrg(t, pool)
	name := "d" + randomID() + ".school.test"
	_, err := s.PutDomain(ctx, domain.VerifiedDomain{Domain: name, OrganizationID: o.ID, VerifiedBy: "admin:k", CreatedAt: provisionNow})
	require.NoError(t, err)
	_, err = s.PutDomain(ctx, domain.VerifiedDomain{Domain: name, OrganizationID: uuid.NewString(), VerifiedBy: "admin:k"})
	require.ErrorIs(t, err, domain.ErrNotFound)
	got, err := s.GetDomain(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, o.ID, got.OrganizationID, "the holder keeps it")
}

// Domains list in byte order, as Go compares them, whatever the database's
// locale: glibc's en_US, say, skips punctuation at first and would put
// ab.test before a-c.test. The test database's locale may be C, so the
// column's collation is checked too.
func TestListDomainsInByteOrder(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	var collation string
	require.NoError(t, pool.QueryRow(ctx, `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'verified_domains' AND column_name = 'domain'`).
		Scan(&collation))
	assert.Equal(t, "C", collation)

	s := postgres.NewDomainStore(pool)
	o := createOrg(t, pool)
	want := []string{"a-c.test", "a.b.test", "ab.test", "b.test"}
	for _, name := range []string{"ab.test", "b.test", "a.b.test", "a-c.test"} {
		_, err := s.PutDomain(ctx, domain.VerifiedDomain{Domain: name, OrganizationID: o.ID, VerifiedBy: "admin:k"})
		require.NoError(t, err)
	}
	list, err := s.ListDomains(ctx, o.ID)
	require.NoError(t, err)
	got := make([]string, 0, len(list))
	for _, d := range list {
		got = append(got, d.Domain)
	}
	assert.Equal(t, want, got)
}
