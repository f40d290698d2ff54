package mongo_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func newFactorStore(t *testing.T, db *mongo.Database, kek []byte) *mongoadapter.FactorStore {
	t.Helper()
	s, err := mongoadapter.NewFactorStore(db, kek)
	require.NoError(t, err)
	return s
}

// factorStores are a factor store and a user store on one fresh database.
func factorStores(t *testing.T) testsuite.FactorStores {
	db := testDB(t)
	return testsuite.FactorStores{Factors: newFactorStore(t, db, randomKEK(t)), Users: mongoadapter.NewUserStore(db)}
}

func TestFactorStore(t *testing.T) {
	t.Parallel()
	testsuite.RunFactorStore(t, factorStores)
}

func TestFactorStoreConcurrency(t *testing.T) {
	t.Parallel()
	testsuite.RunFactorStoreConcurrency(t, factorStores)
}

// enrol stores an authenticator and a pending one with these secrets.
func enrol(ctx context.Context, t *testing.T, s *mongoadapter.FactorStore, userID string, secret, pending []byte) {
	t.Helper()
	_, err := s.UpdateFactors(ctx, userID, func(f *domain.Factors) error {
		f.TOTP = &domain.TOTP{Secret: secret, LastStep: 7}
		f.PendingTOTP = &domain.TOTP{Secret: pending}
		return nil
	})
	require.NoError(t, err)
}

// TOTP secrets are sealed, bound to their user and to which secret they
// are: the stored document holds no plaintext, and a sealed secret moved
// to another user's document, or from the pending field to the confirmed
// one, fails to open rather than opening as a wrong secret.
func TestTOTPSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	s := newFactorStore(t, db, randomKEK(t))
	coll := db.Collection("user_factors")
	secret, pending := []byte("12345678901234567890"), []byte("pending-secret-bytes")
	user, other := uuid.NewString(), uuid.NewString()
	enrol(ctx, t, s, user, secret, pending)
	enrol(ctx, t, s, other, []byte("another-users-secret"), []byte("another-pending-byte"))

	raw, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: user}}).Raw()
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, secret), "the secret is not stored in clear")
	assert.False(t, bytes.Contains(raw, pending), "nor the pending one")
	got, err := s.GetFactors(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, secret, got.TOTP.Secret)
	assert.Equal(t, pending, got.PendingTOTP.Secret)

	_, err = newFactorStore(t, db, randomKEK(t)).GetFactors(ctx, user)
	require.ErrorIs(t, err, mongoadapter.ErrFactorDecryption, "another key")

	totp := raw.Lookup("totp")
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: other}}, bson.D{{Key: "$set", Value: bson.D{{Key: "totp", Value: totp}}}})
	require.NoError(t, err)
	_, err = s.GetFactors(ctx, other)
	require.ErrorIs(t, err, mongoadapter.ErrFactorDecryption, "a sealed secret is bound to its user")
	_, err = s.UpdateFactors(ctx, other, func(*domain.Factors) error { return nil })
	require.ErrorIs(t, err, mongoadapter.ErrFactorDecryption, "an update reads it as a read does")

	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: user}}, bson.D{{Key: "$set", Value: bson.D{{Key: "totp", Value: raw.Lookup("pending_totp")}}}})
	require.NoError(t, err)
	_, err = s.GetFactors(ctx, user)
	require.ErrorIs(t, err, mongoadapter.ErrFactorDecryption, "a pending secret does not open as the confirmed one")

	_, err = mongoadapter.NewFactorStore(db, make([]byte, 16))
	require.Error(t, err)
}

// The factor store writes through the unit of work its context carries: a
// unit that fails leaves no factors behind, and one that commits keeps
// them.
func TestFactorStoreJoinsTheUnit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t)
	units, s := mongoadapter.NewUnits(db, nil), newFactorStore(t, db, randomKEK(t))
	fresh, enrolled := uuid.NewString(), uuid.NewString()
	enrol(ctx, t, s, enrolled, []byte("secret"), []byte("pending"))
	before, err := s.GetFactors(ctx, enrolled)
	require.NoError(t, err)
	errUnit := errors.New("the unit fails")

	err = units.Atomically(ctx, func(ctx context.Context) error {
		enrol(ctx, t, s, fresh, []byte("secret"), []byte("pending"))
		_, err := s.UpdateFactors(ctx, enrolled, func(f *domain.Factors) error {
			f.TOTP.LastStep++
			f.Passkeys = []domain.Passkey{{ID: []byte("id"), Name: "key"}}
			return nil
		})
		require.NoError(t, err)
		require.NoError(t, s.DeleteFactors(ctx, enrolled))
		return errUnit
	})
	require.ErrorIs(t, err, errUnit)
	got, err := s.GetFactors(ctx, fresh)
	require.NoError(t, err)
	assert.Equal(t, domain.Factors{UserID: fresh}, got, "the insert is undone")
	got, err = s.GetFactors(ctx, enrolled)
	require.NoError(t, err)
	assert.Equal(t, before, got, "the update and the delete are undone")

	err = units.Atomically(ctx, func(ctx context.Context) error {
		enrol(ctx, t, s, fresh, []byte("secret"), []byte("pending"))
		return nil
	})
	require.NoError(t, err)
	got, err = s.GetFactors(ctx, fresh)
	require.NoError(t, err)
	assert.Equal(t, []byte("secret"), got.TOTP.Secret, "a unit that commits keeps its factors")
}
