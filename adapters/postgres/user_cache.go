package postgres

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.UserStore = (*CachedUserStore)(nil)

// userCacheTTL bounds how long a cached user is served without a fresh
// read, as clientCacheTTL does for clients.
const userCacheTTL = 30 * time.Second

// maxCachedUsers bounds the cache; past it, the cache starts afresh.
const maxCachedUsers = 100_000

// CachedUserStore keeps, per instance, the users that introspection,
// userinfo and every token request read by id for their status and
// not-before time. A trigger on users (migration 00022) notifies every
// instance at commit of any write to a user row, by any store, so a
// suspension or a password reset takes effect on the other instances as
// soon as PostgreSQL delivers the notice (well under a second), and at
// once on an instance that changed the user through this store. While the
// listener is down the cache is bypassed. Users hold only password hashes.
type CachedUserStore struct {
	*UserStore
	cache *rowCache[domain.User]
}

// NewCachedUserStore caches store's reads by id under inv's notices.
func NewCachedUserStore(store *UserStore, inv *Invalidations) *CachedUserStore {
	return &CachedUserStore{UserStore: store, cache: newRowCache(inv, kindUser, userCacheTTL, maxCachedUsers, cloneUser)}
}

// GetUser returns a user by id, from memory when the listener is healthy
// and the entry is younger than userCacheTTL.
func (s *CachedUserStore) GetUser(ctx context.Context, id string) (domain.User, error) {
	return s.cache.get(ctx, id, s.UserStore.GetUser)
}

// UpdateUser writes through and forgets the user here at once; the
// trigger tells the other instances.
func (s *CachedUserStore) UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	u, err := s.UserStore.UpdateUser(ctx, id, fn)
	s.cache.forget(id)
	return u, err
}

// kindUser is the notice kind of a user row (migration 00022's trigger).
const kindUser = "user"

// cloneUser returns a copy of u that shares nothing with it.
func cloneUser(u domain.User) domain.User {
	u.Profiles = domain.CloneProfiles(u.Profiles)
	return u
}
