package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ClientStore = (*CachedClientStore)(nil)

// clientCacheTTL bounds how long a cached client is served without a
// fresh read, should a notice ever be lost in a way the listener cannot
// see: the safety net under LISTEN/NOTIFY.
const clientCacheTTL = 30 * time.Second

// maxCachedClients bounds the cache; past it, the cache starts afresh.
const maxCachedClients = 10_000

// CachedClientStore keeps the clients the token, introspection and
// userinfo paths read on every request in memory, per instance. A write on
// any instance notifies every other (Invalidations) in its transaction, so
// a change takes effect at once on the instance that made it and on the
// others as soon as PostgreSQL delivers the notice (well under a second).
// While the listener is down the cache is bypassed. Clients hold only
// hashes of their secrets, so the cache holds no plaintext secret.
type CachedClientStore struct {
	*ClientStore
	inv *Invalidations

	mu      sync.RWMutex
	clients map[string]cachedClient
}

type cachedClient struct {
	c  domain.Client
	at time.Time
}

// NewCachedClientStore caches store's reads under inv's notices.
func NewCachedClientStore(store *ClientStore, inv *Invalidations) *CachedClientStore {
	s := &CachedClientStore{ClientStore: store, inv: inv, clients: make(map[string]cachedClient)}
	store.notify = true
	inv.Subscribe(s.invalidate)
	return s
}

func (s *CachedClientStore) invalidate(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		clear(s.clients)
		return
	}
	if id, ok := cutKind(key, kindClient); ok {
		delete(s.clients, id)
	}
}

// GetClient returns a client by id, from memory when the listener is
// healthy and the entry is younger than clientCacheTTL.
func (s *CachedClientStore) GetClient(ctx context.Context, id string) (domain.Client, error) {
	healthy, epoch := s.inv.Healthy(), s.inv.Epoch()
	if healthy {
		s.mu.RLock()
		e, ok := s.clients[id]
		s.mu.RUnlock()
		if ok && time.Since(e.at) < clientCacheTTL {
			return e.c.Clone(), nil
		}
	}
	c, err := s.ClientStore.GetClient(ctx, id)
	if err != nil || !healthy {
		return c, err
	}
	s.mu.Lock()
	// A notice that came while the row was read may be about this very
	// row: then what was read is not kept.
	if s.inv.Epoch() == epoch && s.inv.Healthy() {
		if len(s.clients) >= maxCachedClients {
			clear(s.clients)
		}
		s.clients[id] = cachedClient{c: c.Clone(), at: time.Now()}
	}
	s.mu.Unlock()
	return c, nil
}

// UpdateClient writes through and forgets the client here at once.
func (s *CachedClientStore) UpdateClient(ctx context.Context, id string, fn func(*domain.Client) error) (domain.Client, error) {
	c, err := s.ClientStore.UpdateClient(ctx, id, fn)
	s.inv.Invalidate(cacheKey(kindClient, id))
	return c, err
}

// DeleteClient deletes and forgets the client here at once.
func (s *CachedClientStore) DeleteClient(ctx context.Context, id string) error {
	err := s.ClientStore.DeleteClient(ctx, id)
	s.inv.Invalidate(cacheKey(kindClient, id))
	return err
}

// kindClient is the notice kind of a client row.
const kindClient = "client"

func cutKind(key, kind string) (string, bool) {
	if len(key) > len(kind)+1 && key[:len(kind)] == kind && key[len(kind)] == ':' {
		return key[len(kind)+1:], true
	}
	return "", false
}
