package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// SessionStore keeps browser sessions by the hash of their cookie secret,
// with an index by user so a user's sessions can all be ended at once.
type SessionStore struct {
	mu     sync.RWMutex
	clock  horizon
	byHash map[string]domain.Session
	byUser map[string]map[string]struct{} // user id -> session hashes
	bySID  map[string]string              // sid -> session hash
	expiry *expiryQueue[string]
}

// NewSessionStore returns an empty session store.
func NewSessionStore() *SessionStore {
	return &SessionStore{
		byHash: make(map[string]domain.Session),
		byUser: make(map[string]map[string]struct{}),
		bySID:  make(map[string]string),
		expiry: newExpiryQueue[string](),
	}
}

// CreateSession stores a session. ErrAlreadyExists if the hash is taken.
func (s *SessionStore) CreateSession(_ context.Context, sess domain.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(sess.CreatedAt, sess.LastSeen)
	key := string(sess.Hash)
	if _, ok := s.byHash[key]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := s.bySID[sess.SID]; ok {
		return domain.ErrAlreadyExists
	}
	s.byHash[key] = cloneSession(sess)
	s.bySID[sess.SID] = key
	s.expiry.set(key, sess.ExpiresAt)
	if s.byUser[sess.UserID] == nil {
		s.byUser[sess.UserID] = make(map[string]struct{})
	}
	s.byUser[sess.UserID][key] = struct{}{}
	return nil
}

// GetSession returns the session with this hash. ErrNotFound if there is
// none or it expired at now.
func (s *SessionStore) GetSession(_ context.Context, hash []byte, now time.Time) (domain.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.byHash[string(hash)]
	if !ok || !now.Before(sess.ExpiresAt) {
		return domain.Session{}, domain.ErrNotFound
	}
	return cloneSession(sess), nil
}

// GetSessionBySID returns the session with this public sid. ErrNotFound if
// there is none or it expired at now.
func (s *SessionStore) GetSessionBySID(ctx context.Context, sid string, now time.Time) (domain.Session, error) {
	s.mu.RLock()
	key, ok := s.bySID[sid]
	s.mu.RUnlock()
	if !ok {
		return domain.Session{}, domain.ErrNotFound
	}
	return s.GetSession(ctx, []byte(key), now)
}

// TouchSession sets LastSeen and ExpiresAt of a live session. An expired
// session counts as none, ErrNotFound, and stays expired: sliding expiry
// must not revive a session that already ended.
func (s *SessionStore) TouchSession(_ context.Context, hash []byte, now, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	key := string(hash)
	sess, ok := s.byHash[key]
	if !ok || !now.Before(sess.ExpiresAt) {
		return domain.ErrNotFound
	}
	sess.LastSeen, sess.ExpiresAt = now, expiresAt
	s.byHash[key] = sess
	s.expiry.set(key, expiresAt)
	return nil
}

// AddSessionClient records that clientID got tokens in the live session
// whose sid is sid, once. ErrNotFound if there is none or it expired at now.
func (s *SessionStore) AddSessionClient(_ context.Context, sid, clientID string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.bySID[sid]
	if !ok {
		return domain.ErrNotFound
	}
	sess := s.byHash[key]
	if !now.Before(sess.ExpiresAt) {
		return domain.ErrNotFound
	}
	if !slices.Contains(sess.ClientIDs, clientID) {
		sess.ClientIDs = append(slices.Clone(sess.ClientIDs), clientID)
		s.byHash[key] = sess
	}
	return nil
}

// DeleteSession removes a session and returns it. ErrNotFound if there is
// none.
func (s *SessionStore) DeleteSession(_ context.Context, hash []byte) (domain.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byHash[string(hash)]
	if !ok {
		return domain.Session{}, domain.ErrNotFound
	}
	s.drop(string(hash))
	s.expiry.remove(string(hash))
	return cloneSession(sess), nil
}

// DeleteUserSessions removes every session of a user and returns them.
func (s *SessionStore) DeleteUserSessions(_ context.Context, userID string) ([]domain.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Session
	for key := range s.byUser[userID] {
		out = append(out, cloneSession(s.byHash[key]))
		s.drop(key)
		s.expiry.remove(key)
	}
	return out, nil
}

