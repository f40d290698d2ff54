package vault

import (
	"context"
	"sync"
	"time"
)

// batchKey is what one transit sign call shares: key_version applies to the
// whole batch_input.
type batchKey struct {
	alg     string
	name    string
	version int
}

// signed is the outcome of one signature: JWS signature bytes or an error.
type signed struct {
	sig []byte
	err error
}

// sendFunc signs digests in one transit call and returns one outcome per
// digest, in order; err fails them all.
type sendFunc func(ctx context.Context, k batchKey, digests [][]byte) ([]signed, error)

// batcher gathers concurrent signatures by the same key version into one
// transit call: a batch leaves when it holds max digests or window after its
// first one arrived, whichever comes first. With max 1 every signature is a
// call of its own, made in the caller's goroutine.
type batcher struct {
	max    int
	window time.Duration
	send   sendFunc // bounds each call by its own timeout

	mu      sync.Mutex
	pending map[batchKey]*batch
}

type batch struct {
	key     batchKey
	digests [][]byte
	waiters []chan signed
	timer   *time.Timer
}

func newBatcher(max int, window time.Duration, send sendFunc) *batcher {
	return &batcher{max: max, window: window, send: send, pending: map[batchKey]*batch{}}
}

// sign returns the signature of digest by k, waiting for its batch.
func (b *batcher) sign(ctx context.Context, k batchKey, digest []byte) ([]byte, error) {
	if b.max <= 1 {
		out, err := b.send(ctx, k, [][]byte{digest})
		if err != nil {
			return nil, err
		}
		return out[0].sig, out[0].err
	}
	ch := make(chan signed, 1)
	b.mu.Lock()
	bt := b.pending[k]
	if bt == nil {
		bt = &batch{key: k}
		b.pending[k] = bt
		bt.timer = time.AfterFunc(b.window, func() { b.flush(bt) })
	}
	bt.digests = append(bt.digests, digest)
	bt.waiters = append(bt.waiters, ch)
	full := len(bt.digests) >= b.max
	if full {
		delete(b.pending, k)
		bt.timer.Stop()
	}
	b.mu.Unlock()
	if full {
		go b.run(bt)
	}
	select {
	case out := <-ch:
		return out.sig, out.err
	case <-ctx.Done():
		// The batch still signs for the others; this result is dropped
		// into ch's buffer.
		return nil, ctx.Err()
	}
}

// flush sends bt when its window closes, unless it already left full.
func (b *batcher) flush(bt *batch) {
	b.mu.Lock()
	mine := b.pending[bt.key] == bt
	if mine {
		delete(b.pending, bt.key)
	}
	b.mu.Unlock()
	if mine {
		b.run(bt)
	}
}

// run makes bt's transit call and hands each waiter its outcome.
func (b *batcher) run(bt *batch) {
	// No single caller owns the batch, so none of their contexts bounds it.
	out, err := b.send(context.Background(), bt.key, bt.digests)
	for i, ch := range bt.waiters {
		switch {
		case err != nil:
			ch <- signed{err: err}
		default:
			ch <- out[i]
		}
	}
}
