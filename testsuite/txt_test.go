package testsuite_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestFakeTXT(t *testing.T) {
	ctx := context.Background()
	f := testsuite.NewFakeTXT()

	t.Run("a name never set has no records and no error", func(t *testing.T) {
		records, err := f.LookupTXT(ctx, "_calimatic.example.com")
		require.NoError(t, err)
		assert.Empty(t, records)
	})
	t.Run("a name set has its records, whatever its case and trailing dot", func(t *testing.T) {
		f.Set("_Calimatic.Example.com.", "a=1", "b=2")
		records, err := f.LookupTXT(ctx, "_calimatic.example.COM")
		require.NoError(t, err)
		assert.Equal(t, []string{"a=1", "b=2"}, records)
	})
	t.Run("a name failed fails until it is set again", func(t *testing.T) {
		boom := errors.New("servfail")
		f.Fail("_calimatic.example.com", boom)
		_, err := f.LookupTXT(ctx, "_calimatic.example.com")
		require.ErrorIs(t, err, boom)

		f.Set("_calimatic.example.com", "c=3")
		records, err := f.LookupTXT(ctx, "_calimatic.example.com")
		require.NoError(t, err)
		assert.Equal(t, []string{"c=3"}, records)
	})
	t.Run("setting no records removes them", func(t *testing.T) {
		f.Set("_calimatic.example.com")
		records, err := f.LookupTXT(ctx, "_calimatic.example.com")
		require.NoError(t, err)
		assert.Empty(t, records)
	})
}
