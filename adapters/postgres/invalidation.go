package postgres

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// invalidationChannel is the LISTEN/NOTIFY channel on which a write tells
// every instance which cached rows it changed. The payload is
// "<kind>:<key>", as cacheKey makes it.
const invalidationChannel = "calimatic_invalidate"

// notifyInvalidation queues, in the transaction tx, the notice that the
// cached row key changed. PostgreSQL delivers it when tx commits, and
// never if it rolls back.
func notifyInvalidation(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify('`+invalidationChannel+`', $1)`, key)
	return err
}

// cacheKey names a cached row in notices: kind and id.
func cacheKey(kind, id string) string { return kind + ":" + id }

// Invalidations listens for the notices of every instance's writes
// (notifyInvalidation) on a connection of its own, and hands them to the
// caches subscribed. A cache may serve from memory only while the listener
// is healthy: LISTEN is in place and no notice can have been missed. When
// the connection drops, every cache is cleared and bypassed until LISTEN is
// back, so nothing stale is served across the gap.
type Invalidations struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	healthy atomic.Bool
	// epoch counts clears and notices: a cache stores a row it read only
	// if no notice came between the read and the store.
	epoch atomic.Uint64

	mu   sync.Mutex
	subs []func(key string) // key "" clears everything

	cancel context.CancelFunc
	done   chan struct{}
}

// NewInvalidations returns a listener on pool; Start runs it.
func NewInvalidations(pool *pgxpool.Pool, log *slog.Logger) *Invalidations {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Invalidations{pool: pool, log: log}
}

// Healthy reports whether caches may serve from memory.
func (v *Invalidations) Healthy() bool { return v.healthy.Load() }

// Epoch is the current invalidation epoch (see epoch).
func (v *Invalidations) Epoch() uint64 { return v.epoch.Load() }

// Subscribe adds fn, called with each notice's key, and with "" when
// everything must go.
func (v *Invalidations) Subscribe(fn func(key string)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.subs = append(v.subs, fn)
}

// Invalidate applies a notice at once on this instance: the writer's own
// instance does not wait for its notice to come back.
func (v *Invalidations) Invalidate(key string) {
	v.epoch.Add(1)
	v.mu.Lock()
	subs := v.subs
	v.mu.Unlock()
	for _, fn := range subs {
		fn(key)
	}
}

// Start listens in the background until Stop.
func (v *Invalidations) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel, v.done = cancel, make(chan struct{})
	go func() {
		defer close(v.done)
		v.run(ctx)
	}()
}

// Stop ends the listener and waits for it.
func (v *Invalidations) Stop(context.Context) error {
	if v.cancel == nil {
		return nil
	}
	v.cancel()
	<-v.done
	return nil
}

// listenRetry is how long the listener waits before it connects again.
const listenRetry = 500 * time.Millisecond

func (v *Invalidations) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := v.listen(ctx)
		v.healthy.Store(false)
		v.Invalidate("") // whatever came meanwhile was missed
		if ctx.Err() != nil {
			return
		}
		v.log.Warn("cache invalidation listener lost its connection; caches are bypassed until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(listenRetry):
		}
	}
}

// listen holds one LISTEN connection until it fails or ctx ends.
func (v *Invalidations) listen(ctx context.Context) error {
	pc, err := v.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // a LISTENing connection must not go back to the pool
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+invalidationChannel); err != nil {
		return err
	}
	// Anything cached before LISTEN may have missed a notice.
	v.Invalidate("")
	v.healthy.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		v.Invalidate(strings.TrimSpace(n.Payload))
	}
}
