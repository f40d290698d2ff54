package memory

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

type consentKey struct{ userID, clientID string }

// consents keeps the scopes users granted clients, with an index by user so
// that listing a user's consents reads only theirs. Consents do not expire,
// so they grow with users times clients and need no sweep.
type consents struct {
	mu     sync.RWMutex
	byKey  map[consentKey]domain.Consent
	byUser map[string]map[string]struct{} // user id -> client ids
}

func newConsents() *consents {
	return &consents{byKey: make(map[consentKey]domain.Consent), byUser: make(map[string]map[string]struct{})}
}

// GetConsent returns the consent of user for client. ErrNotFound if none.
func (s *consents) GetConsent(_ context.Context, userID, clientID string) (domain.Consent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byKey[consentKey{userID, clientID}]
	if !ok {
		return domain.Consent{}, domain.ErrNotFound
	}
	return cloneConsent(c), nil
}

// PutConsent creates the consent or adds c's scopes to the stored one,
// keeping the first CreatedAt and taking c's UpdatedAt.
func (s *consents) PutConsent(_ context.Context, c domain.Consent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := consentKey{c.UserID, c.ClientID}
	merged, ok := s.byKey[key]
	if !ok {
		merged = c
		merged.Scopes = nil
	}
	merged.Scopes = union(merged.Scopes, c.Scopes)
	merged.UpdatedAt = c.UpdatedAt
	s.byKey[key] = merged
	if s.byUser[c.UserID] == nil {
		s.byUser[c.UserID] = make(map[string]struct{})
	}
	s.byUser[c.UserID][c.ClientID] = struct{}{}
	return nil
}

// DeleteConsent removes a consent. ErrNotFound if there is none.
func (s *consents) DeleteConsent(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := consentKey{userID, clientID}
	if _, ok := s.byKey[key]; !ok {
		return domain.ErrNotFound
	}
	delete(s.byKey, key)
	delete(s.byUser[userID], clientID)
	if len(s.byUser[userID]) == 0 {
		delete(s.byUser, userID)
	}
	return nil
}

// ListUserConsents returns the user's consents ordered by client id, at
// most ports.MaxUserConsents.
func (s *consents) ListUserConsents(_ context.Context, userID string) ([]domain.Consent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	clients := slices.Sorted(maps.Keys(s.byUser[userID]))
	out := make([]domain.Consent, 0, min(len(clients), ports.MaxUserConsents))
	for _, clientID := range clients[:min(len(clients), ports.MaxUserConsents)] {
		out = append(out, cloneConsent(s.byKey[consentKey{userID, clientID}]))
	}
	return out, nil
}

// union returns a fresh slice holding have, then each scope of add not yet in it.
func union(have, add []string) []string {
	out := slices.Clone(have)
	for _, s := range add {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func cloneConsent(c domain.Consent) domain.Consent {
	c.Scopes = slices.Clone(c.Scopes)
	return c
}
