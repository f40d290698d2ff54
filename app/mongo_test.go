package app_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/directoryflow"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
	"github.com/calimatic/calimatic-auth/testsuite/webhookflow"
)

// mongoURI returns CALIMATIC_TEST_MONGO_URI and a fresh database name for
// one test. Without the variable the test is skipped, unless
// CALIMATIC_TEST_REQUIRE_BACKENDS=1 (CI), where it fails.
func mongoURI(t *testing.T) (uri, database string) {
	t.Helper()
	uri = os.Getenv("CALIMATIC_TEST_MONGO_URI")
	if uri == "" {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("CALIMATIC_TEST_MONGO_URI is not set (CALIMATIC_TEST_REQUIRE_BACKENDS=1)")
		}
		t.Skip("CALIMATIC_TEST_MONGO_URI is not set")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return uri, "app_" + hex.EncodeToString(b)
}

// useMongo is a startServer edit that selects the mongo driver and its rate
// limiter, with the dev seed on (it is off by default there).
func useMongo(uri, database, kek string) func(*config.Config) {
	return func(c *config.Config) {
		c.Storage.Driver = config.StorageMongo
		c.Storage.Mongo.URI = uri
		c.Storage.Mongo.Database = database
		c.Storage.Mongo.KeyEncryptionKey = kek
		c.RateLimit.Kind = config.RateLimitMongo
		seed := true
		c.Dev.Seed = &seed
	}
}

// TestAdminCreateKeyCommandMongo makes a key with the command, on an empty
// database, and uses it on a server of the same database.
func TestAdminCreateKeyCommandMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	kek := newKEK()
	checkAdminCreateKeyCommand(t, []string{
		"CALIMATIC_STORAGE_DRIVER=mongo",
		"CALIMATIC_STORAGE_MONGO_URI=" + uri,
		"CALIMATIC_STORAGE_MONGO_DATABASE=" + db,
		"CALIMATIC_STORAGE_MONGO_KEY_ENCRYPTION_KEY=" + kek,
	}, useMongo(uri, db, kek))
}

// TestPlatformAdminCommandsMongo grants and revokes the platform
// administrator role with the commands, next to a running server of the
// same database.
func TestPlatformAdminCommandsMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	kek := newKEK()
	checkPlatformAdminCommands(t, []string{
		"CALIMATIC_STORAGE_DRIVER=mongo",
		"CALIMATIC_STORAGE_MONGO_URI=" + uri,
		"CALIMATIC_STORAGE_MONGO_DATABASE=" + db,
		"CALIMATIC_STORAGE_MONGO_KEY_ENCRYPTION_KEY=" + kek,
	}, useMongo(uri, db, kek))
}

// TestKeysRotateCommandMongo rotates local keys kept in Mongo.
func TestKeysRotateCommandMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	checkKeysRotateCommand(t, []string{
		"CALIMATIC_STORAGE_DRIVER=mongo",
		"CALIMATIC_STORAGE_MONGO_URI=" + uri,
		"CALIMATIC_STORAGE_MONGO_DATABASE=" + db,
		"CALIMATIC_STORAGE_MONGO_KEY_ENCRYPTION_KEY=" + newKEK(),
	})
}

// TestEndToEndMongo runs the black-box OIDC suite on the mongo driver.
func TestEndToEndMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	srv := startServer(t, func(c *config.Config) {
		useMongo(uri, db, newKEK())(c)
		c.RateLimit.Enabled = false
	})
	oidcflow.Run(t, srv.env())
}

// TestMongoRestart: a restart on the same database loses nothing.
func TestMongoRestart(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	testRestart(t, func(kek string) func(*config.Config) { return useMongo(uri, db, kek) })
}

// TestTwoInstancesMongo: two servers on one database act as one.
func TestTwoInstancesMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	testTwoInstances(t, useMongo(uri, db, newKEK()))
}

// TestDirectoryFlowMongo runs the directory suite on the mongo driver.
// Bulk requests are capped at 200 rows here: FerretDB on SQLite, the CI's
// MongoDB stand-in, writes one row at a time, and 1,000 rows there take
// longer than the suite's request timeout (docs/PERFORMANCE.md).
func TestDirectoryFlowMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	const maxBatch = 200
	srv, box := startDirectoryServer(t, func(c *config.Config) {
		useMongo(uri, db, newKEK())(c)
		c.Directory.MaxBatch = maxBatch
	})
	env := srv.directoryEnv(box)
	env.MaxBatch = maxBatch
	directoryflow.Run(t, env)
}

// TestOIDCDirectoryMongo runs the OIDC side of the directory on mongo.
func TestOIDCDirectoryMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	srv, box := startDirectoryServer(t, useMongo(uri, db, newKEK()))
	oidcflow.RunDirectory(t, srv.oidcDirectoryEnv(box))
}

// TestWebhookFlowMongo runs the webhook suite on the mongo driver.
func TestWebhookFlowMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	srv := startServer(t, withFastWebhooks(useMongo(uri, db, newKEK())))
	webhookflow.Run(t, webhookEnv(srv.BaseURL))
}
