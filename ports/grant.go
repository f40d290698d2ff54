package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// GrantStore keeps everything an authorization grant leaves behind. It is the
// union of four small stores so that a caller can ask for only what it needs.
type GrantStore interface {
	AuthCodeStore
	RefreshTokenStore
	RevocationStore
	ConsentStore
}

// AuthCodeStore keeps authorization codes by hash.
type AuthCodeStore interface {
	// CreateAuthCode stores a code. ErrAlreadyExists if the hash is taken.
	CreateAuthCode(ctx context.Context, c domain.AuthCode) error
	// RedeemAuthCode marks the code redeemed at now by clientID and returns
	// it, in one atomic step: of any number of concurrent calls for one code
	// exactly one succeeds. Only the client the code was issued to can spend
	// it (RFC 6749 §4.1.3): a leaked code in another client's hands must not
	// be used up before its own client redeems it.
	//   - ErrNotFound: no such code, it expired (ExpiresAt <= now), or it was
	//     issued to another client; the code is left as it was.
	//   - ErrAlreadyUsed: it was redeemed before; the returned code (with its
	//     GrantID) lets the caller revoke what the first redemption issued.
	RedeemAuthCode(ctx context.Context, hash []byte, clientID string, now time.Time) (domain.AuthCode, error)
}

// RefreshTokenStore keeps refresh-token families and their tokens by hash.
type RefreshTokenStore interface {
	// CreateRefreshFamily stores a family and its first token atomically.
	// ErrAlreadyExists if the family id or the token hash is taken. A first
	// token with a nil Hash stores the family alone: the record of a grant
	// whose client gets no refresh token (domain.RefreshFamily), which
	// mints nothing and is there to be revoked.
	CreateRefreshFamily(ctx context.Context, f domain.RefreshFamily, first domain.RefreshToken) error
	// GetRefreshFamily returns a family by id. ErrNotFound if there is none.
	GetRefreshFamily(ctx context.Context, id string) (domain.RefreshFamily, error)
	// RotateRefreshToken spends the token with hash old and stores next in the
	// same family (next.FamilyID is set by the store), atomically:
	//   - the token is live: it is marked rotated at now, next is stored:
	//     Rotated. Of concurrent calls for one live token exactly one gets
	//     Rotated.
	//   - the token was rotated at t, grace > 0 and now-t <= grace: next is
	//     stored: RotatedInGrace. A grace of 0 means no window at all.
	//   - the token was rotated earlier: nothing is stored: Replayed (the
	//     caller revokes the family).
	// The family is returned in every case. ErrNotFound if no token has that
	// hash, or if its family is revoked or expired at now (nothing is stored).
	RotateRefreshToken(ctx context.Context, old []byte, next domain.RefreshToken, now time.Time, grace time.Duration) (domain.RefreshFamily, domain.RotateOutcome, error)
	// GetRefreshToken returns the token with this hash and its family.
	// ErrNotFound if there is none.
	GetRefreshToken(ctx context.Context, hash []byte) (domain.RefreshToken, domain.RefreshFamily, error)
	// RevokeRefreshFamily marks a family revoked at now; revoking twice keeps
	// the first time. ErrNotFound if there is no such family.
	RevokeRefreshFamily(ctx context.Context, id string, now time.Time) error
	// RevokeUserRefreshFamilies revokes every live family of a user.
	RevokeUserRefreshFamilies(ctx context.Context, userID string, now time.Time) error
	// RevokeUserClientRefreshFamilies revokes every family of the user for
	// clientID that is live at now, as RevokeUserRefreshFamilies does for
	// every client, and returns the ids of the families it revoked (in no
	// order; empty when none was live). Revoked and expired families keep
	// what they have and are not returned, and the user's families for
	// other clients, and other users' families for clientID, are left
	// alone.
	//
	// It revokes refresh tokens only. An access token carries its family's
	// id as grant_id, but access tokens are checked against the
	// RevocationStore, never against the family: the caller passes the
	// returned ids to RevokeGrant, in the same unit of work, so that the
	// access tokens the families issued die with them.
	RevokeUserClientRefreshFamilies(ctx context.Context, userID, clientID string, now time.Time) ([]string, error)
}

// RevocationStore remembers revoked access tokens and grants until the tokens
// they cover have expired; after that the records may be deleted.
type RevocationStore interface {
	// RevokeAccessToken records jti as revoked until expiresAt. Idempotent.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error
	// RevokeGrant records that every access token carrying grantID is revoked,
	// until expiresAt. Idempotent.
	RevokeGrant(ctx context.Context, grantID string, expiresAt time.Time) error
	// IsRevoked reports whether jti, or grantID when it is not empty, is revoked.
	IsRevoked(ctx context.Context, jti, grantID string) (bool, error)
}

// ConsentStore keeps the scopes users granted clients.
type ConsentStore interface {
	// GetConsent returns the consent of user for client. ErrNotFound if none.
	GetConsent(ctx context.Context, userID, clientID string) (domain.Consent, error)
	// PutConsent creates the consent, or adds its scopes to the existing one,
	// in one atomic upsert. Scopes already granted are kept.
	PutConsent(ctx context.Context, c domain.Consent) error
	// DeleteConsent removes a consent. ErrNotFound if there is none.
	DeleteConsent(ctx context.Context, userID, clientID string) error
	// ListUserConsents returns every consent the user granted, ordered by
	// client id, at most MaxUserConsents of them (the first by client id);
	// empty if none. A deleted consent is not listed.
	ListUserConsents(ctx context.Context, userID string) ([]domain.Consent, error)
}

// MaxUserConsents bounds ConsentStore.ListUserConsents. A user consents
// once per client, so this is more apps than one person uses; the bound
// keeps one read small whatever the data holds.
const MaxUserConsents = 200
