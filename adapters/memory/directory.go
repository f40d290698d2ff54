package memory

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Directory makes the changes that span users, memberships and licenses,
// and keeps the licenses. It locks the user store, then the organization
// store, then itself, always in that order, so a change across them is one
// step and no two changes deadlock.
type Directory struct {
	users *UserStore
	orgs  *OrganizationStore
	mu    sync.RWMutex
	// licenses maps user id -> client id -> license.
	licenses map[string]map[string]domain.License
}

// NewDirectory returns a directory over the given user and organization stores.
func NewDirectory(users *UserStore, orgs *OrganizationStore) *Directory {
	return &Directory{users: users, orgs: orgs, licenses: make(map[string]map[string]domain.License)}
}

// lockAll takes the three locks in their fixed order and returns the unlock.
func (d *Directory) lockAll() func() {
	d.users.mu.Lock()
	d.orgs.mu.Lock()
	d.mu.Lock()
	return func() {
		d.mu.Unlock()
		d.orgs.mu.Unlock()
		d.users.mu.Unlock()
	}
}

// Provision runs each row under all three locks, so each row is atomic.
func (d *Directory) Provision(_ context.Context, rows []domain.ProvisionRow) ([]domain.ProvisionResult, error) {
	out := make([]domain.ProvisionResult, len(rows))
	for i, r := range rows {
		unlock := d.lockAll()
		out[i] = d.provisionLocked(r)
		unlock()
	}
	return out, nil
}

func (d *Directory) provisionLocked(r domain.ProvisionRow) domain.ProvisionResult {
	if _, ok := d.orgs.orgs[r.OrganizationID]; !ok {
		return domain.ProvisionResult{Err: domain.ErrNotFound}
	}
	var res domain.ProvisionResult
	existing, found := d.users.byEmail[domain.NormalizeEmail(r.User.Email)]
	uid, email := r.User.ID, r.User.Email
	if found {
		uid, email = existing, d.users.users[existing].Email
	}
	byOrg := d.orgs.members[uid]
	m, ok := byOrg[r.OrganizationID]
	if !ok {
		m = domain.Membership{OrganizationID: r.OrganizationID, UserID: uid, Role: r.Role, Status: domain.MembershipPending,
			UserName: r.UserName, CreatedAt: r.Now}
		if m.UserName == "" {
			m.UserName = email
			if d.orgs.nameTaken(m) {
				m.UserName = uid
			}
		}
		if d.orgs.nameTaken(m) {
			return domain.ProvisionResult{Err: domain.ErrAlreadyExists}
		}
	}
	if found {
		res.User = cloneUser(d.users.users[uid])
	} else {
		if _, taken := d.users.users[r.User.ID]; taken {
			return domain.ProvisionResult{Err: domain.ErrAlreadyExists}
		}
		d.users.users[r.User.ID] = cloneUser(r.User)
		d.users.indexEmail(r.User)
		res.User, res.Created = cloneUser(r.User), true
	}
	switch {
	case !ok:
		res.Joined = true
		fallthrough
	case m.Status == domain.MembershipPending:
		home := res.User.HomeOrganizationID
		linked := r.LinkExisting && res.User.EmailVerified
		if res.Created || linked || home != "" && slices.Contains(r.VisibleIn, home) || visibleIn(byOrg, r.VisibleIn) {
			m.Status, m.Primary = domain.MembershipActive, !hasPrimary(byOrg)
		}
		d.orgs.setMember(m)
	}
	res.Membership = m
	if r.LicenseClientID != "" && m.Visible() {
		res.LicenseAssigned = d.assignLocked(domain.License{ClientID: r.LicenseClientID, UserID: uid, AssignedAt: r.Now})
	}
	return res
}

// visibleIn reports whether one of the memberships, other than pending, is
// in one of the organizations.
func visibleIn(ms map[string]domain.Membership, orgIDs []string) bool {
	for _, id := range orgIDs {
		if m, ok := ms[id]; ok && m.Visible() {
			return true
		}
	}
	return false
}

func hasPrimary(ms map[string]domain.Membership) bool {
	for _, m := range ms {
		if m.Primary {
			return true
		}
	}
	return false
}

