package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"time"
)

// Client ID and secret prefixes from the integration guide, §1.
const (
	ClientIDPrefix     = "cca_"
	ClientSecretPrefix = "ccas_"
)

// Token endpoint authentication methods (RFC 7591 §2).
const (
	AuthMethodSecretPost  = "client_secret_post"
	AuthMethodSecretBasic = "client_secret_basic"
	AuthMethodNone        = "none"
	// AuthMethodPrivateKeyJWT clients sign an assertion with a key they
	// registered (RFC 7523 §2.2, OIDC Core §9).
	AuthMethodPrivateKeyJWT = "private_key_jwt"
)

// Algorithms a client may sign its assertions and proofs with (RFC 7518
// §3.1, RFC 8037 §3.1). Symmetric ones are not among them: a client's
// signature must be something only the client can make.
var ClientSigningAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// Grant types this provider implements.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code" // RFC 8628 §3.4
)

// ResponseTypeCode is the only response type: the authorization code flow.
const ResponseTypeCode = "code"

// Client is a registered OAuth 2.0 client. Its secret and registration access
// token are kept only as SHA-256 hashes: they are 256-bit random values, so a
// fast hash is safe and keeps the token endpoint fast.
type Client struct {
	ID                       string
	SecretHash               []byte // nil for public clients
	RegistrationTokenHash    []byte
	Name                     string
	RedirectURIs             []string
	PostLogoutRedirectURIs   []string
	GrantTypes               []string
	ResponseTypes            []string
	Scopes                   []string // the scopes the client may request
	TokenEndpointAuthMethod  string
	ClientURI                string
	LogoURI                  string
	PolicyURI                string // the client's privacy policy, shown at consent
	TosURI                   string // the client's terms of service, shown at consent
	Contacts                 []string
	IDTokenSignedResponseAlg string // "" means the provider default
	// JWKS is the client's public JSON Web Key Set (RFC 7591 §2 jwks), as
	// registered; JWKSURI where it publishes one instead. A client has at
	// most one of them. private_key_jwt assertions are checked against it.
	JWKS    string
	JWKSURI string
	// TokenEndpointAuthSigningAlg pins the algorithm of the client's
	// assertions; "" accepts any of ClientSigningAlgs.
	TokenEndpointAuthSigningAlg string
	// RequirePAR makes the client send every authorization request through
	// the pushed authorization request endpoint (RFC 9126 §6).
	RequirePAR bool
	// DPoPBound makes the client's access tokens sender-constrained: the
	// token endpoint refuses it without a DPoP proof (RFC 9449 §5.2).
	DPoPBound bool
	// BackchannelLogoutURI receives a logout token when a session the client
	// got tokens in ends (OIDC Back-Channel Logout 1.0 §2.2);
	// BackchannelLogoutSessionRequired asks for the sid in it.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	// ApprovedScopes lists the extended scopes (organization, permissions) an
	// administrator approved for this client.
	ApprovedScopes []string
	// FirstParty clients skip the consent screen.
	FirstParty bool
	// LicenseRequired admits at authorize only users who hold this
	// client's license.
	LicenseRequired bool
	// PKCERequired makes PKCE mandatory for this client whatever the
	// server's policy (PKCEPublic leaves it optional for confidential ones).
	PKCERequired bool
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// PKCE policies (oidc.pkce_required).
const (
	// PKCEAll requires PKCE S256 from every client: the guide's advice
	// and RFC 9700 §2.1.1's.
	PKCEAll = "all"
	// PKCEPublic requires it from public clients, and from clients an
	// administrator marked PKCERequired; a confidential OpenID client may
	// rely on nonce instead (RFC 9700 §2.1.1), as OpenID certification's
	// test suite does.
	PKCEPublic = "public"
)

// NeedsPKCE reports whether the client must send PKCE under policy.
func (c *Client) NeedsPKCE(policy string) bool {
	return policy != PKCEPublic || c.Public() || c.PKCERequired
}

// SignsAssertions reports whether the client authenticates with a signed
// assertion (private_key_jwt) rather than a secret.
func (c *Client) SignsAssertions() bool { return c.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT }

// HoldsSecret reports whether the client authenticates with a secret we
// issued (client_secret_post or client_secret_basic).
func (c *Client) HoldsSecret() bool { return !c.Public() && !c.SignsAssertions() }

// Public reports whether the client has no secret (token_endpoint_auth_method none).
func (c *Client) Public() bool { return c.TokenEndpointAuthMethod == AuthMethodNone }

// Active reports whether the client may still obtain and use tokens.
func (c *Client) Active() bool { return !c.Disabled }

// AllowsGrant reports whether grantType was registered for the client.
func (c *Client) AllowsGrant(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// Clone returns a copy of c that shares no slice with it, for stores and
// caches that must not let a caller change what they keep.
func (c Client) Clone() Client {
	c.SecretHash = slices.Clone(c.SecretHash)
	c.RegistrationTokenHash = slices.Clone(c.RegistrationTokenHash)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	c.Scopes = slices.Clone(c.Scopes)
	c.Contacts = slices.Clone(c.Contacts)
	c.ApprovedScopes = slices.Clone(c.ApprovedScopes)
	return c
}

// HasRedirectURI reports whether uri is registered, by exact string comparison
// (RFC 6749 §3.1.2.3, OAuth 2.0 Security BCP §4.1: no partial matching).
func (c *Client) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// HasPostLogoutRedirectURI reports whether uri is registered for end session.
func (c *Client) HasPostLogoutRedirectURI(uri string) bool {
	return slices.Contains(c.PostLogoutRedirectURIs, uri)
}

// VerifySecret compares a presented secret with the stored hash in constant time.
func (c *Client) VerifySecret(secret string) bool {
	return len(c.SecretHash) > 0 && VerifyTokenHash(secret, c.SecretHash)
}

// HashToken hashes a high-entropy secret (client secret, code, refresh token,
// registration token) for storage and lookup.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// VerifyTokenHash reports, in constant time, whether token hashes to want.
func VerifyTokenHash(token string, want []byte) bool {
	got := HashToken(token)
	return subtle.ConstantTimeCompare(got, want) == 1
}
