package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.DomainStore = (*DomainStore)(nil)

// DomainStore keeps verified domains in memory, checking organizations in
// the organization store it was made with.
type DomainStore struct {
	orgs    *OrganizationStore
	mu      sync.RWMutex
	domains map[string]domain.VerifiedDomain // by domain name
}

// NewDomainStore returns an empty domain store over orgs.
func NewDomainStore(orgs *OrganizationStore) *DomainStore {
	return &DomainStore{orgs: orgs, domains: make(map[string]domain.VerifiedDomain)}
}

// PutDomain records a verified domain; see ports.DomainStore.
func (s *DomainStore) PutDomain(_ context.Context, d domain.VerifiedDomain) (domain.VerifiedDomain, error) {
	s.orgs.mu.RLock()
	defer s.orgs.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs.orgs[d.OrganizationID]; !ok {
		return domain.VerifiedDomain{}, domain.ErrNotFound
	}
	if old, ok := s.domains[d.Domain]; ok {
		if old.OrganizationID != d.OrganizationID {
			return domain.VerifiedDomain{}, domain.ErrAlreadyExists
		}
		d.CreatedAt = old.CreatedAt
	}
	s.domains[d.Domain] = d
	return d, nil
}

// GetDomain returns a verified domain. ErrNotFound if none.
func (s *DomainStore) GetDomain(_ context.Context, name string) (domain.VerifiedDomain, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.domains[name]
	if !ok {
		return domain.VerifiedDomain{}, domain.ErrNotFound
	}
	return d, nil
}

// ListDomains returns an organization's domains by name.
func (s *DomainStore) ListDomains(_ context.Context, organizationID string) ([]domain.VerifiedDomain, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.VerifiedDomain{}
	for _, d := range s.domains {
		if d.OrganizationID == organizationID {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b domain.VerifiedDomain) int { return cmp.Compare(a.Domain, b.Domain) })
	return out, nil
}

// DeleteDomain removes one of an organization's domains. ErrNotFound if it
// has no such domain.
func (s *DomainStore) DeleteDomain(_ context.Context, organizationID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.domains[name]; !ok || d.OrganizationID != organizationID {
		return domain.ErrNotFound
	}
	delete(s.domains, name)
	return nil
}
