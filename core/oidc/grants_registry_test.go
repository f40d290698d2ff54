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
		if g.requires != "" {
			assert.True(t, seen[g.requires], "%s requires %s, which is registered", g.typ, g.requires)
		}
	}
}
