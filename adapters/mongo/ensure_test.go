package mongo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
)

func TestEnsureIndexesIsIdempotent(t *testing.T) {
	db := testDB(t)
	require.NoError(t, mongoadapter.EnsureIndexes(t.Context(), db))
}
