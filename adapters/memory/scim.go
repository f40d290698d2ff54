package memory

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// SCIMStore keeps the SCIM tokens in memory and searches the users and
// memberships of the user and organization stores it was made with. It
// takes their locks in the directory's order (users, organizations, itself).
type SCIMStore struct {
	users  *UserStore
	orgs   *OrganizationStore
	mu     sync.RWMutex
	tokens map[string]domain.SCIMToken // id -> token
	byHash map[string]string           // hash -> token id
}

// NewSCIMStore returns a SCIM store over the given user and organization stores.
func NewSCIMStore(users *UserStore, orgs *OrganizationStore) *SCIMStore {
	return &SCIMStore{users: users, orgs: orgs, tokens: make(map[string]domain.SCIMToken), byHash: make(map[string]string)}
}

func cloneSCIMToken(t domain.SCIMToken) domain.SCIMToken {
	t.Hash = slices.Clone(t.Hash)
	return t
}

// CreateSCIMToken stores a token. ErrAlreadyExists if the id or hash is
// taken; ErrNotFound if the organization does not exist.
func (s *SCIMStore) CreateSCIMToken(_ context.Context, t domain.SCIMToken) error {
	s.orgs.mu.RLock()
	defer s.orgs.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs.orgs[t.OrganizationID]; !ok {
		return domain.ErrNotFound
	}
	if _, ok := s.tokens[t.ID]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := s.byHash[string(t.Hash)]; ok {
		return domain.ErrAlreadyExists
	}
	s.tokens[t.ID] = cloneSCIMToken(t)
	s.byHash[string(t.Hash)] = t.ID
	return nil
}

// GetSCIMToken returns the token with this hash. ErrNotFound if none.
func (s *SCIMStore) GetSCIMToken(_ context.Context, hash []byte) (domain.SCIMToken, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byHash[string(hash)]
	if !ok {
		return domain.SCIMToken{}, domain.ErrNotFound
	}
	return cloneSCIMToken(s.tokens[id]), nil
}

