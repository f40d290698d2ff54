package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func newFactorStore(t *testing.T, pool *pgxpool.Pool, key []byte) *postgres.FactorStore {
	t.Helper()
	s, err := postgres.NewFactorStore(pool, key)
	require.NoError(t, err)
	return s
}

// The suites' subtests share a schema, as the other suites here do; their
// users are fresh.
func factorStores(t *testing.T) func(*testing.T) testsuite.FactorStores {
	pool := newPool(t)
	s := testsuite.FactorStores{Factors: newFactorStore(t, pool, randomKey()), Users: postgres.NewUserStore(pool)}
	return func(*testing.T) testsuite.FactorStores { return s }
}

func TestFactorStore(t *testing.T) {
	t.Parallel()
	testsuite.RunFactorStore(t, factorStores(t))
}

func TestFactorStoreConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunFactorStoreConcurrency(t, factorStores(t))
}

var factorsNow = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// createFactorUser stores a user for factors to belong to.
func createFactorUser(t *testing.T, users *postgres.UserStore) string {
	t.Helper()
	id := uuid.NewString()
	require.NoError(t, users.CreateUser(context.Background(), domain.User{
		ID: id, Email: id + "@factors.example", Status: domain.UserActive, CreatedAt: factorsNow, UpdatedAt: factorsNow,
	}))
	return id
}

// enrol stores an authenticator and a pending one with these secrets.
func enrol(ctx context.Context, t *testing.T, s ports.FactorStore, userID string, secret, pending []byte) {
	t.Helper()
	_, err := s.UpdateFactors(ctx, userID, func(f *domain.Factors) error {
		f.TOTP = &domain.TOTP{Secret: secret, LastStep: 7, CreatedAt: factorsNow}
		f.PendingTOTP = &domain.TOTP{Secret: pending, CreatedAt: factorsNow}
		return nil
	})
	require.NoError(t, err)
}

// TOTP secrets are sealed, bound to their user and to which secret they
// are: the raw columns hold no plaintext, and a sealed secret moved to
// another user's row, or from the pending column to the confirmed one,
// fails to open rather than opening as a wrong secret.
func TestTOTPSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	key := randomKey()
	s, users := newFactorStore(t, pool, key), postgres.NewUserStore(pool)
	secret, pending := []byte("12345678901234567890"), []byte("pending-secret-bytes")
	user, other := createFactorUser(t, users), createFactorUser(t, users)
	enrol(ctx, t, s, user, secret, pending)
	enrol(ctx, t, s, other, []byte("another-users-secret"), []byte("another-pending-byte"))

	sealed := func(column, userID string) []byte {
		var b []byte
		require.NoError(t, pool.QueryRow(ctx, `SELECT `+column+` FROM user_factors WHERE user_id = $1`, userID).Scan(&b))
		return b
	}
	totp := sealed("totp_secret", user)
	assert.False(t, bytes.Contains(totp, secret), "the secret is not stored in clear")
	assert.False(t, bytes.Contains(sealed("pending_totp_secret", user), pending), "nor the pending one")
	got, err := s.GetFactors(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, secret, got.TOTP.Secret)
	assert.Equal(t, pending, got.PendingTOTP.Secret)

	_, err = s.UpdateFactors(ctx, user, func(*domain.Factors) error { return nil })
	require.NoError(t, err)
	assert.NotEqual(t, totp, sealed("totp_secret", user), "a fresh nonce on each write")

	_, err = newFactorStore(t, pool, randomKey()).GetFactors(ctx, user)
	require.ErrorIs(t, err, postgres.ErrFactorDecryption, "another key")

	_, err = pool.Exec(ctx, `UPDATE user_factors SET totp_secret = $1 WHERE user_id = $2`, sealed("totp_secret", user), other)
	require.NoError(t, err)
	_, err = s.GetFactors(ctx, other)
	require.ErrorIs(t, err, postgres.ErrFactorDecryption, "a sealed secret is bound to its user")
	_, err = s.UpdateFactors(ctx, other, func(*domain.Factors) error { return nil })
	require.ErrorIs(t, err, postgres.ErrFactorDecryption, "an update reads it as a read does")

	_, err = pool.Exec(ctx, `UPDATE user_factors SET totp_secret = pending_totp_secret WHERE user_id = $1`, user)
	require.NoError(t, err)
	_, err = s.GetFactors(ctx, user)
	require.ErrorIs(t, err, postgres.ErrFactorDecryption, "a pending secret does not open as the confirmed one")

	_, err = postgres.NewFactorStore(pool, []byte("short"))
	require.Error(t, err)
}

