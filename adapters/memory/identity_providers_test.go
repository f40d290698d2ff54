package memory_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// HasIdentityProviders sees a provider of any organization, and none once
// the last is deleted.
func TestHasIdentityProviders(t *testing.T) {
	ctx := t.Context()
	s := memory.NewIdentityProviderStore()
	has, err := s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.False(t, has, "an empty store")
	p := domain.IdentityProvider{ID: "idp_1", OrganizationID: "org", Issuer: "https://accounts.google.com"}
	require.NoError(t, s.CreateIdentityProvider(ctx, p))
	has, err = s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.True(t, has, "after a create")
	require.NoError(t, s.DeleteIdentityProvider(ctx, p.ID))
	has, err = s.HasIdentityProviders(ctx)
	require.NoError(t, err)
	assert.False(t, has, "after the last is deleted")
}
