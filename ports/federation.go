package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// IdentityProviderStore keeps the organizations' upstream identity
// providers. Stores seal ClientSecret at rest under the key-encryption key,
// bound to the provider's id; there is no unsealed mode but memory's.
type IdentityProviderStore interface {
	// CreateIdentityProvider stores a new provider. ErrAlreadyExists if
	// its id is taken.
	CreateIdentityProvider(ctx context.Context, p domain.IdentityProvider) error
	// GetIdentityProvider returns a provider by id, ErrNotFound if none.
	GetIdentityProvider(ctx context.Context, id string) (domain.IdentityProvider, error)
	// ListIdentityProviders returns an organization's providers ordered by
	// CreatedAt then id; empty (not an error) when it has none.
	ListIdentityProviders(ctx context.Context, organizationID string) ([]domain.IdentityProvider, error)
	// UpdateIdentityProvider reads a provider, applies fn and writes the
	// result atomically. If fn returns an error nothing is written and the
	// error is returned. ErrNotFound if there is no such provider.
	UpdateIdentityProvider(ctx context.Context, id string, fn func(*domain.IdentityProvider) error) (domain.IdentityProvider, error)
	// HasIdentityProviders reports whether any organization has a
	// provider: the sign-in page then asks for the email first.
	HasIdentityProviders(ctx context.Context) (bool, error)
	// DeleteIdentityProvider removes a provider; the identities linked
	// through it stay linked. ErrNotFound if there is none.
	DeleteIdentityProvider(ctx context.Context, id string) error
}

// LinkedIdentityStore keeps the upstream identities linked to accounts.
type LinkedIdentityStore interface {
	// LinkIdentity records a link. ErrAlreadyExists if (Issuer, Subject)
	// is linked already, to any account: of two racing links exactly one
	// wins.
	LinkIdentity(ctx context.Context, l domain.LinkedIdentity) error
	// GetLinkedIdentity returns the link of (issuer, subject), ErrNotFound
	// if none.
	GetLinkedIdentity(ctx context.Context, issuer, subject string) (domain.LinkedIdentity, error)
	// ListLinkedIdentities returns a user's links ordered by CreatedAt then
	// issuer and subject; empty when none.
	ListLinkedIdentities(ctx context.Context, userID string) ([]domain.LinkedIdentity, error)
	// UnlinkIdentity removes one link. ErrNotFound if there is none.
	UnlinkIdentity(ctx context.Context, issuer, subject string) error
	// DeleteUserIdentities removes every link of a user, as the user is
	// deleted. No error if there are none.
	DeleteUserIdentities(ctx context.Context, userID string) error
}

// UpstreamExchange is an authorization code to redeem at an upstream's
// token endpoint (RFC 6749 §4.1.3, with RFC 7636's code_verifier).
type UpstreamExchange struct {
	Metadata     domain.UpstreamMetadata
	ClientID     string
	ClientSecret string
	Code         string
	CodeVerifier string
	RedirectURI  string
}

// Upstream speaks to upstream OpenID providers over HTTP.
//
// Errors: one wrapping domain.ErrUnavailable when the upstream can't be
// reached or answers garbage (a 5xx, a timeout, a malformed document), so
// the user may try again later; one wrapping domain.ErrInvalidToken when
// an ID token fails its signature or can't be parsed; any other error is
// the upstream refusing the code (invalid_grant and the like) or a
// setting the adapter refuses (an http URL where https is required).
type Upstream interface {
	// Discover returns the metadata in issuer's discovery document,
	// checking that it names issuer exactly (Discovery §4.3). Adapters
	// cache it for a while.
	Discover(ctx context.Context, issuer string) (domain.UpstreamMetadata, error)
	// Exchange redeems a code and returns the claims of the ID token it
	// was answered with, once the token's signature has been checked
	// against the keys at Metadata.JWKSURI (refetched when a token names a
	// key not yet known, so the upstream's key rotations are followed).
	// Nothing else about the claims is checked: that is the caller's.
	Exchange(ctx context.Context, x UpstreamExchange) (map[string]any, error)
}

// TXTResolver looks up DNS TXT records, for domain verification.
type TXTResolver interface {
	// LookupTXT returns the TXT records at name; none (not an error) when
	// the name has none or does not exist. An error means the lookup
	// itself failed (a timeout, SERVFAIL).
	LookupTXT(ctx context.Context, name string) ([]string, error)
}
