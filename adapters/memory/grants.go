package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// GrantStore keeps authorization codes, refresh-token families, revocations
// and consents in memory. Each of the four parts has its own lock, because no
// port method touches two of them; they share one horizon, because they share
// the caller's clock.
type GrantStore struct {
	*authCodes
	*refreshTokens
	*revocations
	*consents
}

// NewGrantStore returns an empty grant store.
func NewGrantStore() *GrantStore {
	h := &horizon{}
	return &GrantStore{
		authCodes:     newAuthCodes(h),
		refreshTokens: newRefreshTokens(h),
		revocations:   newRevocations(h),
		consents:      newConsents(),
	}
}

// authCodes keeps authorization codes by hash until they expire.
type authCodes struct {
	mu     sync.Mutex
	clock  *horizon
	byHash map[string]domain.AuthCode
	expiry *expiryQueue[string]
}

func newAuthCodes(h *horizon) *authCodes {
	return &authCodes{clock: h, byHash: make(map[string]domain.AuthCode), expiry: newExpiryQueue[string]()}
}

// CreateAuthCode stores a code. ErrAlreadyExists if the hash is taken.
func (s *authCodes) CreateAuthCode(_ context.Context, c domain.AuthCode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(c.CreatedAt)
	key := string(c.Hash)
	if _, ok := s.byHash[key]; ok {
		return domain.ErrAlreadyExists
	}
	s.byHash[key] = cloneAuthCode(c)
	s.expiry.set(key, c.ExpiresAt)
	return nil
}

// RedeemAuthCode marks the code redeemed at now, under the lock, so of
// concurrent calls exactly one succeeds. RFC 6749 §4.1.2: codes are single
// use; a redeemed code is kept until it expires so a replay is recognised.
func (s *authCodes) RedeemAuthCode(_ context.Context, hash []byte, clientID string, now time.Time) (domain.AuthCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	c, ok := s.byHash[string(hash)]
	if !ok || !now.Before(c.ExpiresAt) || c.ClientID != clientID {
		return domain.AuthCode{}, domain.ErrNotFound
	}
	if !c.RedeemedAt.IsZero() {
		return cloneAuthCode(c), domain.ErrAlreadyUsed
	}
	c.RedeemedAt = now
	s.byHash[string(hash)] = c
	return cloneAuthCode(c), nil
}

func (s *authCodes) sweep(times ...time.Time) {
	s.expiry.sweep(s.clock.observe(times...), func(key string) { delete(s.byHash, key) })
}

func cloneAuthCode(c domain.AuthCode) domain.AuthCode {
	c.Hash = slices.Clone(c.Hash)
	c.Scopes = slices.Clone(c.Scopes)
	c.AMR = slices.Clone(c.AMR)
	return c
}