// ListUserSessions returns the user's sessions live at now, newest sign-in
// first (AuthTime descending, then SID), at most ports.MaxUserSessions.
func (s *SessionStore) ListUserSessions(_ context.Context, userID string, now time.Time) ([]domain.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []domain.Session
	for key := range s.byUser[userID] {
		if sess := s.byHash[key]; now.Before(sess.ExpiresAt) {
			out = append(out, cloneSession(sess))
		}
	}
	slices.SortFunc(out, func(a, b domain.Session) int {
		if c := b.AuthTime.Compare(a.AuthTime); c != 0 {
			return c
		}
		return cmp.Compare(a.SID, b.SID)
	})
	return out[:min(len(out), ports.MaxUserSessions)], nil
}

func (s *SessionStore) sweep(times ...time.Time) {
	s.expiry.sweep(s.clock.observe(times...), s.drop)
}

// drop deletes a session and its index entry; the caller settles the queue.
func (s *SessionStore) drop(key string) {
	sess, ok := s.byHash[key]
	if !ok {
		return
	}
	delete(s.byHash, key)
	delete(s.bySID, sess.SID)
	delete(s.byUser[sess.UserID], key)
	if len(s.byUser[sess.UserID]) == 0 {
		delete(s.byUser, sess.UserID)
	}
}

func cloneSession(s domain.Session) domain.Session {
	s.Hash = slices.Clone(s.Hash)
	s.AMR = slices.Clone(s.AMR)
	s.ClientIDs = slices.Clone(s.ClientIDs)
	return s
}

// AuthRequestStore keeps authorization requests waiting for login or consent.
type AuthRequestStore struct {
	mu       sync.RWMutex
	clock    horizon
	requests map[string]domain.AuthRequest
	expiry   *expiryQueue[string]
}

// NewAuthRequestStore returns an empty authorization request store.
func NewAuthRequestStore() *AuthRequestStore {
	return &AuthRequestStore{requests: make(map[string]domain.AuthRequest), expiry: newExpiryQueue[string]()}
}

// CreateAuthRequest stores a request. ErrAlreadyExists if the id is taken.
func (s *AuthRequestStore) CreateAuthRequest(_ context.Context, r domain.AuthRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(r.CreatedAt)
	if _, ok := s.requests[r.ID]; ok {
		return domain.ErrAlreadyExists
	}
	s.requests[r.ID] = cloneAuthRequest(r)
	s.expiry.set(r.ID, r.ExpiresAt)
	return nil
}

// GetAuthRequest returns a request by id. ErrNotFound if there is none or it
// expired at now.
func (s *AuthRequestStore) GetAuthRequest(_ context.Context, id string, now time.Time) (domain.AuthRequest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.requests[id]
	if !ok || !now.Before(r.ExpiresAt) {
		return domain.AuthRequest{}, domain.ErrNotFound
	}
	return cloneAuthRequest(r), nil
}

// UpdateAuthRequest applies fn to a copy and stores it only if fn succeeds.
// ErrNotFound if there is none or it expired at now.
func (s *AuthRequestStore) UpdateAuthRequest(_ context.Context, id string, now time.Time, fn func(*domain.AuthRequest) error) (domain.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	r, ok := s.requests[id]
	if !ok || !now.Before(r.ExpiresAt) {
		return domain.AuthRequest{}, domain.ErrNotFound
	}
	next := cloneAuthRequest(r)
	if err := fn(&next); err != nil {
		return domain.AuthRequest{}, err
	}
	next.ID = id // the id is the key; fn cannot move the record
	s.requests[id] = cloneAuthRequest(next)
	s.expiry.set(id, next.ExpiresAt)
	return next, nil
}

// DeleteAuthRequest removes a request and reports whether this call did, so
// that of concurrent completions exactly one proceeds.
func (s *AuthRequestStore) DeleteAuthRequest(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[id]; !ok {
		return false, nil
	}
	delete(s.requests, id)
	s.expiry.remove(id)
	return true, nil
}

func (s *AuthRequestStore) sweep(times ...time.Time) {
	s.expiry.sweep(s.clock.observe(times...), func(id string) { delete(s.requests, id) })
}

func cloneAuthRequest(r domain.AuthRequest) domain.AuthRequest {
	r.BindingHash = slices.Clone(r.BindingHash)
	r.Scopes = slices.Clone(r.Scopes)
	r.Prompt = slices.Clone(r.Prompt)
	r.DeviceCodeHash = slices.Clone(r.DeviceCodeHash)
	r.ACRValues = slices.Clone(r.ACRValues)
	r.Ceremony = slices.Clone(r.Ceremony)
	if r.Upstream != nil {
		u := *r.Upstream
		r.Upstream = &u
	}
	return r
}
