package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// ClientStore keeps OAuth clients in memory.
type ClientStore struct {
	mu      sync.RWMutex
	clients map[string]domain.Client
}

// NewClientStore returns an empty client store.
func NewClientStore() *ClientStore {
	return &ClientStore{clients: make(map[string]domain.Client)}
}

// CreateClient stores a new client. ErrAlreadyExists if the id is taken.
func (s *ClientStore) CreateClient(_ context.Context, c domain.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return domain.ErrAlreadyExists
	}
	s.clients[c.ID] = c.Clone()
	return nil
}

// GetClient returns a client by id. ErrNotFound if there is none.
func (s *ClientStore) GetClient(_ context.Context, id string) (domain.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	if !ok {
		return domain.Client{}, domain.ErrNotFound
	}
	return c.Clone(), nil
}

// UpdateClient applies fn to a copy under the lock and stores the copy only
// if fn succeeds, so a failed fn leaves nothing half-written.
func (s *ClientStore) UpdateClient(_ context.Context, id string, fn func(*domain.Client) error) (domain.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return domain.Client{}, domain.ErrNotFound
	}
	next := c.Clone()
	if err := fn(&next); err != nil {
		return domain.Client{}, err
	}
	next.ID = id // the id is the key; fn cannot move the record
	s.clients[id] = next.Clone()
	return next, nil
}

// DeleteClient removes a client. ErrNotFound if there is none.
func (s *ClientStore) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return domain.ErrNotFound
	}
	delete(s.clients, id)
	return nil
}

// ListClients returns up to limit clients ordered by id, after the id
// after, from one look under the lock.
func (s *ClientStore) ListClients(_ context.Context, after string, limit int) ([]domain.Client, error) {
	if limit <= 0 {
		return []domain.Client{}, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]domain.Client, 0, min(limit, len(s.clients)))
	for id, c := range s.clients {
		if id > after {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b domain.Client) int { return cmp.Compare(a.ID, b.ID) })
	out = out[:min(limit, len(out))]
	for i := range out {
		out[i] = out[i].Clone()
	}
	return out, nil
}
