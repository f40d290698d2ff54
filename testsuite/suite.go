package testsuite

import (
	"crypto/rand"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

// epoch is the instant every suite counts from. It is a whole second in UTC,
// so it survives backends that keep only milliseconds.
var epoch = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// errRefused is what callbacks return to test that a failed callback writes nothing.
var errRefused = errors.New("callback refused the change")

// contenders is how many goroutines race in the concurrency checks.
const contenders = 32

// subtest is one named check against a fresh store of type S.
type subtest[S any] struct {
	name string
	run  func(t *testing.T, s S)
}

// runSubtests runs each check in its own t.Run with a store from newStore.
func runSubtests[S any](t *testing.T, newStore func(*testing.T) S, tests []subtest[S]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// uniqueID returns prefix followed by a fresh UUID, so that tests sharing a
// database never collide.
func uniqueID(prefix string) string { return prefix + uuid.NewString() }

// uniqueHash returns 32 random bytes, the size of a SHA-256 token hash.
func uniqueHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// race runs fn(i) for i in [0, n) in n goroutines held at a barrier until all
// exist, so they contend for real instead of running one after another.
// fn must not call t.FailNow; it records results for the caller to check.
func race(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// countErrors counts the results that are nil (as ok) and those matching target.
func countErrors(errs []error, target error) (ok, matched int) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		}
	}
	return ok, matched
}

// assertSame asserts that want and got hold the same record, once times are
// in UTC and nil slices equal empty ones: those differences are the backend's
// encoding, not the data.
func assertSame(t *testing.T, want, got any, msgAndArgs ...any) bool {
	t.Helper()
	return assert.Equal(t, normalize(want), normalize(got), msgAndArgs...)
}

var timeType = reflect.TypeFor[time.Time]()

func normalize(v any) any {
	if v == nil {
		return nil
	}
	src := reflect.ValueOf(v)
	dst := reflect.New(src.Type()).Elem()
	copyNormalized(dst, src)
	return dst.Interface()
}

// copyNormalized copies src into dst, converting times to UTC without a
// monotonic reading and empty slices to nil, behind pointers too. Slices
// and pointer targets are copied, never normalised in place, so the
// caller's values are untouched.
func copyNormalized(dst, src reflect.Value) {
	switch {
	case src.Type() == timeType:
		dst.Set(reflect.ValueOf(src.Interface().(time.Time).Round(0).UTC()))
	case src.Kind() == reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				copyNormalized(dst.Field(i), src.Field(i))
			}
		}
	case src.Kind() == reflect.Slice:
		if src.Len() == 0 {
			// A struct's field holds src's value already (see above).
			dst.Set(reflect.Zero(src.Type()))
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyNormalized(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case src.Kind() == reflect.Pointer && !src.IsNil():
		p := reflect.New(src.Type().Elem())
		copyNormalized(p.Elem(), src.Elem())
		dst.Set(p)
	default:
		dst.Set(src)
	}
}