func (d *Directory) assignLocked(l domain.License) bool {
	byClient := d.licenses[l.UserID]
	if byClient == nil {
		byClient = make(map[string]domain.License)
		d.licenses[l.UserID] = byClient
	}
	if _, ok := byClient[l.ClientID]; ok {
		return false
	}
	byClient[l.ClientID] = l
	return true
}

// DeleteUser removes the user, their memberships and their licenses at once.
func (d *Directory) DeleteUser(_ context.Context, userID string) error {
	defer d.lockAll()()
	u, ok := d.users.users[userID]
	if !ok {
		return domain.ErrNotFound
	}
	delete(d.users.users, userID)
	if key := domain.NormalizeEmail(u.Email); key != "" && d.users.byEmail[key] == userID {
		delete(d.users.byEmail, key)
	}
	d.orgs.dropUser(userID)
	delete(d.licenses, userID)
	return nil
}

// ListMembers reads the organization's members and sorts them; the memory
// driver is for development and tests.
func (d *Directory) ListMembers(_ context.Context, organizationID, afterUserID string, limit int) ([]domain.Member, error) {
	d.users.mu.RLock()
	defer d.users.mu.RUnlock()
	d.orgs.mu.RLock()
	defer d.orgs.mu.RUnlock()
	var out []domain.Member
	for uid := range d.orgs.byOrg[organizationID] {
		m, ok := d.orgs.members[uid][organizationID]
		if !ok || uid <= afterUserID || !m.Visible() {
			continue
		}
		if u, ok := d.users.users[uid]; ok {
			out = append(out, domain.Member{User: cloneUser(u), Membership: m})
		}
	}
	slices.SortFunc(out, func(a, b domain.Member) int { return cmp.Compare(a.User.ID, b.User.ID) })
	return out[:min(limit, len(out))], nil
}

// SearchMembers is ListMembers over the members who match every term, by
// prefix of the email key or the lower-cased names.
func (d *Directory) SearchMembers(ctx context.Context, organizationID string, terms []string, afterUserID string, limit int) ([]domain.Member, error) {
	if limit <= 0 {
		return []domain.Member{}, nil
	}
	all, err := d.ListMembers(ctx, organizationID, afterUserID, math.MaxInt)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(m domain.Member) bool { return !matchesAll(m.User, terms) })
	return out[:min(limit, len(out))], nil
}

// matchesAll reports whether every term is a prefix of u's email key or of
// one of its lower-cased names (ports.DirectoryStore.SearchMembers).
func matchesAll(u domain.User, terms []string) bool {
	email, given, family := domain.NormalizeEmail(u.Email), strings.ToLower(u.GivenName), strings.ToLower(u.FamilyName)
	for _, t := range terms {
		name := strings.ToLower(t)
		if !strings.HasPrefix(email, domain.NormalizeEmail(t)) && !strings.HasPrefix(given, name) && !strings.HasPrefix(family, name) {
			return false
		}
	}
	return true
}

// AssignLicense stores a license unless the user holds it. ErrNotFound if
// the user does not exist.
func (d *Directory) AssignLicense(_ context.Context, l domain.License) (bool, error) {
	d.users.mu.RLock()
	defer d.users.mu.RUnlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.users.users[l.UserID]; !ok {
		return false, domain.ErrNotFound
	}
	return d.assignLocked(l), nil
}

// RevokeLicense removes a license. ErrNotFound if the user does not hold it.
func (d *Directory) RevokeLicense(_ context.Context, clientID, userID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.licenses[userID][clientID]; !ok {
		return domain.ErrNotFound
	}
	delete(d.licenses[userID], clientID)
	return nil
}

// HasLicense reports whether the user holds the client's license.
func (d *Directory) HasLicense(_ context.Context, clientID, userID string) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.licenses[userID][clientID]
	return ok, nil
}

// ListUserLicenses returns a user's licenses, oldest first.
func (d *Directory) ListUserLicenses(_ context.Context, userID string) ([]domain.License, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]domain.License, 0, len(d.licenses[userID]))
	for _, l := range d.licenses[userID] {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b domain.License) int {
		return cmp.Or(a.AssignedAt.Compare(b.AssignedAt), cmp.Compare(a.ClientID, b.ClientID))
	})
	return out, nil
}
