package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// OrganizationStore keeps organizations and memberships in memory.
type OrganizationStore struct {
	mu     sync.RWMutex
	orgs   map[string]domain.Organization
	bySlug map[string]string // slug -> organization id
	// members maps user id -> organization id -> membership, because every
	// read asks for one user's memberships.
	members map[string]map[string]domain.Membership
	// byOrg maps organization id -> its members' user ids, so that an
	// organization's listing and searches read only its own members.
	byOrg map[string]map[string]struct{}
	// names maps organization id -> domain.UserNameKey -> user id, for the
	// members that have a user name.
	names map[string]map[string]string
	groups
}

// nameTaken reports whether another member of m's organization has m's
// user name; the caller holds mu.
func (s *OrganizationStore) nameTaken(m domain.Membership) bool {
	if m.UserName == "" {
		return false
	}
	owner, ok := s.names[m.OrganizationID][domain.UserNameKey(m.UserName)]
	return ok && owner != m.UserID
}

// setMember stores a membership in every index; the caller holds mu and
// has checked nameTaken.
func (s *OrganizationStore) setMember(m domain.Membership) {
	if old, ok := s.members[m.UserID][m.OrganizationID]; ok && old.UserName != "" {
		delete(s.names[m.OrganizationID], domain.UserNameKey(old.UserName))
	}
	if m.UserName != "" {
		byName := s.names[m.OrganizationID]
		if byName == nil {
			byName = make(map[string]string)
			s.names[m.OrganizationID] = byName
		}
		byName[domain.UserNameKey(m.UserName)] = m.UserID
	}
	byUser := s.members[m.UserID]
	if byUser == nil {
		byUser = make(map[string]domain.Membership)
		s.members[m.UserID] = byUser
	}
	byUser[m.OrganizationID] = m
	ids := s.byOrg[m.OrganizationID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.byOrg[m.OrganizationID] = ids
	}
	ids[m.UserID] = struct{}{}
}

// dropMember removes a membership from every index; the caller holds mu.
func (s *OrganizationStore) dropMember(organizationID, userID string) {
	if old, ok := s.members[userID][organizationID]; ok && old.UserName != "" {
		delete(s.names[organizationID], domain.UserNameKey(old.UserName))
		if len(s.names[organizationID]) == 0 {
			delete(s.names, organizationID)
		}
	}
	s.leaveGroups(organizationID, userID)
	delete(s.members[userID], organizationID)
	if len(s.members[userID]) == 0 {
		delete(s.members, userID)
	}
	delete(s.byOrg[organizationID], userID)
	if len(s.byOrg[organizationID]) == 0 {
		delete(s.byOrg, organizationID)
	}
}

// dropUser removes every membership of a user; the caller holds mu.
func (s *OrganizationStore) dropUser(userID string) {
	for orgID := range s.members[userID] {
		s.dropMember(orgID, userID)
	}
}

// NewOrganizationStore returns an empty organization store.
func NewOrganizationStore() *OrganizationStore {
	return &OrganizationStore{
		orgs:    make(map[string]domain.Organization),
		bySlug:  make(map[string]string),
		members: make(map[string]map[string]domain.Membership),
		byOrg:   make(map[string]map[string]struct{}),
		names:   make(map[string]map[string]string),
		groups:  newGroups(),
	}
}

// CreateOrganization stores a new organization. ErrAlreadyExists if the id
// or the slug is taken.
func (s *OrganizationStore) CreateOrganization(_ context.Context, o domain.Organization) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[o.ID]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := s.bySlug[o.Slug]; ok {
		return domain.ErrAlreadyExists
	}
	// One written without a policy is under off, as in every store.
	o.MFAPolicy = o.MFAPolicy.OrOff()
	s.orgs[o.ID] = o
	s.bySlug[o.Slug] = o.ID
	return nil
}

// GetOrganization returns an organization by id. ErrNotFound if there is none.
func (s *OrganizationStore) GetOrganization(_ context.Context, id string) (domain.Organization, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.orgs[id]
	if !ok {
		return domain.Organization{}, domain.ErrNotFound
	}
	return o, nil
}

