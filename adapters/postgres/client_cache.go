package postgres

import (
	"context"
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
	cache *rowCache[domain.Client]
}

// NewCachedClientStore caches store's reads under inv's notices.
func NewCachedClientStore(store *ClientStore, inv *Invalidations) *CachedClientStore {
	store.notify = true
	return &CachedClientStore{ClientStore: store,
		cache: newRowCache(inv, kindClient, clientCacheTTL, maxCachedClients, domain.Client.Clone)}
}

// GetClient returns a client by id, from memory when the listener is
// healthy and the entry is younger than clientCacheTTL.
func (s *CachedClientStore) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return s.cache.get(ctx, id, s.ClientStore.GetClient)
}

// UpdateClient writes through and forgets the client here at once.
func (s *CachedClientStore) UpdateClient(ctx context.Context, id string, fn func(*domain.Client) error) (domain.Client, error) {
	c, err := s.ClientStore.UpdateClient(ctx, id, fn)
	s.cache.forget(id)
	return c, err
}

// DeleteClient deletes and forgets the client here at once.
func (s *CachedClientStore) DeleteClient(ctx context.Context, id string) error {
	err := s.ClientStore.DeleteClient(ctx, id)
	s.cache.forget(id)
	return err
}

// kindClient is the notice kind of a client row.
const kindClient = "client"
