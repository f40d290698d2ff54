package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// ClientGrantStore keeps client grants in memory. It reads the organization
// store to refuse grants on organizations that do not exist.
type ClientGrantStore struct {
	orgs   *OrganizationStore
	mu     sync.RWMutex
	grants map[string]map[string]domain.ClientGrant // client id -> organization id -> grant
}

// NewClientGrantStore returns an empty grant store over orgs.
func NewClientGrantStore(orgs *OrganizationStore) *ClientGrantStore {
	return &ClientGrantStore{orgs: orgs, grants: make(map[string]map[string]domain.ClientGrant)}
}

// PutClientGrant creates or replaces a grant, keeping CreatedAt.
func (s *ClientGrantStore) PutClientGrant(_ context.Context, g domain.ClientGrant) error {
	s.orgs.mu.RLock()
	defer s.orgs.mu.RUnlock()
	if _, ok := s.orgs.orgs[g.OrganizationID]; !ok {
		return domain.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byOrg := s.grants[g.ClientID]
	if byOrg == nil {
		byOrg = make(map[string]domain.ClientGrant)
		s.grants[g.ClientID] = byOrg
	}
	if old, ok := byOrg[g.OrganizationID]; ok {
		g.CreatedAt = old.CreatedAt
	}
	g.Actions = slices.Clone(g.Actions)
	byOrg[g.OrganizationID] = g
	return nil
}

// DeleteClientGrant removes a grant. ErrNotFound if there is none.
func (s *ClientGrantStore) DeleteClientGrant(_ context.Context, clientID, organizationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.grants[clientID][organizationID]; !ok {
		return domain.ErrNotFound
	}
	delete(s.grants[clientID], organizationID)
	return nil
}

// ListClientGrants returns a client's grants ordered by organization id.
func (s *ClientGrantStore) ListClientGrants(_ context.Context, clientID string) ([]domain.ClientGrant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.grants[clientID], func(a, b domain.ClientGrant) int {
		return cmp.Compare(a.OrganizationID, b.OrganizationID)
	}), nil
}

// ListOrganizationGrants returns the grants on an organization ordered by
// client id. Memory keeps no index by organization: it looks at every
// client's grants.
func (s *ClientGrantStore) ListOrganizationGrants(_ context.Context, organizationID string) ([]domain.ClientGrant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.ClientGrant{}
	for _, byOrg := range s.grants {
		if g, ok := byOrg[organizationID]; ok {
			g.Actions = slices.Clone(g.Actions)
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b domain.ClientGrant) int { return cmp.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

// RoleStore keeps organizations' stored roles in memory.
type RoleStore struct {
	orgs  *OrganizationStore
	mu    sync.RWMutex
	roles map[string]map[string]domain.Role // organization id -> name -> role
}

// NewRoleStore returns an empty role store over orgs.
func NewRoleStore(orgs *OrganizationStore) *RoleStore {
	return &RoleStore{orgs: orgs, roles: make(map[string]map[string]domain.Role)}
}

// PutRole creates or replaces a role, keeping CreatedAt.
func (s *RoleStore) PutRole(_ context.Context, r domain.Role) error {
	s.orgs.mu.RLock()
	defer s.orgs.mu.RUnlock()
	if _, ok := s.orgs.orgs[r.OrganizationID]; !ok {
		return domain.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byName := s.roles[r.OrganizationID]
	if byName == nil {
		byName = make(map[string]domain.Role)
		s.roles[r.OrganizationID] = byName
	}
	if old, ok := byName[r.Name]; ok {
		r.CreatedAt = old.CreatedAt
	}
	r.Permissions = slices.Clone(r.Permissions)
	byName[r.Name] = r
	return nil
}

// GetRole returns a stored role. ErrNotFound if there is none.
func (s *RoleStore) GetRole(_ context.Context, organizationID, name string) (domain.Role, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.roles[organizationID][name]
	if !ok {
		return domain.Role{}, domain.ErrNotFound
	}
	return r, nil
}

// DeleteRole removes a stored role. ErrNotFound if there is none.
func (s *RoleStore) DeleteRole(_ context.Context, organizationID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[organizationID][name]; !ok {
		return domain.ErrNotFound
	}
	delete(s.roles[organizationID], name)
	return nil
}

// ListRoles returns an organization's stored roles ordered by name.
func (s *RoleStore) ListRoles(_ context.Context, organizationID string) ([]domain.Role, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.roles[organizationID], func(a, b domain.Role) int { return cmp.Compare(a.Name, b.Name) }), nil
}

func sortedValues[K comparable, V any](m map[K]V, by func(a, b V) int) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, by)
	return out
}

// AdminKeyStore keeps administration keys in memory, by hash.
type AdminKeyStore struct {
	mu   sync.RWMutex
	keys map[string]domain.AdminKey // string(hash) -> key
}

// NewAdminKeyStore returns an empty admin key store.
func NewAdminKeyStore() *AdminKeyStore {
	return &AdminKeyStore{keys: make(map[string]domain.AdminKey)}
}

// CreateAdminKey stores a key. ErrAlreadyExists if the id or hash is taken.
func (s *AdminKeyStore) CreateAdminKey(_ context.Context, k domain.AdminKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[string(k.Hash)]; ok {
		return domain.ErrAlreadyExists
	}
	for _, other := range s.keys {
		if other.ID == k.ID {
			return domain.ErrAlreadyExists
		}
	}
	k.Hash = slices.Clone(k.Hash)
	s.keys[string(k.Hash)] = k
	return nil
}

// GetAdminKey returns the key with this hash. ErrNotFound if there is none.
func (s *AdminKeyStore) GetAdminKey(_ context.Context, hash []byte) (domain.AdminKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[string(hash)]
	if !ok {
		return domain.AdminKey{}, domain.ErrNotFound
	}
	return k, nil
}

// ActionTokenStore keeps emailed single-use links in memory. Expired tokens
// are swept on writes, as sessions are.
type ActionTokenStore struct {
	mu     sync.Mutex
	clock  horizon
	tokens map[string]domain.ActionToken
	expiry *expiryQueue[string]
}

// NewActionTokenStore returns an empty action token store.
func NewActionTokenStore() *ActionTokenStore {
	return &ActionTokenStore{tokens: make(map[string]domain.ActionToken), expiry: newExpiryQueue[string]()}
}

// CreateActionToken stores a token. ErrAlreadyExists if the hash is taken.
func (s *ActionTokenStore) CreateActionToken(_ context.Context, t domain.ActionToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(t.CreatedAt)
	key := string(t.Hash)
	if _, ok := s.tokens[key]; ok {
		return domain.ErrAlreadyExists
	}
	t.Hash = slices.Clone(t.Hash)
	s.tokens[key] = t
	s.expiry.set(key, t.ExpiresAt)
	return nil
}

// ConsumeActionToken deletes and returns a live token of this purpose.
func (s *ActionTokenStore) ConsumeActionToken(_ context.Context, hash []byte, purpose domain.ActionPurpose, now time.Time) (domain.ActionToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	key := string(hash)
	t, ok := s.tokens[key]
	if !ok || t.Purpose != purpose || !now.Before(t.ExpiresAt) {
		return domain.ActionToken{}, domain.ErrNotFound
	}
	delete(s.tokens, key)
	s.expiry.remove(key)
	return t, nil
}

func (s *ActionTokenStore) sweep(times ...time.Time) {
	s.expiry.sweep(s.clock.observe(times...), func(key string) { delete(s.tokens, key) })
}
