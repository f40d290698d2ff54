package memory_test

import (
	"testing"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestEventLogListEvents(t *testing.T) {
	testsuite.RunEventLog(t, func(*testing.T) testsuite.EventLogStores {
		l := memory.NewEventLog()
		return testsuite.EventLogStores{Publisher: l, Log: l}
	})
}
