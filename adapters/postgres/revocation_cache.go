package postgres

import (
	"context"
	"time"
)

// How revocations are cached per instance.
const (
	// revocationCacheTTL bounds how long an answer is served without a
	// fresh read, should a notice ever be lost with the listener still
	// healthy: the safety net under LISTEN/NOTIFY, as for users.
	revocationCacheTTL = 30 * time.Second
	// maxCachedRevocations bounds each of the two caches (access tokens'
	// jtis, grants); past it, a cache starts afresh.
	maxCachedRevocations = 200_000
)

// Notice kinds of revocations (migration 00024's triggers).
const (
	kindRevokedJTI   = "rjti"
	kindRevokedGrant = "rgrant"
)

// CachedGrantStore is GrantStore with the question every introspection and
// UserInfo call asks, "was this token or its grant revoked?", answered
// from memory: an access token is a JWT verified in process, so without
// this the answer would be a round trip per call.
//
// Both answers are cached, "no" as well as "yes", per jti and per grant.
// A revocation forgets its entry here at once, and the triggers on the
// revocation tables tell every instance at commit, well under a second
// later. While the listener is down nothing is served from memory. A miss
// on either costs one round trip for both.
type CachedGrantStore struct {
	*GrantStore
	inv    *Invalidations
	jtis   *rowCache[bool]
	grants *rowCache[bool]
}

// NewCachedGrantStore caches store's revocation checks under inv's notices.
func NewCachedGrantStore(store *GrantStore, inv *Invalidations) *CachedGrantStore {
	keep := func(b bool) bool { return b }
	return &CachedGrantStore{
		GrantStore: store, inv: inv,
		jtis:   newRowCache(inv, kindRevokedJTI, revocationCacheTTL, maxCachedRevocations, keep),
		grants: newRowCache(inv, kindRevokedGrant, revocationCacheTTL, maxCachedRevocations, keep),
	}
}

// IsRevoked reports whether jti, or grantID when it is not empty, is
// revoked: from memory when both answers are cached (or the jti's is
// yes), else in one round trip whose answers are kept.
func (s *CachedGrantStore) IsRevoked(ctx context.Context, jti, grantID string) (bool, error) {
	epoch := s.inv.Epoch()
	healthy := s.inv.Healthy()
	j, okJ := s.jtis.cached(jti)
	if okJ && (j || grantID == "") {
		return j, nil
	}
	if okJ && grantID != "" {
		if g, okG := s.grants.cached(grantID); okG {
			return g, nil
		}
	}
	rj, rg, err := s.GrantStore.revoked(ctx, jti, grantID)
	if err != nil {
		return false, err
	}
	if healthy {
		s.jtis.keep(jti, rj, epoch)
		if grantID != "" {
			s.grants.keep(grantID, rg, epoch)
		}
	}
	return rj || rg, nil
}

// RevokeAccessToken writes through and forgets the jti here at once.
func (s *CachedGrantStore) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	err := s.GrantStore.RevokeAccessToken(ctx, jti, expiresAt)
	s.jtis.forget(jti)
	return err
}

// RevokeGrant writes through and forgets the grant here at once.
func (s *CachedGrantStore) RevokeGrant(ctx context.Context, grantID string, expiresAt time.Time) error {
	err := s.GrantStore.RevokeGrant(ctx, grantID, expiresAt)
	s.grants.forget(grantID)
	return err
}
