package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/mongo"
)

// BackfillDirectoryInBatchesForTest is BackfillDirectory in batches of
// batch documents, for backfill_test.go.
func BackfillDirectoryInBatchesForTest(ctx context.Context, db *mongo.Database, batch int) (memberships, users int, err error) {
	return backfill{batch: batch}.run(ctx, db)
}
