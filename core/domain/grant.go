package domain

import (
	"slices"
	"time"
)

// AuthCode is an issued authorization code. Only its hash is stored.
// RFC 6749 §4.1.2: a code is short-lived and single use.
type AuthCode struct {
	Hash                []byte
	ClientID            string
	UserID              string
	RedirectURI         string
	Scopes              []string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	SessionID           string // the public sid of the browser session
	AMR                 []string
	// DPoPJKT binds the code to a DPoP key (RFC 9449 §10): the token
	// request must carry a proof made with the key of this thumbprint. ""
	// when the authorization request named none.
	DPoPJKT string
	// Claims is the request's claims parameter (RequestedClaims.String),
	// "" for none.
	Claims string
	// GrantID names everything the code issues (the refresh family and the
	// access tokens' grant_id), so a replay can revoke it all.
	GrantID    string
	ExpiresAt  time.Time
	RedeemedAt time.Time // zero until redeemed
	CreatedAt  time.Time
}

// RefreshFamily is the lineage of refresh tokens descended from one
// authorization grant. Rotation keeps the family; replay revokes it.
//
// A grant whose client is not registered for refresh_token has a family
// too, with no token, that lives as long as the grant's access token: it
// is how the grant is found when the user revokes the client's access
// (the account page), so that its access token is revoked with the rest.
type RefreshFamily struct {
	ID        string // equals the GrantID of the code that started it
	ClientID  string
	UserID    string
	Scopes    []string
	AuthTime  time.Time
	SessionID string
	AMR       []string
	// DPoPJKT is the RFC 7638 thumbprint of the DPoP key the family's
	// tokens are bound to (RFC 9449 §5: a public client's refresh tokens
	// are), "" when they are not bound. It never changes.
	DPoPJKT string
	// Claims is the claims parameter of the authorization that started
	// the family (RequestedClaims.String): its tokens carry the same
	// claims. "" for none.
	Claims    string
	CreatedAt time.Time
	ExpiresAt time.Time // absolute end of the family
	RevokedAt time.Time // zero while usable
}

// Active reports whether the family can still mint tokens at now.
func (f *RefreshFamily) Active(now time.Time) bool {
	return f.RevokedAt.IsZero() && now.Before(f.ExpiresAt)
}

// RefreshToken is one member of a family. Only its hash is stored.
type RefreshToken struct {
	Hash      []byte
	FamilyID  string
	CreatedAt time.Time
	RotatedAt time.Time // zero while it is the family's live token
}

// RotateOutcome says what a rotation found.
type RotateOutcome int

const (
	// Rotated: the presented token was live; it is now spent and the next token stored.
	Rotated RotateOutcome = iota + 1
	// RotatedInGrace: the token had been rotated, but within the grace window,
	// so a concurrent retry was honoured and the next token stored.
	RotatedInGrace
	// Replayed: the token had been rotated before the grace window. Nothing was
	// stored; the caller must revoke the family (RFC 9700 §4.14.2).
	Replayed
)

// Consent records the scopes a user granted a client.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Covers reports whether the consent already includes every scope in want.
func (c *Consent) Covers(want []string) bool {
	for _, s := range want {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}
