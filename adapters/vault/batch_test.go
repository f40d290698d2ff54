package vault

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTransit records the batches it is sent and "signs" each digest by
// echoing it, so every waiter can tell its own result.
type fakeTransit struct {
	mu      sync.Mutex
	batches [][][]byte
	keys    []batchKey
	err     error
	release chan struct{} // if set, each call waits for it
}

func (f *fakeTransit) send(_ context.Context, k batchKey, digests [][]byte) ([]signed, error) {
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	f.batches = append(f.batches, digests)
	f.keys = append(f.keys, k)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := make([]signed, len(digests))
	for i, d := range digests {
		out[i] = signed{sig: append([]byte("sig:"), d...)}
	}
	return out, nil
}

func (f *fakeTransit) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.batches)
}

// signAll signs n distinct digests concurrently with k and checks that each
// caller got the signature of its own digest.
func signAll(t *testing.T, b *batcher, k batchKey, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			digest := []byte{byte(i), byte(i >> 8)}
			sig, err := b.sign(context.Background(), k, digest)
			if assert.NoError(t, err) {
				assert.Equal(t, append([]byte("sig:"), digest...), sig)
			}
		})
	}
	wg.Wait()
}

var es = batchKey{alg: "ES256", name: "k", version: 3}

func TestConcurrentSignsWithinTheWindowShareOneCall(t *testing.T) {
	f := &fakeTransit{}
	b := newBatcher(64, 200*time.Millisecond, f.send)
	signAll(t, b, es, 40)
	assert.Equal(t, 1, f.calls())
	assert.Len(t, f.batches[0], 40)
	assert.Equal(t, es, f.keys[0])
}

func TestAFullBatchLeavesWithoutWaitingForTheWindow(t *testing.T) {
	f := &fakeTransit{}
	b := newBatcher(8, time.Hour, f.send)
	done := make(chan struct{})
	go func() {
		defer close(done)
		signAll(t, b, es, 24)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("full batches waited for the window")
	}
	assert.Equal(t, 3, f.calls())
	for _, batch := range f.batches {
		assert.Len(t, batch, 8)
	}
}

func TestSignsByDifferentKeyVersionsGoInDifferentCalls(t *testing.T) {
	f := &fakeTransit{}
	b := newBatcher(64, 50*time.Millisecond, f.send)
	other := es
	other.version = 4
	var wg sync.WaitGroup
	wg.Go(func() { signAll(t, b, es, 5) })
	wg.Go(func() { signAll(t, b, other, 5) })
	wg.Wait()
	require.Equal(t, 2, f.calls())
	assert.ElementsMatch(t, []batchKey{es, other}, f.keys)
}

func TestAFailedCallFailsEverySignInTheBatch(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeTransit{err: boom}
	b := newBatcher(64, 20*time.Millisecond, f.send)
	var failed atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := b.sign(context.Background(), es, []byte{1}); errors.Is(err, boom) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(10), failed.Load())
}

func TestUnbatchedModeMakesOneCallPerSign(t *testing.T) {
	f := &fakeTransit{}
	b := newBatcher(1, time.Hour, f.send)
	signAll(t, b, es, 20)
	assert.Equal(t, 20, f.calls())
}

func TestACallerThatGivesUpLeavesTheRestOfItsBatchSigning(t *testing.T) {
	f := &fakeTransit{release: make(chan struct{})}
	b := newBatcher(3, time.Hour, f.send)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := b.sign(ctx, es, []byte{1})
		gaveUp <- err
	}()
	cancel()
	require.ErrorIs(t, <-gaveUp, context.Canceled)
	// The batch fills and leaves, and its call stays blocked until release.
	var wg sync.WaitGroup
	wg.Go(func() { signAll(t, b, es, 2) })
	close(f.release)
	wg.Wait()
	require.Equal(t, 1, f.calls())
	assert.Len(t, f.batches[0], 3, "the abandoned signature was still part of the batch")
}
