package domain

import (
	"slices"
	"time"
)

// IdentityProvider is an organization's upstream OpenID provider: its
// members sign in there (Google Workspace, Microsoft Entra ID, another
// Calimatic) and Calimatic accepts who it says they are. Stores seal
// ClientSecret at rest as they seal signing keys; here it is plain.
type IdentityProvider struct {
	ID             string
	OrganizationID string
	Name           string // shown on the sign-in button
	Issuer         string // exactly as the upstream's discovery document and ID tokens give it
	ClientID       string
	ClientSecret   string
	// Scopes are asked for besides openid; nil means "email profile".
	Scopes []string
	// Domains are the mail domains whose users this provider signs in:
	// each is verified for OrganizationID, normalised, sorted.
	Domains []string
	// JITProvisioning creates an account, in OrganizationID, for an
	// upstream user who has none.
	JITProvisioning bool
	// LinkExisting links an upstream user to the account with the same
	// email when the upstream says the email is verified.
	LinkExisting bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ServesDomain reports whether d (normalised) is one of p's domains.
func (p *IdentityProvider) ServesDomain(d string) bool {
	_, ok := slices.BinarySearch(p.Domains, d)
	return ok
}

// LinkedIdentity ties an upstream identity, the pair (Issuer, Subject), to
// a Calimatic account. An issuer's subjects are unique and never reused
// (OIDC Core §2), so the pair names one person however many organizations
// configure that issuer.
type LinkedIdentity struct {
	Issuer  string
	Subject string
	UserID  string
	// ProviderID is the provider the identity was linked through; it may
	// since have been deleted.
	ProviderID string
	// Email is what the upstream said when the identity was linked.
	Email     string
	CreatedAt time.Time
}

// UpstreamMetadata is what an upstream's discovery document
// (OpenID Connect Discovery §3) says that a sign-in there needs.
type UpstreamMetadata struct {
	Issuer                string
	AuthorizationEndpoint string
	TokenEndpoint         string
	JWKSURI               string
	EndSessionEndpoint    string // "" when the upstream has none
	// TokenEndpointAuthMethods are the upstream's
	// token_endpoint_auth_methods_supported; empty means
	// client_secret_basic (Discovery §3).
	TokenEndpointAuthMethods []string
	// CodeChallengeMethods are its code_challenge_methods_supported,
	// empty when it does not say (Google and Entra ID support S256 all
	// the same).
	CodeChallengeMethods []string
}

// UpstreamAttempt is a sign-in sent to an upstream provider and not yet
// back: what the callback checks the answer against. It lives in the
// pending request (AuthRequest.Upstream), so it expires with it.
type UpstreamAttempt struct {
	ProviderID string
	// State is the random part of the state parameter; the whole is the
	// request's id, a dot and this.
	State        string
	Nonce        string
	CodeVerifier string
	StartedAt    time.Time
	// Fresh asks the upstream to have the user sign in again within
	// MaxAge seconds (0: now), as the client's prompt=login or max_age
	// asked of us: the ID token must then carry an auth_time that recent
	// (OIDC Core §3.1.2.1).
	Fresh  bool
	MaxAge int
}