// A user's factors reference the user: deleting the user deletes them, and
// factors of a missing user are refused.
func TestFactorsGoWithTheirUser(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	s, users := newFactorStore(t, pool, randomKey()), postgres.NewUserStore(pool)
	user := createFactorUser(t, users)
	enrol(ctx, t, s, user, []byte("secret"), []byte("pending"))

	require.NoError(t, postgres.NewDirectoryStore(pool).DeleteUser(ctx, user))
	var rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM user_factors WHERE user_id = $1`, user).Scan(&rows))
	assert.Zero(t, rows, "the factors went with the user")

	called := false
	_, err := s.UpdateFactors(ctx, user, func(*domain.Factors) error { called = true; return nil })
	require.ErrorIs(t, err, domain.ErrNotFound, "a deleted user")
	assert.False(t, called, "the callback never runs")
	got, err := s.GetFactors(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, domain.Factors{UserID: user}, got)
}

// The factor store joins the unit of work its context carries: a unit that
// fails leaves no factors, and one that commits keeps them with the user
// it created.
func TestFactorStoreJoinsTheUnit(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	units, users := postgres.NewUnits(pool), postgres.NewUserStore(pool)
	s := newFactorStore(t, pool, randomKey())
	existing := createFactorUser(t, users)
	errUnit := errors.New("the unit fails")

	err := units.Atomically(ctx, func(ctx context.Context) error {
		enrol(ctx, t, s, existing, []byte("secret"), []byte("pending"))
		got, err := s.GetFactors(ctx, existing)
		require.NoError(t, err)
		require.NotNil(t, got.TOTP, "the unit reads its own write")
		return errUnit
	})
	require.ErrorIs(t, err, errUnit)
	got, err := s.GetFactors(ctx, existing)
	require.NoError(t, err)
	assert.Equal(t, domain.Factors{UserID: existing}, got, "the failed unit's factors are undone")

	id := uuid.NewString()
	err = units.Atomically(ctx, func(ctx context.Context) error {
		if err := users.CreateUser(ctx, domain.User{ID: id, Email: id + "@factors.example", Status: domain.UserActive}); err != nil {
			return err
		}
		_, err := s.UpdateFactors(ctx, id, func(f *domain.Factors) error {
			f.RecoveryCodes = []domain.RecoveryCode{{Hash: []byte("hash")}}
			return nil
		})
		return err
	})
	require.NoError(t, err, "factors of a user the same unit creates")
	got, err = s.GetFactors(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 1, got.UnusedRecoveryCodes())
}

// Text a jsonb document cannot keep faithfully is refused, as a text column
// refuses it, and nothing is written.
func TestFactorsRefuseUnstorableText(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	s := newFactorStore(t, pool, randomKey())
	user := createFactorUser(t, postgres.NewUserStore(pool))
	for _, name := range []string{"nul\x00byte", "bad \xff utf-8"} {
		_, err := s.UpdateFactors(ctx, user, func(f *domain.Factors) error {
			f.Passkeys = []domain.Passkey{{ID: []byte("id"), Name: name}}
			return nil
		})
		require.ErrorIs(t, err, domain.ErrNotFound, "%q", name)
	}
	got, err := s.GetFactors(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, domain.Factors{UserID: user}, got)
}
