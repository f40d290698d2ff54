package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

var provisionNow = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

func createOrg(t *testing.T, pool *pgxpool.Pool) domain.Organization {
	t.Helper()
	id := uuid.NewString()
	o := domain.Organization{ID: id, Name: "Springfield", Slug: "springfield-" + id, CreatedAt: provisionNow}
	require.NoError(t, postgres.NewOrganizationStore(pool).CreateOrganization(context.Background(), o))
	return o
}

func newProvisionRow(orgID, email string) domain.ProvisionRow {
	return domain.ProvisionRow{
		User: domain.User{
			ID: uuid.NewString(), Email: email, Status: domain.UserInvited,
			CreatedAt: provisionNow, UpdatedAt: provisionNow,
		},
		OrganizationID: orgID, Role: domain.RoleMember, LicenseClientID: "cca_app", Now: provisionNow,
	}
}

func uniqueEmail() string { return "u" + randomID() + "@example.com" }

func countUsers(t *testing.T, pool *pgxpool.Pool, email string) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT count(*) FROM users WHERE email_key = $1`, domain.NormalizeEmail(email)).Scan(&n))
	return n
}

// A failing row rolls back to its own savepoint: its user is not created,
// and the rows before and after it, in the same transaction, stand.
func TestProvisionRollsBackAFailingRowAlone(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	dir := postgres.NewDirectoryStore(pool)
	users := postgres.NewUserStore(pool)
	o := createOrg(t, pool)

	existing := newProvisionRow(o.ID, uniqueEmail())
	_, err := dir.Provision(ctx, []domain.ProvisionRow{existing})
	require.NoError(t, err)

	first := newProvisionRow(o.ID, uniqueEmail())
	missingOrg := newProvisionRow(uuid.NewString(), uniqueEmail())
	takenID := newProvisionRow(o.ID, uniqueEmail())
	takenID.User.ID = existing.User.ID
	sameEmail := newProvisionRow(o.ID, first.User.Email)
	secondOrg := createOrg(t, pool)
	elsewhere := newProvisionRow(secondOrg.ID, first.User.Email)
	last := newProvisionRow(o.ID, uniqueEmail())

	res, err := dir.Provision(ctx, []domain.ProvisionRow{first, missingOrg, takenID, sameEmail, elsewhere, last})
	require.NoError(t, err, "a row's failure is the row's, not the batch's")
	require.Len(t, res, 6)

	require.NoError(t, res[0].Err)
	assert.True(t, res[0].Created)
	assert.True(t, res[0].Membership.Primary)
	assert.True(t, res[0].LicenseAssigned)

	require.ErrorIs(t, res[1].Err, domain.ErrNotFound, "the organization does not exist")
	assert.Equal(t, domain.ProvisionResult{Err: res[1].Err}, res[1], "a failed row reports nothing else")
	_, err = users.GetUserByEmail(ctx, missingOrg.User.Email)
	require.ErrorIs(t, err, domain.ErrNotFound, "the failed row's user was rolled back with it")

	require.ErrorIs(t, res[2].Err, domain.ErrAlreadyExists, "the user id is taken")
	_, err = users.GetUserByEmail(ctx, takenID.User.Email)
	require.ErrorIs(t, err, domain.ErrNotFound)

	require.NoError(t, res[3].Err)
	assert.False(t, res[3].Created, "a later row of one email finds the user an earlier row made")
	assert.Equal(t, first.User.ID, res[3].User.ID)
	assert.False(t, res[3].LicenseAssigned, "held already")
	assert.True(t, res[3].Membership.Primary, "the existing membership, read back")

	require.NoError(t, res[4].Err)
	assert.Equal(t, first.User.ID, res[4].User.ID)
	assert.False(t, res[4].Membership.Primary, "a second membership is not primary")
	assert.Equal(t, secondOrg.ID, res[4].Membership.OrganizationID)

	require.NoError(t, res[5].Err, "the rows after a failure run")
	assert.True(t, res[5].Created)
	_, err = users.GetUser(ctx, last.User.ID)
	require.NoError(t, err)
}

// A thousand rows run in one transaction; the time is logged for the record.
func TestProvisionAThousandRows(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	o := createOrg(t, pool)
	const n = 1000
	rows := make([]domain.ProvisionRow, n)
	for i := range rows {
		rows[i] = newProvisionRow(o.ID, fmt.Sprintf("bulk%04d-%s@example.com", i, randomID()))
	}
	start := time.Now()
	res, err := postgres.NewDirectoryStore(pool).Provision(ctx, rows)
	elapsed := time.Since(start)
	require.NoError(t, err)
	t.Logf("provisioned %d new users (user, membership, license each) in %v (%v a row)", n, elapsed, elapsed/n)
	for i, r := range res {
		require.NoError(t, r.Err, "row %d", i)
		require.True(t, r.Created, "row %d", i)
		require.Equal(t, rows[i].User.ID, r.User.ID, "results are in the rows' order")
	}
	var members, licenses int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE organization_id = $1`, o.ID).Scan(&members))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM licenses`).Scan(&licenses))
	assert.Equal(t, n, members)
	assert.Equal(t, n, licenses)

	// Again: every row finds its user, in about the same time.
	start = time.Now()
	res, err = postgres.NewDirectoryStore(pool).Provision(ctx, rows)
	elapsed = time.Since(start)
	require.NoError(t, err)
	t.Logf("re-provisioned %d existing users in %v", n, elapsed)
	for i, r := range res {
		require.NoError(t, r.Err, "row %d", i)
		require.False(t, r.Created, "row %d", i)
	}
}

// 32 parallel provisions of one email end with one user, and every call
// succeeds.
func TestProvisionOneEmailInParallel(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	dir := postgres.NewDirectoryStore(pool)
	o := createOrg(t, pool)
	email := uniqueEmail()
	const workers = 32
	results := make([]domain.ProvisionResult, workers)
	errs := make([]error, workers)
	raceAll(workers, func(i int) {
		// Each in its own case: the email is one, case-insensitively.
		e := email
		if i%2 == 1 {
			e = strings.ToUpper(email)
		}
		var res []domain.ProvisionResult
		res, errs[i] = dir.Provision(context.Background(), []domain.ProvisionRow{newProvisionRow(o.ID, e)})
		if errs[i] == nil {
			results[i] = res[0]
		}
	})
	created := 0
	for i := range workers {
		require.NoError(t, errs[i])
		require.NoError(t, results[i].Err)
		assert.Equal(t, results[0].User.ID, results[i].User.ID, "one user for all")
		assert.True(t, results[i].Membership.Primary)
		if results[i].Created {
			created++
		}
	}
	assert.Equal(t, 1, created)
	assert.Equal(t, 1, countUsers(t, pool, email))
}

// Batches that share emails in opposite orders do not deadlock: each takes
// its user locks in email order.
func TestProvisionBatchesInOppositeOrders(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	dir := postgres.NewDirectoryStore(pool)
	o := createOrg(t, pool)
	emails := make([]string, 20)
	for i := range emails {
		emails[i] = uniqueEmail()
	}
	const workers = 8
	errs := make([]error, workers)
	raceAll(workers, func(i int) {
		order := slices.Clone(emails)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		rows := make([]domain.ProvisionRow, len(order))
		for j, e := range order {
			rows[j] = newProvisionRow(o.ID, e)
		}
		var res []domain.ProvisionResult
		res, errs[i] = dir.Provision(context.Background(), rows)
		for _, r := range res {
			if errs[i] == nil {
				errs[i] = r.Err
			}
		}
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	for _, e := range emails {
		assert.Equal(t, 1, countUsers(t, pool, e), e)
	}
}

// raceAll runs fn(i) in n goroutines released together.
func raceAll(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
