package mongo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Organization documents an older version wrote have no search terms; the
// store's first search gives them theirs, so they are found like the
// others.
func TestOrganizationsWrittenBeforeSearchTermsAreFound(t *testing.T) {
	db := testDB(t)
	_, err := db.Collection("organizations").InsertMany(t.Context(), []any{
		bson.M{"_id": "old-1", "rev": int64(1), "name": "École Saint-Jean", "slug": "ecole-saint-jean"},
		bson.M{"_id": "old-2", "rev": int64(1), "name": "Lincoln High", "slug": "lincoln-high"},
	})
	require.NoError(t, err)
	orgs := mongoadapter.NewOrganizationStore(db)

	found, err := orgs.SearchOrganizations(t.Context(), "saint-j", "", 10)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, "old-1", found[0].ID)
	found, err = orgs.SearchOrganizations(t.Context(), "HIGH", "", 10)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, "old-2", found[0].ID)

	var doc struct {
		Terms []string `bson:"search_terms"`
	}
	require.NoError(t, db.Collection("organizations").FindOne(t.Context(), bson.M{"_id": "old-1"}).Decode(&doc))
	assert.Equal(t, domain.OrganizationSearchTerms(domain.Organization{Name: "École Saint-Jean", Slug: "ecole-saint-jean"}), doc.Terms,
		"the terms were written, once")
}
