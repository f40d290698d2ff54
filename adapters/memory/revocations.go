package memory

import (
	"context"
	"sync"
	"time"
)

// revocations remembers revoked access-token ids and grant ids until the
// tokens they cover expire. The expiry queues are the sets themselves.
//
// Its methods carry no current time, so it sweeps against the horizon the
// other parts of GrantStore advance: the time of the latest code, rotation
// or family revocation.
type revocations struct {
	mu     sync.RWMutex
	clock  *horizon
	jtis   *expiryQueue[string]
	grants *expiryQueue[string]
}

func newRevocations(h *horizon) *revocations {
	return &revocations{clock: h, jtis: newExpiryQueue[string](), grants: newExpiryQueue[string]()}
}

// RevokeAccessToken records jti as revoked until expiresAt. Revoking again
// keeps the later expiry.
func (s *revocations) RevokeAccessToken(_ context.Context, jti string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	extend(s.jtis, jti, expiresAt)
	return nil
}

// RevokeGrant records every access token of grantID as revoked until
// expiresAt. Revoking again keeps the later expiry.
func (s *revocations) RevokeGrant(_ context.Context, grantID string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	extend(s.grants, grantID, expiresAt)
	return nil
}

// IsRevoked reports whether jti, or grantID when it is not empty, is revoked.
func (s *revocations) IsRevoked(_ context.Context, jti, grantID string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.jtis.get(jti); ok {
		return true, nil
	}
	if grantID == "" {
		return false, nil
	}
	_, ok := s.grants.get(grantID)
	return ok, nil
}

func (s *revocations) sweep() {
	cutoff := s.clock.observe()
	drop := func(string) {} // the queue is the set: popping deletes
	s.jtis.sweep(cutoff, drop)
	s.grants.sweep(cutoff, drop)
}

// extend schedules key to expire at at, unless it already lasts longer.
func extend(q *expiryQueue[string], key string, at time.Time) {
	if old, ok := q.get(key); ok && !at.After(old) {
		return
	}
	q.set(key, at)
}
