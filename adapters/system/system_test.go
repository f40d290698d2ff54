package system_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/ports"
)

func TestClockReturnsTheCurrentTimeInUTC(t *testing.T) {
	before := time.Now()
	now := system.NewClock().Now()
	after := time.Now()

	assert.Equal(t, time.UTC, now.Location())
	assert.False(t, now.Before(before), "now is not before the call")
	assert.False(t, now.After(after), "now is not after the call")
}

func TestRandom(t *testing.T) {
	r := system.NewRandom()

	t.Run("bytes have the asked length and differ between calls", func(t *testing.T) {
		a, b := r.Bytes(32), r.Bytes(32)
		assert.Len(t, a, 32)
		assert.NotEqual(t, a, b)
	})
	t.Run("a token is the unpadded base64url of n bytes", func(t *testing.T) {
		tok := r.Token(32)
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		require.NoError(t, err)
		assert.Len(t, raw, 32)
		assert.NotEqual(t, tok, r.Token(32))
	})
	t.Run("a UUID is a canonical version 4 UUID", func(t *testing.T) {
		s := r.UUID()
		id, err := uuid.Parse(s)
		require.NoError(t, err)
		assert.Equal(t, uuid.Version(4), id.Version())
		assert.Equal(t, id.String(), s)
	})
}

func TestModuleProvidesClockRandomAndTXTResolver(t *testing.T) {
	var clock ports.Clock
	var random ports.Random
	var txt ports.TXTResolver
	app := fx.New(system.Module, fx.Populate(&clock, &random, &txt), fx.NopLogger)
	require.NoError(t, app.Err())
	assert.IsType(t, &system.Clock{}, clock)
	assert.IsType(t, &system.Random{}, random)
	assert.IsType(t, &system.NetResolver{}, txt)
}
