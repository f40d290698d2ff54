package mongo_test

import (
	"testing"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestEventLog(t *testing.T) {
	t.Parallel()
	o := mongoadapter.NewEventOutbox(testDB(t))
	testsuite.RunEventLog(t, func(*testing.T) testsuite.EventLogStores {
		return testsuite.EventLogStores{Publisher: o, Log: o}
	})
}
