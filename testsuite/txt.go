package testsuite

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.TXTResolver = (*FakeTXT)(nil)

// FakeTXT is a ports.TXTResolver over a map, for tests of domain
// verification: a name holds the records Set gave it, or the error Fail
// gave it, and any other name has none. Names compare as DNS compares
// them, without case and without a trailing dot. It is safe for concurrent
// use, so a test can publish a record while a check runs.
type FakeTXT struct {
	mu      sync.Mutex
	records map[string][]string
	errs    map[string]error
}

// NewFakeTXT returns a resolver that knows no names.
func NewFakeTXT() *FakeTXT {
	return &FakeTXT{records: make(map[string][]string), errs: make(map[string]error)}
}

// Set makes records the TXT records at name, replacing what it had (an
// error included); no records removes them.
func (f *FakeTXT) Set(name string, records ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name = dnsName(name)
	delete(f.errs, name)
	if len(records) == 0 {
		delete(f.records, name)
		return
	}
	f.records[name] = slices.Clone(records)
}

// Fail makes every lookup of name fail with err, as a timeout or SERVFAIL
// would, until Set is called for it.
func (f *FakeTXT) Fail(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[dnsName(name)] = err
}

// LookupTXT returns what Set or Fail gave name. See ports.TXTResolver.
func (f *FakeTXT) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name = dnsName(name)
	if err := f.errs[name]; err != nil {
		return nil, err
	}
	return slices.Clone(f.records[name]), nil
}

func dnsName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}
