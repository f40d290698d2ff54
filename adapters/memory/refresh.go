package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// refreshTokens keeps refresh-token families and every token they minted.
// Spent tokens are kept as long as their family, because a replayed token
// must be recognised to revoke the family (RFC 9700 §4.14.2). A family and
// its tokens are swept once the family expires.
type refreshTokens struct {
	mu           sync.RWMutex
	clock        *horizon
	families     map[string]domain.RefreshFamily
	tokens       map[string]storedToken         // by hash
	familyTokens map[string][]string            // family id -> token hashes
	userFamilies map[string]map[string]struct{} // user id -> family ids
	expiry       *expiryQueue[string]           // family ids
}

// storedToken is a refresh token as kept: a spent token stays until its
// family expires, so it is kept small (its hash is the map key, and its
// family id shares the family's string).
type storedToken struct {
	familyID  string
	createdAt int64 // Unix nanoseconds
	rotatedAt int64 // Unix nanoseconds; 0 while live
}

func (t storedToken) token(hash string) domain.RefreshToken {
	rt := domain.RefreshToken{Hash: []byte(hash), FamilyID: t.familyID, CreatedAt: time.Unix(0, t.createdAt).UTC()}
	if t.rotatedAt != 0 {
		rt.RotatedAt = time.Unix(0, t.rotatedAt).UTC()
	}
	return rt
}

func newRefreshTokens(h *horizon) *refreshTokens {
	return &refreshTokens{
		clock:        h,
		families:     make(map[string]domain.RefreshFamily),
		tokens:       make(map[string]storedToken),
		familyTokens: make(map[string][]string),
		userFamilies: make(map[string]map[string]struct{}),
		expiry:       newExpiryQueue[string](),
	}
}

// CreateRefreshFamily stores a family and its first token together; a
// first token without a hash stores the family alone. ErrAlreadyExists if
// the family id or the token hash is taken.
func (s *refreshTokens) CreateRefreshFamily(_ context.Context, f domain.RefreshFamily, first domain.RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(f.CreatedAt, first.CreatedAt)
	if _, ok := s.families[f.ID]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := s.tokens[string(first.Hash)]; ok && first.Hash != nil {
		return domain.ErrAlreadyExists // the nil hash of a tokenless family takes no key
	}
	s.families[f.ID] = cloneFamily(f)
	s.expiry.set(f.ID, f.ExpiresAt)
	if s.userFamilies[f.UserID] == nil {
		s.userFamilies[f.UserID] = make(map[string]struct{})
	}
	s.userFamilies[f.UserID][f.ID] = struct{}{}
	if first.Hash != nil {
		s.addToken(first, &f)
	}
	return nil
}

// GetRefreshFamily returns a family by id. ErrNotFound if there is none.
func (s *refreshTokens) GetRefreshFamily(_ context.Context, id string) (domain.RefreshFamily, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.families[id]
	if !ok {
		return domain.RefreshFamily{}, domain.ErrNotFound
	}
	return cloneFamily(f), nil
}

// GetRefreshToken returns the token with this hash and its family.
// ErrNotFound if there is none.
func (s *refreshTokens) GetRefreshToken(_ context.Context, hash []byte) (domain.RefreshToken, domain.RefreshFamily, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tokens[string(hash)]
	if !ok {
		return domain.RefreshToken{}, domain.RefreshFamily{}, domain.ErrNotFound
	}
	return t.token(string(hash)), cloneFamily(s.families[t.familyID]), nil
}

// RotateRefreshToken spends old and stores next under the lock, so of
// concurrent calls for one live token exactly one sees it live. A grace of
// zero or less disables the grace window: only a positive grace honours a
// retry, even one carrying the very instant of the rotation.
func (s *refreshTokens) RotateRefreshToken(_ context.Context, old []byte, next domain.RefreshToken, now time.Time, grace time.Duration) (domain.RefreshFamily, domain.RotateOutcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	t, ok := s.tokens[string(old)]
	if !ok {
		return domain.RefreshFamily{}, 0, domain.ErrNotFound
	}
	f := s.families[t.familyID]
	if !f.Active(now) {
		return domain.RefreshFamily{}, 0, domain.ErrNotFound
	}
	outcome := rotation(t.token(""), now, grace)
	if outcome == domain.Replayed {
		return cloneFamily(f), outcome, nil
	}
	if _, taken := s.tokens[string(next.Hash)]; taken {
		return domain.RefreshFamily{}, 0, domain.ErrAlreadyExists
	}
	if outcome == domain.Rotated {
		t.rotatedAt = now.UnixNano()
		s.tokens[string(old)] = t
	}
	s.addToken(next, &f)
	return cloneFamily(f), outcome, nil
}

// rotation decides what presenting t at now means.
func rotation(t domain.RefreshToken, now time.Time, grace time.Duration) domain.RotateOutcome {
	switch {
	case t.RotatedAt.IsZero():
		return domain.Rotated
	case grace > 0 && now.Sub(t.RotatedAt) <= grace:
		return domain.RotatedInGrace
	default:
		return domain.Replayed
	}
}

// RevokeRefreshFamily marks a family revoked at now; a second revocation
// keeps the first time. ErrNotFound if there is no such family.
func (s *refreshTokens) RevokeRefreshFamily(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	f, ok := s.families[id]
	if !ok {
		return domain.ErrNotFound
	}
	if f.RevokedAt.IsZero() {
		f.RevokedAt = now
		s.families[id] = f
	}
	return nil
}

// RevokeUserRefreshFamilies revokes every family of the user that is live at
// now; revoked and expired families keep what they have.
func (s *refreshTokens) RevokeUserRefreshFamilies(_ context.Context, userID string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	for id := range s.userFamilies[userID] {
		if f := s.families[id]; f.Active(now) {
			f.RevokedAt = now
			s.families[id] = f
		}
	}
	return nil
}

// RevokeUserClientRefreshFamilies revokes every family of the user for
// clientID that is live at now, and returns their ids; revoked and expired
// families, and those for other clients, keep what they have.
func (s *refreshTokens) RevokeUserClientRefreshFamilies(_ context.Context, userID, clientID string, now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	var ids []string
	for id := range s.userFamilies[userID] {
		if f := s.families[id]; f.ClientID == clientID && f.Active(now) {
			f.RevokedAt = now
			s.families[id] = f
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (s *refreshTokens) addToken(t domain.RefreshToken, family *domain.RefreshFamily) {
	key := string(t.Hash)
	s.tokens[key] = storedToken{familyID: family.ID, createdAt: t.CreatedAt.UnixNano()}
	s.familyTokens[family.ID] = append(s.familyTokens[family.ID], key)
}

func (s *refreshTokens) sweep(times ...time.Time) {
	s.expiry.sweep(s.clock.observe(times...), s.dropFamily)
}

// dropFamily deletes an expired family with all its tokens.
func (s *refreshTokens) dropFamily(id string) {
	for _, key := range s.familyTokens[id] {
		delete(s.tokens, key)
	}
	delete(s.familyTokens, id)
	userID := s.families[id].UserID
	delete(s.userFamilies[userID], id)
	if len(s.userFamilies[userID]) == 0 {
		delete(s.userFamilies, userID)
	}
	delete(s.families, id)
}

func cloneFamily(f domain.RefreshFamily) domain.RefreshFamily {
	f.Scopes = slices.Clone(f.Scopes)
	f.AMR = slices.Clone(f.AMR)
	return f
}
