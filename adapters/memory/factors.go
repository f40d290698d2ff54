package memory

import (
	"context"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// FactorStore keeps users' second factors in memory. The process holds
// them, so there is nothing to seal.
type FactorStore struct {
	mu      sync.Mutex
	factors map[string]domain.Factors
}

// NewFactorStore returns an empty factor store.
func NewFactorStore() *FactorStore {
	return &FactorStore{factors: make(map[string]domain.Factors)}
}

// GetFactors returns a copy of a user's factors; empty if none.
func (s *FactorStore) GetFactors(_ context.Context, userID string) (domain.Factors, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.factors[userID]
	if !ok {
		return domain.Factors{UserID: userID}, nil
	}
	return f.Clone(), nil
}

// UpdateFactors applies fn to a copy under the lock and keeps it if fn
// succeeds, so updates of one user apply one after the other.
func (s *FactorStore) UpdateFactors(_ context.Context, userID string, fn func(*domain.Factors) error) (domain.Factors, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.factors[userID]
	if ok {
		f = f.Clone()
	} else {
		f = domain.Factors{UserID: userID}
	}
	if err := fn(&f); err != nil {
		return domain.Factors{}, err
	}
	f.UserID = userID
	s.factors[userID] = f.Clone()
	return f, nil
}

// DeleteFactors removes a user's factors.
func (s *FactorStore) DeleteFactors(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.factors, userID)
	return nil
}
