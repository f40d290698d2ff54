package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// IdentityProviderStore keeps the organizations' upstream identity
// providers in memory. The process holds them, so there is nothing to
// seal: ClientSecret is kept as given. Providers are copied in and out, so
// no caller shares a Scopes or Domains slice with the store.
type IdentityProviderStore struct {
	mu        sync.RWMutex
	providers map[string]domain.IdentityProvider
}

// NewIdentityProviderStore returns an empty identity provider store.
func NewIdentityProviderStore() *IdentityProviderStore {
	return &IdentityProviderStore{providers: make(map[string]domain.IdentityProvider)}
}

// cloneProvider returns p with slices of its own. A nil Scopes stays nil
// and an empty one empty: nil means the default scopes.
func cloneProvider(p domain.IdentityProvider) domain.IdentityProvider {
	p.Scopes = slices.Clone(p.Scopes)
	p.Domains = slices.Clone(p.Domains)
	return p
}

// CreateIdentityProvider stores a provider. ErrAlreadyExists if its id is
// taken.
func (s *IdentityProviderStore) CreateIdentityProvider(_ context.Context, p domain.IdentityProvider) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.providers[p.ID]; ok {
		return domain.ErrAlreadyExists
	}
	s.providers[p.ID] = cloneProvider(p)
	return nil
}

// GetIdentityProvider returns a copy of a provider. ErrNotFound if none.
func (s *IdentityProviderStore) GetIdentityProvider(_ context.Context, id string) (domain.IdentityProvider, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.providers[id]
	if !ok {
		return domain.IdentityProvider{}, domain.ErrNotFound
	}
	return cloneProvider(p), nil
}

// ListIdentityProviders returns copies of an organization's providers by
// CreatedAt, then id.
func (s *IdentityProviderStore) ListIdentityProviders(_ context.Context, organizationID string) ([]domain.IdentityProvider, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.IdentityProvider{}
	for _, p := range s.providers {
		if p.OrganizationID == organizationID {
			out = append(out, cloneProvider(p))
		}
	}
	slices.SortFunc(out, func(a, b domain.IdentityProvider) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// HasIdentityProviders reports whether any provider is stored.
func (s *IdentityProviderStore) HasIdentityProviders(context.Context) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.providers) > 0, nil
}

// UpdateIdentityProvider applies fn to a copy under the lock and keeps it
// if fn succeeds. The id is the key: fn cannot move the provider.
func (s *IdentityProviderStore) UpdateIdentityProvider(_ context.Context, id string, fn func(*domain.IdentityProvider) error) (domain.IdentityProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.providers[id]
	if !ok {
		return domain.IdentityProvider{}, domain.ErrNotFound
	}
	p = cloneProvider(p)
	if err := fn(&p); err != nil {
		return domain.IdentityProvider{}, err
	}
	p.ID = id
	s.providers[id] = cloneProvider(p)
	return cloneProvider(p), nil
}

// DeleteIdentityProvider removes a provider. ErrNotFound if none.
func (s *IdentityProviderStore) DeleteIdentityProvider(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.providers[id]; !ok {
		return domain.ErrNotFound
	}
	delete(s.providers, id)
	return nil
}

// LinkedIdentityStore keeps the upstream identities linked to accounts in
// memory, by (issuer, subject). A link is checked and made under one lock,
// so of racing links of one identity exactly one is made. Memory units
// cannot undo (see Units): a unit that fails after LinkIdentity keeps the
// link, as it keeps every other memory write.
type LinkedIdentityStore struct {
	mu    sync.RWMutex
	links map[identityKey]domain.LinkedIdentity
}

// identityKey names an upstream identity; a struct, so that no issuer and
// subject run together into another pair's key.
type identityKey struct{ issuer, subject string }

// NewLinkedIdentityStore returns an empty linked identity store.
func NewLinkedIdentityStore() *LinkedIdentityStore {
	return &LinkedIdentityStore{links: make(map[identityKey]domain.LinkedIdentity)}
}

// LinkIdentity records a link. ErrAlreadyExists if the identity is linked
// already, to any user.
func (s *LinkedIdentityStore) LinkIdentity(_ context.Context, l domain.LinkedIdentity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := identityKey{l.Issuer, l.Subject}
	if _, ok := s.links[k]; ok {
		return domain.ErrAlreadyExists
	}
	s.links[k] = l
	return nil
}

// GetLinkedIdentity returns the link of (issuer, subject). ErrNotFound if
// none.
func (s *LinkedIdentityStore) GetLinkedIdentity(_ context.Context, issuer, subject string) (domain.LinkedIdentity, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.links[identityKey{issuer, subject}]
	if !ok {
		return domain.LinkedIdentity{}, domain.ErrNotFound
	}
	return l, nil
}

// ListLinkedIdentities returns a user's links by CreatedAt, then issuer,
// then subject.
func (s *LinkedIdentityStore) ListLinkedIdentities(_ context.Context, userID string) ([]domain.LinkedIdentity, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.LinkedIdentity{}
	for _, l := range s.links {
		if l.UserID == userID {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b domain.LinkedIdentity) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.Issuer, b.Issuer), strings.Compare(a.Subject, b.Subject))
	})
	return out, nil
}

// UnlinkIdentity removes one link. ErrNotFound if none.
func (s *LinkedIdentityStore) UnlinkIdentity(_ context.Context, issuer, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := identityKey{issuer, subject}
	if _, ok := s.links[k]; !ok {
		return domain.ErrNotFound
	}
	delete(s.links, k)
	return nil
}

// DeleteUserIdentities removes every link of a user.
func (s *LinkedIdentityStore) DeleteUserIdentities(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.links {
		if l.UserID == userID {
			delete(s.links, k)
		}
	}
	return nil
}
