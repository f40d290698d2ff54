package memory

import (
	"context"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// DeviceGrantStore keeps device authorization grants by the hash of their
// device code, with an index by the hash of their user code. One lock
// makes every update a read-modify-write no other call can interleave.
type DeviceGrantStore struct {
	mu         sync.Mutex
	clock      horizon
	byDevice   map[string]domain.DeviceGrant
	byUserCode map[string]string // user code hash -> device code hash
	expiry     *expiryQueue[string]
}

// NewDeviceGrantStore returns an empty device grant store.
func NewDeviceGrantStore() *DeviceGrantStore {
	return &DeviceGrantStore{
		byDevice:   make(map[string]domain.DeviceGrant),
		byUserCode: make(map[string]string),
		expiry:     newExpiryQueue[string](),
	}
}

// CreateDeviceGrant stores a grant. ErrAlreadyExists if either hash is taken.
func (s *DeviceGrantStore) CreateDeviceGrant(_ context.Context, g domain.DeviceGrant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(g.CreatedAt)
	key := string(g.DeviceCodeHash)
	if _, ok := s.byDevice[key]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := s.byUserCode[string(g.UserCodeHash)]; ok {
		return domain.ErrAlreadyExists
	}
	s.byDevice[key] = domain.CloneDeviceGrant(g)
	s.byUserCode[string(g.UserCodeHash)] = key
	s.expiry.set(key, g.ExpiresAt)
	return nil
}

// GetDeviceGrant returns the grant unless it expired at now.
func (s *DeviceGrantStore) GetDeviceGrant(_ context.Context, deviceCodeHash []byte, now time.Time) (domain.DeviceGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live(string(deviceCodeHash), now)
}

// GetDeviceGrantByUserCode returns the grant unless it expired at now.
func (s *DeviceGrantStore) GetDeviceGrantByUserCode(_ context.Context, userCodeHash []byte, now time.Time) (domain.DeviceGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.byUserCode[string(userCodeHash)]
	if !ok {
		return domain.DeviceGrant{}, domain.ErrNotFound
	}
	return s.live(key, now)
}

func (s *DeviceGrantStore) live(key string, now time.Time) (domain.DeviceGrant, error) {
	g, ok := s.byDevice[key]
	if !ok || !now.Before(g.ExpiresAt) {
		return domain.DeviceGrant{}, domain.ErrNotFound
	}
	return domain.CloneDeviceGrant(g), nil
}

// UpdateDeviceGrant applies fn to a copy under the lock and stores the
// result, keeping the keys and the expiry.
func (s *DeviceGrantStore) UpdateDeviceGrant(_ context.Context, deviceCodeHash []byte, fn func(*domain.DeviceGrant) error) (domain.DeviceGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := string(deviceCodeHash)
	old, ok := s.byDevice[key]
	if !ok {
		return domain.DeviceGrant{}, domain.ErrNotFound
	}
	g := domain.CloneDeviceGrant(old)
	if err := fn(&g); err != nil {
		return domain.DeviceGrant{}, err
	}
	g.DeviceCodeHash, g.UserCodeHash, g.ExpiresAt = old.DeviceCodeHash, old.UserCodeHash, old.ExpiresAt
	s.byDevice[key] = domain.CloneDeviceGrant(g)
	return g, nil
}

func (s *DeviceGrantStore) sweep(times ...time.Time) {
	s.expiry.sweep(s.clock.observe(times...), func(key string) {
		if g, ok := s.byDevice[key]; ok {
			delete(s.byUserCode, string(g.UserCodeHash))
			delete(s.byDevice, key)
		}
	})
}
