package testsuite

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/ports"
)

// RunReplayCache checks a ReplayCache against its port contract: a key is
// used once until its expiry, and counts as unused again once that has
// passed, at the caller's now.
func RunReplayCache(t *testing.T, newCache func(t *testing.T) ports.ReplayCache) {
	runSubtests(t, newCache, []subtest[ports.ReplayCache]{
		{"the first use of a key is true and a second use false", replayOnce},
		{"a key is refused until its expiry and usable at it", replayUntilExpiry},
		{"a different key is remembered apart", replayKeysApart},
		{"once its expiry has passed a key is usable again, until its new expiry", replayAfterExpiry},
		{"keys of 512 bytes that differ only in their last byte are remembered apart", replayLongKeys},
		{"an expiry in whole milliseconds holds to the millisecond", replayMilliseconds},
		{"an expiry finer than a millisecond never lapses early", replaySubMillisecond},
	})
}

// RunReplayCacheConcurrency checks that deciding and recording a use are one
// atomic step, on a fresh key and on one whose record has expired.
func RunReplayCacheConcurrency(t *testing.T, newCache func(t *testing.T) ports.ReplayCache) {
	runSubtests(t, newCache, []subtest[ports.ReplayCache]{
		{"of concurrent first uses of one key exactly one is true", replayParallelFirstUse},
		{"of concurrent uses of a key whose record expired exactly one is true", replayParallelReuse},
		{"concurrent uses of different keys are each true", replayParallelKeys},
	})
}

// remember calls c.Remember and fails the test on an error.
func remember(t *testing.T, c ports.ReplayCache, key string, now, expiresAt time.Time) bool {
	t.Helper()
	first, err := c.Remember(t.Context(), key, now, expiresAt)
	require.NoError(t, err)
	return first
}

func replayOnce(t *testing.T, c ports.ReplayCache) {
	key := uniqueID("jti-")
	assert.True(t, remember(t, c, key, epoch, epoch.Add(time.Minute)), "first use")
	assert.False(t, remember(t, c, key, epoch, epoch.Add(time.Minute)), "second use")
}

func replayUntilExpiry(t *testing.T, c ports.ReplayCache) {
	key, expiry := uniqueID("jti-"), epoch.Add(time.Minute)
	require.True(t, remember(t, c, key, epoch, expiry))
	assert.False(t, remember(t, c, key, expiry.Add(-time.Second), expiry), "a second before the expiry")
	assert.True(t, remember(t, c, key, expiry, expiry.Add(time.Minute)), "at the expiry")
}

func replayKeysApart(t *testing.T, c ports.ReplayCache) {
	key, other := uniqueID("jti-"), uniqueID("jti-")
	require.True(t, remember(t, c, key, epoch, epoch.Add(time.Minute)))
	assert.True(t, remember(t, c, other, epoch, epoch.Add(time.Minute)), "another key")
	assert.True(t, remember(t, c, "dpop:"+key, epoch, epoch.Add(time.Minute)), "the key with a prefix")
	assert.False(t, remember(t, c, key, epoch, epoch.Add(time.Minute)), "the first key again")
}

func replayAfterExpiry(t *testing.T, c ports.ReplayCache) {
	key, expiry := uniqueID("jti-"), epoch.Add(time.Minute)
	require.True(t, remember(t, c, key, epoch, expiry))
	later := expiry.Add(time.Hour)
	assert.True(t, remember(t, c, key, later, later.Add(time.Minute)), "after the expiry")
	assert.False(t, remember(t, c, key, later.Add(time.Second), later.Add(time.Minute)), "again, before the new expiry")
	assert.True(t, remember(t, c, key, later.Add(time.Minute), later.Add(2*time.Minute)), "at the new expiry")
}

func replayLongKeys(t *testing.T, c ports.ReplayCache) {
	prefix := uniqueID("client-assertion:")
	stem := prefix + strings.Repeat("x", 511-len(prefix))
	a, b := stem+"a", stem+"b"
	require.Len(t, a, 512)
	assert.True(t, remember(t, c, a, epoch, epoch.Add(time.Minute)), "first key")
	assert.True(t, remember(t, c, b, epoch, epoch.Add(time.Minute)), "second key")
	assert.False(t, remember(t, c, a, epoch, epoch.Add(time.Minute)), "first key again")
	assert.False(t, remember(t, c, b, epoch, epoch.Add(time.Minute)), "second key again")
}

func replayMilliseconds(t *testing.T, c ports.ReplayCache) {
	key, expiry := uniqueID("jti-"), epoch.Add(1234*time.Millisecond)
	require.True(t, remember(t, c, key, epoch, expiry))
	assert.False(t, remember(t, c, key, expiry.Add(-time.Millisecond), expiry.Add(time.Minute)), "a millisecond before the expiry")
	assert.True(t, remember(t, c, key, expiry, expiry.Add(time.Minute)), "at the expiry")
}

// A backend that keeps milliseconds must round an expiry up, not down: a
// record that lapses before expiresAt lets a replay through.
func replaySubMillisecond(t *testing.T, c ports.ReplayCache) {
	key, expiry := uniqueID("jti-"), epoch.Add(1234*time.Millisecond+600*time.Microsecond)
	require.True(t, remember(t, c, key, epoch, expiry))
	assert.False(t, remember(t, c, key, expiry.Add(-300*time.Microsecond), expiry.Add(time.Minute)), "300µs before the expiry")
	assert.True(t, remember(t, c, key, expiry.Add(time.Millisecond), expiry.Add(time.Minute)), "a millisecond after the expiry")
}

// raceRemember calls Remember with key from contenders goroutines at once,
// and returns how many got true; no call may fail.
func raceRemember(t *testing.T, c ports.ReplayCache, key func(i int) string, now, expiresAt time.Time) int {
	t.Helper()
	firsts := make([]bool, contenders)
	errs := make([]error, contenders)
	race(contenders, func(i int) { firsts[i], errs[i] = c.Remember(t.Context(), key(i), now, expiresAt) })
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "no call fails: %v", errs)
	n := 0
	for _, first := range firsts {
		if first {
			n++
		}
	}
	return n
}

func replayParallelFirstUse(t *testing.T, c ports.ReplayCache) {
	key := uniqueID("jti-")
	n := raceRemember(t, c, func(int) string { return key }, epoch, epoch.Add(time.Minute))
	assert.Equal(t, 1, n, "calls that got true")
	assert.False(t, remember(t, c, key, epoch, epoch.Add(time.Minute)), "a use after the race")
}

func replayParallelReuse(t *testing.T, c ports.ReplayCache) {
	key := uniqueID("jti-")
	require.True(t, remember(t, c, key, epoch, epoch.Add(time.Minute)))
	later := epoch.Add(time.Hour)
	n := raceRemember(t, c, func(int) string { return key }, later, later.Add(time.Minute))
	assert.Equal(t, 1, n, "calls that got true")
	assert.False(t, remember(t, c, key, later, later.Add(time.Minute)), "a use after the race")
}

func replayParallelKeys(t *testing.T, c ports.ReplayCache) {
	keys := make([]string, contenders)
	for i := range keys {
		keys[i] = uniqueID("jti-")
	}
	n := raceRemember(t, c, func(i int) string { return keys[i] }, epoch, epoch.Add(time.Minute))
	assert.Equal(t, contenders, n, "calls that got true")
}
