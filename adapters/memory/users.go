package memory

import (
	"context"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// UserStore keeps users in memory, indexed by id and by normalised email.
type UserStore struct {
	mu      sync.RWMutex
	users   map[string]domain.User
	byEmail map[string]string // normalised email -> user id
}

// NewUserStore returns an empty user store.
func NewUserStore() *UserStore {
	return &UserStore{users: make(map[string]domain.User), byEmail: make(map[string]string)}
}

// CreateUser stores a new user. ErrAlreadyExists if the id or the email,
// compared case-insensitively, is taken. The lock makes check and insert one
// step, so parallel creates of one email make one user.
func (s *UserStore) CreateUser(_ context.Context, u domain.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return domain.ErrAlreadyExists
	}
	if s.emailTaken(u.Email, u.ID) {
		return domain.ErrAlreadyExists
	}
	u.Profiles = domain.CloneProfiles(u.Profiles)
	s.users[u.ID] = u
	s.indexEmail(u)
	return nil
}

// GetUser returns a user by id. ErrNotFound if there is none.
func (s *UserStore) GetUser(_ context.Context, id string) (domain.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	return cloneUser(u), nil
}

// GetUserByEmail returns the user with this email, compared
// case-insensitively. ErrNotFound if there is none.
func (s *UserStore) GetUserByEmail(_ context.Context, email string) (domain.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byEmail[domain.NormalizeEmail(email)]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	return cloneUser(s.users[id]), nil
}

// UpdateUser applies fn to a copy and stores it only if fn succeeds and the
// new email, if it changed, belongs to no other user.
func (s *UserStore) UpdateUser(_ context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	next := cloneUser(old) // fn may edit the profiles in place and then fail
	if err := fn(&next); err != nil {
		return domain.User{}, err
	}
	next.ID = id // the id is the key; fn cannot move the record
	if s.emailTaken(next.Email, id) {
		return domain.User{}, domain.ErrAlreadyExists
	}
	delete(s.byEmail, domain.NormalizeEmail(old.Email))
	next = cloneUser(next) // the caller may keep the profiles fn set
	s.users[id] = next
	s.indexEmail(next)
	return cloneUser(next), nil
}

// cloneUser returns u sharing no maps or slices with the store.
func cloneUser(u domain.User) domain.User {
	u.Profiles = domain.CloneProfiles(u.Profiles)
	return u
}

// emailTaken reports whether a user other than id holds email. An empty
// email is never taken: an account may exist before it has an address.
func (s *UserStore) emailTaken(email, id string) bool {
	owner, ok := s.byEmail[domain.NormalizeEmail(email)]
	return ok && owner != id
}

func (s *UserStore) indexEmail(u domain.User) {
	if key := domain.NormalizeEmail(u.Email); key != "" {
		s.byEmail[key] = u.ID
	}
}