// ListSCIMTokens returns an organization's tokens, oldest first, ties by id.
func (s *SCIMStore) ListSCIMTokens(_ context.Context, organizationID string) ([]domain.SCIMToken, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []domain.SCIMToken{}
	for _, t := range s.tokens {
		if t.OrganizationID == organizationID {
			out = append(out, cloneSCIMToken(t))
		}
	}
	slices.SortFunc(out, func(a, b domain.SCIMToken) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteSCIMToken removes one of an organization's tokens. ErrNotFound if
// the organization has no token with that id.
func (s *SCIMStore) DeleteSCIMToken(_ context.Context, organizationID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || t.OrganizationID != organizationID {
		return domain.ErrNotFound
	}
	delete(s.tokens, id)
	delete(s.byHash, string(t.Hash))
	return nil
}

// SearchUsers evaluates the filter over the organization's members: the
// memory driver's query language is Go, and its organizations are small.
func (s *SCIMStore) SearchUsers(_ context.Context, q domain.UserQuery) (domain.UserPage, error) {
	s.users.mu.RLock()
	defer s.users.mu.RUnlock()
	s.orgs.mu.RLock()
	defer s.orgs.mu.RUnlock()
	var matches []domain.Member
	candidates := s.orgs.byOrg[q.OrganizationID]
	if uid, ok := s.lookup(q.OrganizationID, q.Filter); ok {
		// The providers' existence check, userName eq or id eq: one
		// candidate from the email index or the id, not the whole
		// organization.
		candidates = map[string]struct{}{}
		if _, member := s.orgs.byOrg[q.OrganizationID][uid]; member {
			candidates[uid] = struct{}{}
		}
	}
	for uid := range candidates {
		m, ok := s.orgs.members[uid][q.OrganizationID]
		if !ok || !m.Visible() {
			continue
		}
		u, ok := s.users.users[uid]
		mb := domain.Member{User: u, Membership: m}
		if !ok || (q.Filter != nil && !matchUser(mb, q.Filter)) {
			continue
		}
		matches = append(matches, mb)
	}
	slices.SortFunc(matches, func(a, b domain.Member) int { return cmp.Compare(a.User.ID, b.User.ID) })
	page := domain.UserPage{Total: len(matches), Members: []domain.Member{}}
	start := min(max(q.Offset, 0), len(matches))
	end := min(start+max(q.Limit, 0), len(matches))
	for _, m := range matches[start:end] {
		m.User.Profiles = domain.CloneProfiles(m.User.Profiles)
		page.Members = append(page.Members, m)
	}
	return page, nil
}

// lookup returns the one user a filter can match when it is a top-level
// userName eq or id eq, the filter still being applied to it.
func (s *SCIMStore) lookup(orgID string, f domain.UserFilter) (string, bool) {
	c, ok := f.(*domain.Compare)
	if !ok || c == nil || c.Op != domain.OpEq {
		return "", false
	}
	v, _ := c.Value.(string)
	if v == "" {
		return "", false // "" matches members without a name, which the index leaves out
	}
	switch c.Field {
	case domain.FieldUserName:
		return s.orgs.names[orgID][domain.UserNameKey(v)], true
	case domain.FieldID:
		return v, true
	}
	return "", false
}

// matchUser reports whether a member satisfies f, with the semantics
// domain.Compare documents.
func matchUser(mb domain.Member, f domain.UserFilter) bool {
	switch f := f.(type) {
	case *domain.And:
		return matchUser(mb, f.Left) && matchUser(mb, f.Right)
	case *domain.Or:
		return matchUser(mb, f.Left) || matchUser(mb, f.Right)
	case *domain.Not:
		return !matchUser(mb, f.X)
	case *domain.Compare:
		return matchCompare(mb, f)
	}
	return false
}

func matchCompare(mb domain.Member, c *domain.Compare) bool {
	if c.Op == domain.OpNe {
		eq := *c
		eq.Op = domain.OpEq
		return !matchCompare(mb, &eq)
	}
	u, orgID := mb.User, mb.Membership.OrganizationID
	switch c.Field {
	case domain.FieldActive:
		if c.Op == domain.OpPr {
			return true
		}
		want, _ := c.Value.(bool)
		active := (u.Status == domain.UserActive || u.Status == domain.UserInvited) && mb.Membership.Status != domain.MembershipSuspended
		return c.Op == domain.OpEq && active == want
	case domain.FieldCreated:
		return compareTime(c.Op, u.CreatedAt, c.Value)
	case domain.FieldLastModified:
		return compareTime(c.Op, u.UpdatedAt, c.Value)
	}
	info, ok := domain.UserFields[c.Field]
	if !ok {
		return false
	}
	want, _ := c.Value.(string)
	if info.Kind == domain.KindString {
		want = strings.ToLower(want)
	}
	for _, v := range stringValues(mb, u.Profiles[orgID], c.Field) {
		if info.Kind == domain.KindString {
			v = strings.ToLower(v)
		}
		if compareString(c.Op, v, want) {
			return true
		}
	}
	return false
}

// stringValues is a string field's values: exactly one (maybe "") for a
// single-valued field, any number for a multi-valued one.
func stringValues(mb domain.Member, p domain.OrgProfile, f domain.UserField) []string {
	u := mb.User
	one := func(v string) []string { return []string{v} }
	values := func(mvs []domain.MultiValue, typ bool) []string {
		out := make([]string, 0, len(mvs))
		for _, mv := range mvs {
			if typ {
				out = append(out, mv.Type)
			} else {
				out = append(out, mv.Value)
			}
		}
		return out
	}
	switch f {
	case domain.FieldID:
		return one(u.ID)
	case domain.FieldUserName:
		return one(mb.Membership.UserName)
	case domain.FieldGivenName:
		return one(u.GivenName)
	case domain.FieldFamilyName:
		return one(u.FamilyName)
	case domain.FieldExternalID:
		return one(p.ExternalID)
	case domain.FieldDisplayName:
		return one(p.DisplayName)
	case domain.FieldEmployeeNumber:
		return one(p.EmployeeNumber)
	case domain.FieldDepartment:
		return one(p.Department)
	case domain.FieldManagerID:
		return one(p.ManagerID)
	case domain.FieldEmailValue:
		return append([]string{u.Email}, values(p.Emails, false)...)
	case domain.FieldEmailType:
		return values(p.Emails, true)
	case domain.FieldPhoneValue:
		return values(p.PhoneNumbers, false)
	case domain.FieldPhoneType:
		return values(p.PhoneNumbers, true)
	}
	return nil
}

func compareString(op domain.FilterOp, got, want string) bool {
	switch op {
	case domain.OpEq:
		return got == want
	case domain.OpCo:
		return strings.Contains(got, want)
	case domain.OpSw:
		return strings.HasPrefix(got, want)
	case domain.OpEw:
		return strings.HasSuffix(got, want)
	case domain.OpPr:
		return got != ""
	case domain.OpGt:
		return got > want
	case domain.OpGe:
		return got >= want
	case domain.OpLt:
		return got < want
	case domain.OpLe:
		return got <= want
	}
	return false
}

func compareTime(op domain.FilterOp, got time.Time, value any) bool {
	if op == domain.OpPr {
		return true
	}
	want, ok := value.(time.Time)
	if !ok {
		return false
	}
	switch op {
	case domain.OpEq:
		return got.Equal(want)
	case domain.OpGt:
		return got.After(want)
	case domain.OpGe:
		return !got.Before(want)
	case domain.OpLt:
		return got.Before(want)
	case domain.OpLe:
		return !got.After(want)
	}
	return false
}
