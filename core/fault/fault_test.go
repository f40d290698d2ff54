package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

func TestAsFindsAWrappedError(t *testing.T) {
	want := fault.New(fault.NotFound, "user_not_found", "no user %q", "u1")
	got, ok := fault.As(fmt.Errorf("get user: %w", want))
	require.True(t, ok)
	assert.Same(t, want, got)
	assert.Equal(t, `user_not_found: no user "u1"`, got.Error())

	_, ok = fault.As(errors.New("boom"))
	assert.False(t, ok, "an error from inside has no kind")
}

func TestStorePassesOutagesThroughAndWrapsTheRest(t *testing.T) {
	assert.Same(t, domain.ErrUnavailable, fault.Store("get user", domain.ErrUnavailable), "an outage is answered 503 as it is")

	err := fault.Store("get user", domain.ErrConflict)
	assert.EqualError(t, err, "get user: conflict")
	assert.ErrorIs(t, err, domain.ErrConflict)
}

func TestEveryKindHasAName(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range fault.Kinds() {
		name := k.String()
		assert.NotContains(t, name, "Kind(", "kind %d", int(k))
		assert.False(t, seen[name], "two kinds are called %q", name)
		seen[name] = true
	}
	assert.Equal(t, "Kind(0)", fault.Kind(0).String())
}
