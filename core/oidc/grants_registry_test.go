package oidc

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEveryRegisteredGrantIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range grants {
		assert.NotEmpty(t, g.typ, "a grant has its grant_type")
		assert.False(t, seen[g.typ], "%s is registered once", g.typ)
		seen[g.typ] = true
		assert.NotNil(t, g.exchange, "%s has a handler", g.typ)
	}
	for _, g := range grants {
		for _, r := range g.requiresOneOf {
			assert.True(t, seen[r], "%s requires %s, which is registered", g.typ, r)
		}
	}
}
