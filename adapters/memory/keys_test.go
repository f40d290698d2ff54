package memory_test

import (
	"testing"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestKeyStore(t *testing.T) {
	testsuite.RunKeyStore(t, func(*testing.T) ports.KeyStore { return memory.NewKeyStore() })
}
