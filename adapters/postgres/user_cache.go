package postgres

import (
	"context"
	"sync"
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
	inv *Invalidations

	mu    sync.RWMutex
	users map[string]cachedUser
}

type cachedUser struct {
	u  domain.User
	at time.Time
}

// NewCachedUserStore caches store's reads by id under inv's notices.
func NewCachedUserStore(store *UserStore, inv *Invalidations) *CachedUserStore {
	s := &CachedUserStore{UserStore: store, inv: inv, users: make(map[string]cachedUser)}
	inv.Subscribe(s.invalidate)
	return s
}

func (s *CachedUserStore) invalidate(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		clear(s.users)
		return
	}
	if id, ok := cutKind(key, kindUser); ok {
		delete(s.users, id)
	}
}

// GetUser returns a user by id, from memory when the listener is healthy
// and the entry is younger than userCacheTTL.
func (s *CachedUserStore) GetUser(ctx context.Context, id string) (domain.User, error) {
	healthy, epoch := s.inv.Healthy(), s.inv.Epoch()
	if healthy {
		s.mu.RLock()
		e, ok := s.users[id]
		s.mu.RUnlock()
		if ok && time.Since(e.at) < userCacheTTL {
			return cloneUser(e.u), nil
		}
	}
	u, err := s.UserStore.GetUser(ctx, id)
	if err != nil || !healthy {
		return u, err
	}
	s.mu.Lock()
	// A notice that came while the row was read may be about this very
	// row: then what was read is not kept.
	if s.inv.Epoch() == epoch && s.inv.Healthy() {
		if len(s.users) >= maxCachedUsers {
			clear(s.users)
		}
		s.users[id] = cachedUser{u: cloneUser(u), at: time.Now()}
	}
	s.mu.Unlock()
	return u, nil
}

// UpdateUser writes through and forgets the user here at once; the
// trigger tells the other instances.
func (s *CachedUserStore) UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	u, err := s.UserStore.UpdateUser(ctx, id, fn)
	s.inv.Invalidate(cacheKey(kindUser, id))
	return u, err
}

// kindUser is the notice kind of a user row (migration 00022's trigger).
const kindUser = "user"

// cloneUser returns a copy of u that shares nothing with it.
func cloneUser(u domain.User) domain.User {
	u.Profiles = domain.CloneProfiles(u.Profiles)
	return u
}
