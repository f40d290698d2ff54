package mongo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
)

func TestEnsureIndexesIsIdempotent(t *testing.T) {
	db := testDB(t)
	require.NoError(t, mongoadapter.EnsureIndexes(t.Context(), db))
}

// The user names' uniqueness is this index's. It is declared sparse too,
// so that on MongoDB unnamed members (no user_name_key) never collide;
// FerretDB 1.24 does not list that option, so the suites' "empty names
// never collide" is what checks it.
func TestUserNameIndex(t *testing.T) {
	db := testDB(t)
	cur, err := db.Collection("memberships").Indexes().List(t.Context())
	require.NoError(t, err)
	var specs []struct {
		Name   string `bson:"name"`
		Key    bson.D `bson:"key"`
		Unique bool   `bson:"unique"`
	}
	require.NoError(t, cur.All(t.Context(), &specs))
	for _, s := range specs {
		if s.Name == "memberships_user_name_key" {
			assert.Equal(t, bson.D{{Key: "user_name_key", Value: int32(1)}}, s.Key)
			assert.True(t, s.Unique, "unique")
			return
		}
	}
	t.Fatalf("no memberships_user_name_key index among %v", specs)
}
