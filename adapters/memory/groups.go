package memory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// groups is the OrganizationStore's part that keeps groups (ports.GroupStore),
// under its lock, so that leaving an organization leaves its groups in the
// same step.
type groups struct {
	byID map[string]domain.Group
	// groupNames maps organization id -> domain.GroupNameKey -> group id.
	groupNames map[string]map[string]string
	// inGroup maps group id -> its members' user ids.
	inGroup map[string]map[string]struct{}
	// userGroups maps user id -> the ids of the groups they are in.
	userGroups map[string]map[string]struct{}
}

func newGroups() groups {
	return groups{
		byID: map[string]domain.Group{}, groupNames: map[string]map[string]string{},
		inGroup: map[string]map[string]struct{}{}, userGroups: map[string]map[string]struct{}{},
	}
}

// leaveGroups takes a user out of an organization's groups; the caller
// holds the lock.
func (g *groups) leaveGroups(orgID, userID string) {
	for id := range g.userGroups[userID] {
		if g.byID[id].OrganizationID == orgID {
			g.setGroupMember(id, userID, false)
		}
	}
}

func (g *groups) setGroupMember(groupID, userID string, in bool) {
	if in {
		addTo(g.inGroup, groupID, userID)
		addTo(g.userGroups, userID, groupID)
		return
	}
	removeFrom(g.inGroup, groupID, userID)
	removeFrom(g.userGroups, userID, groupID)
}

func addTo(m map[string]map[string]struct{}, k, v string) {
	if m[k] == nil {
		m[k] = map[string]struct{}{}
	}
	m[k][v] = struct{}{}
}

func removeFrom(m map[string]map[string]struct{}, k, v string) {
	delete(m[k], v)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// isMember reports whether the user has a membership of the organization,
// in any state but pending; the caller holds the lock.
func (s *OrganizationStore) isMember(orgID, userID string) bool {
	m, ok := s.members[userID][orgID]
	return ok && m.Visible()
}

// CreateGroup stores a group with its members; see ports.GroupStore.
func (s *OrganizationStore) CreateGroup(_ context.Context, g domain.Group, members []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[g.OrganizationID]; !ok {
		return domain.ErrNotFound
	}
	if _, ok := s.byID[g.ID]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := s.groupNames[g.OrganizationID][domain.GroupNameKey(g.DisplayName)]; ok {
		return domain.ErrAlreadyExists
	}
	for _, uid := range members {
		if !s.isMember(g.OrganizationID, uid) {
			return domain.ErrNotFound
		}
	}
	s.byID[g.ID] = g
	if s.groupNames[g.OrganizationID] == nil {
		s.groupNames[g.OrganizationID] = map[string]string{}
	}
	s.groupNames[g.OrganizationID][domain.GroupNameKey(g.DisplayName)] = g.ID
	for _, uid := range members {
		s.setGroupMember(g.ID, uid, true)
	}
	return nil
}

// group returns one of an organization's groups; the caller holds the lock.
func (s *OrganizationStore) group(orgID, id string) (domain.Group, bool) {
	g, ok := s.byID[id]
	return g, ok && g.OrganizationID == orgID
}

// GetGroup returns one of an organization's groups.
func (s *OrganizationStore) GetGroup(_ context.Context, orgID, id string) (domain.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, ok := s.group(orgID, id)
	if !ok {
		return domain.Group{}, domain.ErrNotFound
	}
	return g, nil
}

// GetGroupByName returns the group with that name, in any case.
func (s *OrganizationStore) GetGroupByName(_ context.Context, orgID, name string) (domain.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.groupNames[orgID][domain.GroupNameKey(name)]
	if !ok {
		return domain.Group{}, domain.ErrNotFound
	}
	return s.byID[id], nil
}

// ListGroups returns a page of an organization's groups by id.
func (s *OrganizationStore) ListGroups(_ context.Context, orgID, after string, limit int) ([]domain.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.Group{}
	for _, id := range s.groupNames[orgID] {
		if id > after {
			out = append(out, s.byID[id])
		}
	}
	slices.SortFunc(out, func(a, b domain.Group) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(max(limit, 0), len(out))], nil
}

// UpdateGroup applies fn to a copy and stores it if fn succeeds and the
// name is free.
func (s *OrganizationStore) UpdateGroup(_ context.Context, orgID, id string, fn func(*domain.Group) error) (domain.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.group(orgID, id)
	if !ok {
		return domain.Group{}, domain.ErrNotFound
	}
	next := old
	if err := fn(&next); err != nil {
		return domain.Group{}, err
	}
	next.ID, next.OrganizationID = old.ID, old.OrganizationID
	names := s.groupNames[orgID]
	if owner, ok := names[domain.GroupNameKey(next.DisplayName)]; ok && owner != id {
		return domain.Group{}, domain.ErrAlreadyExists
	}
	delete(names, domain.GroupNameKey(old.DisplayName))
	names[domain.GroupNameKey(next.DisplayName)] = id
	s.byID[id] = next
	return next, nil
}

// DeleteGroup removes a group and its members' places in it.
func (s *OrganizationStore) DeleteGroup(_ context.Context, orgID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.group(orgID, id)
	if !ok {
		return domain.ErrNotFound
	}
	for uid := range s.inGroup[id] {
		s.setGroupMember(id, uid, false)
	}
	delete(s.groupNames[orgID], domain.GroupNameKey(g.DisplayName))
	if len(s.groupNames[orgID]) == 0 {
		delete(s.groupNames, orgID)
	}
	delete(s.byID, id)
	return nil
}

// ChangeGroupMembers adds and removes members in one step.
func (s *OrganizationStore) ChangeGroupMembers(_ context.Context, orgID, id string, add, remove []string, now time.Time) (domain.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.group(orgID, id)
	if !ok {
		return domain.Group{}, domain.ErrNotFound
	}
	for _, uid := range add {
		if !s.isMember(orgID, uid) {
			return domain.Group{}, domain.ErrNotFound
		}
	}
	changed := false
	for _, uid := range add {
		if _, in := s.inGroup[id][uid]; !in {
			s.setGroupMember(id, uid, true)
			changed = true
		}
	}
	for _, uid := range remove {
		if _, in := s.inGroup[id][uid]; in {
			s.setGroupMember(id, uid, false)
			changed = true
		}
	}
	if changed {
		g.UpdatedAt = now
		s.byID[id] = g
	}
	return g, nil
}

// ListGroupMembers returns a page of a group's members' user ids.
func (s *OrganizationStore) ListGroupMembers(_ context.Context, orgID, id, after string, limit int) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []string{}
	if _, ok := s.group(orgID, id); !ok {
		return out, nil
	}
	for uid := range s.inGroup[id] {
		if uid > after {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out[:min(max(limit, 0), len(out))], nil
}

// ListUserGroups returns the organization's groups a user is in.
func (s *OrganizationStore) ListUserGroups(_ context.Context, orgID, userID string) ([]domain.Group, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.Group{}
	for id := range s.userGroups[userID] {
		if g, ok := s.group(orgID, id); ok {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b domain.Group) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