// GetOrganizationBySlug returns an organization by slug. ErrNotFound if there is none.
func (s *OrganizationStore) GetOrganizationBySlug(_ context.Context, slug string) (domain.Organization, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.bySlug[slug]
	if !ok {
		return domain.Organization{}, domain.ErrNotFound
	}
	return s.orgs[id], nil
}

// UpdateOrganization applies fn to a copy and stores it only if fn succeeds.
// A new slug must be free, as at creation: ErrAlreadyExists otherwise.
func (s *OrganizationStore) UpdateOrganization(_ context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.orgs[id]
	if !ok {
		return domain.Organization{}, domain.ErrNotFound
	}
	next := old
	if err := fn(&next); err != nil {
		return domain.Organization{}, err
	}
	next.ID = id // the id is the key; fn cannot move the record
	next.MFAPolicy = next.MFAPolicy.OrOff()
	if owner, ok := s.bySlug[next.Slug]; ok && owner != id {
		return domain.Organization{}, domain.ErrAlreadyExists
	}
	delete(s.bySlug, old.Slug)
	s.orgs[id] = next
	s.bySlug[next.Slug] = id
	return next, nil
}

// PutMembership creates or replaces the membership of (organization, user).
// ErrNotFound if the organization does not exist; ErrAlreadyExists if
// another member has its user name.
func (s *OrganizationStore) PutMembership(_ context.Context, m domain.Membership) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[m.OrganizationID]; !ok {
		return domain.ErrNotFound
	}
	if s.nameTaken(m) {
		return domain.ErrAlreadyExists
	}
	s.setMember(m)
	return nil
}

// ListUserMemberships returns a user's memberships, oldest first, ties broken
// by organization id so the order never depends on map iteration.
func (s *OrganizationStore) ListUserMemberships(_ context.Context, userID string) ([]domain.Membership, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]domain.Membership, 0, len(s.members[userID]))
	for _, m := range s.members[userID] {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b domain.Membership) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.OrganizationID, b.OrganizationID))
	})
	return out, nil
}

// ListOrganizations returns up to limit organizations ordered by id, after
// the id after.
func (s *OrganizationStore) ListOrganizations(_ context.Context, after string, limit int) ([]domain.Organization, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]domain.Organization, 0, min(limit, len(s.orgs)))
	for _, o := range s.orgs {
		if o.ID > after {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b domain.Organization) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(limit, len(out))], nil
}

// SearchOrganizations returns up to limit organizations that query finds
// (domain.FindsOrganization), ordered by id, after the id after. It scans
// them all: memory serves one process's development data.
func (s *OrganizationStore) SearchOrganizations(_ context.Context, query, after string, limit int) ([]domain.Organization, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.Organization{}
	for _, o := range s.orgs {
		if o.ID > after && domain.FindsOrganization(o, query) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b domain.Organization) int { return cmp.Compare(a.ID, b.ID) })
	return out[:max(0, min(limit, len(out)))], nil
}

// GetMembership returns the membership of (organization, user). ErrNotFound
// if there is none.
func (s *OrganizationStore) GetMembership(_ context.Context, organizationID, userID string) (domain.Membership, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.members[userID][organizationID]
	if !ok {
		return domain.Membership{}, domain.ErrNotFound
	}
	return m, nil
}

// GetMembershipByUserName returns the membership named userName, compared
// by domain.UserNameKey. ErrNotFound if there is none.
func (s *OrganizationStore) GetMembershipByUserName(_ context.Context, organizationID, userName string) (domain.Membership, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	uid, ok := s.names[organizationID][domain.UserNameKey(userName)]
	if !ok || userName == "" {
		return domain.Membership{}, domain.ErrNotFound
	}
	return s.members[uid][organizationID], nil
}

// DeleteMembership removes a membership. ErrNotFound if there is none.
func (s *OrganizationStore) DeleteMembership(_ context.Context, organizationID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.members[userID][organizationID]; !ok {
		return domain.ErrNotFound
	}
	s.dropMember(organizationID, userID)
	return nil
}
