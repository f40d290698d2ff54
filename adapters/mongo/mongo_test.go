package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
)

// testDB returns a fresh database on CALIMATIC_TEST_MONGO_URI, dropped when
// the test ends, with every index made. Without the variable the test is
// skipped, unless CALIMATIC_TEST_REQUIRE_BACKENDS=1 (CI), where it fails.
func testDB(t testing.TB) *mongo.Database {
	t.Helper()
	uri := os.Getenv("CALIMATIC_TEST_MONGO_URI")
	if uri == "" {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("CALIMATIC_TEST_MONGO_URI is not set (CALIMATIC_TEST_REQUIRE_BACKENDS=1)")
		}
		t.Skip("CALIMATIC_TEST_MONGO_URI is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri))
	require.NoError(t, err)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := client.Database("t_" + hex.EncodeToString(b))
	require.NoError(t, mongoadapter.EnsureIndexes(ctx, db))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	return db
}
