package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// ClientMetadata is the RFC 7591 §2 client metadata this provider
// understands. Other metadata is ignored, as RFC 7591 §2 requires.
type ClientMetadata struct {
	ClientName               string   `json:"client_name,omitempty"`
	RedirectURIs             []string `json:"redirect_uris"`
	PostLogoutRedirectURIs   []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes               []string `json:"grant_types"`
	ResponseTypes            []string `json:"response_types"`
	Scope                    string   `json:"scope"`
	TokenEndpointAuthMethod  string   `json:"token_endpoint_auth_method"`
	ClientURI                string   `json:"client_uri,omitempty"`
	LogoURI                  string   `json:"logo_uri,omitempty"`
	PolicyURI                string   `json:"policy_uri,omitempty"`
	TosURI                   string   `json:"tos_uri,omitempty"`
	Contacts                 []string `json:"contacts,omitempty"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg,omitempty"`
	// Keys and protocols (register_keys.go).
	JWKS                               json.RawMessage `json:"jwks,omitempty"`
	JWKSURI                            string          `json:"jwks_uri,omitempty"`
	TokenEndpointAuthSigningAlg        string          `json:"token_endpoint_auth_signing_alg,omitempty"`
	RequirePushedAuthorizationRequests bool            `json:"require_pushed_authorization_requests,omitempty"`
	DPoPBoundAccessTokens              bool            `json:"dpop_bound_access_tokens,omitempty"`
	BackchannelLogoutURI               string          `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired   bool            `json:"backchannel_logout_session_required,omitempty"`
	// TLSClientCertificateBoundAccessTokens (RFC 8705 §3.4) is read only to
	// refuse it: a client that asks for certificate-bound tokens must not
	// get bearer tokens it believes are bound.
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// Registration is the client information response (RFC 7591 §3.2.1, RFC
// 7592 §3). The secret and registration token appear only when just made.
type Registration struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri"`
	ClientMetadata
}

// Register creates a client from its metadata (RFC 7591 §3). The secret is
// returned once and stored only as a hash.
func (p *Provider) Register(ctx context.Context, md ClientMetadata) (Registration, error) {
	if !p.cfg.RegistrationEnabled {
		return Registration{}, oauthErr(CodeAccessDenied, "dynamic registration is disabled")
	}
	md, err := p.normalizeMetadata(md, nil)
	if err != nil {
		return Registration{}, err
	}
	now := p.now()
	c := domain.Client{ID: domain.ClientIDPrefix + p.deps.Random.Token(18), CreatedAt: now, UpdatedAt: now}
	applyMetadata(&c, md)
	var secret string
	if c.HoldsSecret() {
		secret = domain.ClientSecretPrefix + p.deps.Random.Token(32)
		c.SecretHash = domain.HashToken(secret)
	}
	regToken := p.deps.Random.Token(32)
	c.RegistrationTokenHash = domain.HashToken(regToken)
	if err := p.deps.Clients.CreateClient(ctx, c); err != nil {
		return Registration{}, fault.Store("create client", err)
	}
	r := p.registration(&c)
	r.ClientSecret, r.RegistrationAccessToken = secret, regToken
	return r, nil
}

// ReadRegistration returns a client's registration (RFC 7592 §2.1).
func (p *Provider) ReadRegistration(ctx context.Context, clientID, token string) (Registration, error) {
	c, err := p.registeredClient(ctx, clientID, token)
	if err != nil {
		return Registration{}, err
	}
	return p.registration(c), nil
}

// UpdateRegistration replaces a client's metadata (RFC 7592 §2.2). The body
// must name the client (bodyClientID). The client keeps its id, secret and
// registration token.
func (p *Provider) UpdateRegistration(ctx context.Context, clientID, token, bodyClientID string, md ClientMetadata) (Registration, error) {
	c, err := p.registeredClient(ctx, clientID, token)
	if err != nil {
		return Registration{}, err
	}
	if bodyClientID != clientID {
		return Registration{}, oauthErr(CodeInvalidRequest, "client_id in the body must be the client's own")
	}
	if md, err = p.normalizeMetadata(md, c); err != nil {
		return Registration{}, err
	}
	if next := (domain.Client{TokenEndpointAuthMethod: md.TokenEndpointAuthMethod}); next.Public() != c.Public() || next.HoldsSecret() != c.HoldsSecret() {
		return Registration{}, oauthErr(CodeInvalidClientMetadata, "token_endpoint_auth_method cannot change between public, secret and private_key_jwt")
	}
	now := p.now()
	updated, err := p.deps.Clients.UpdateClient(ctx, clientID, func(x *domain.Client) error {
		applyMetadata(x, md)
		x.UpdatedAt = now
		return nil
	})
	if err != nil {
		return Registration{}, fault.Store("update client", err)
	}
	return p.registration(&updated), nil
}

// DeleteRegistration deletes a client (RFC 7592 §2.3).
func (p *Provider) DeleteRegistration(ctx context.Context, clientID, token string) error {
	if _, err := p.registeredClient(ctx, clientID, token); err != nil {
		return err
	}
	if err := p.deps.Clients.DeleteClient(ctx, clientID); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return fault.Store("delete client", err)
	}
	return nil
}

// registeredClient authenticates a registration access token (RFC 7592 §3).
// A wrong token and an unknown client look the same.
func (p *Provider) registeredClient(ctx context.Context, clientID, token string) (*domain.Client, error) {
	bad := oauthErr(CodeInvalidToken, "the registration access token is invalid")
	if clientID == "" || len(clientID) > maxIDLen || token == "" || len(token) > 512 {
		return nil, bad
	}
	c, err := p.deps.Clients.GetClient(ctx, clientID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	if len(c.RegistrationTokenHash) == 0 || !domain.VerifyTokenHash(token, c.RegistrationTokenHash) {
		return nil, bad
	}
	return &c, nil
}

func (p *Provider) registration(c *domain.Client) Registration {
	r := Registration{
		ClientID: c.ID, ClientIDIssuedAt: c.CreatedAt.Unix(),
		RegistrationClientURI: p.cfg.Issuer + PathRegister + "/" + url.PathEscape(c.ID),
		ClientMetadata: ClientMetadata{
			ClientName: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
			GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, Scope: domain.JoinScope(c.Scopes),
			TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, ClientURI: c.ClientURI, LogoURI: c.LogoURI,
			PolicyURI: c.PolicyURI, TosURI: c.TosURI, Contacts: c.Contacts, IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
			JWKSURI: c.JWKSURI, TokenEndpointAuthSigningAlg: c.TokenEndpointAuthSigningAlg,
			RequirePushedAuthorizationRequests: c.RequirePAR, DPoPBoundAccessTokens: c.DPoPBound,
			BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		},
	}
	if c.JWKS != "" {
		r.JWKS = json.RawMessage(c.JWKS)
	}
	if c.HoldsSecret() {
		zero := int64(0) // secrets do not expire
		r.ClientSecretExpiresAt = &zero
	}
	return r
}

func applyMetadata(c *domain.Client, md ClientMetadata) {
	c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs = md.ClientName, md.RedirectURIs, md.PostLogoutRedirectURIs
	c.GrantTypes, c.ResponseTypes, c.Scopes = md.GrantTypes, md.ResponseTypes, domain.ParseScope(md.Scope)
	c.TokenEndpointAuthMethod, c.ClientURI, c.LogoURI = md.TokenEndpointAuthMethod, md.ClientURI, md.LogoURI
	c.Contacts, c.IDTokenSignedResponseAlg = md.Contacts, md.IDTokenSignedResponseAlg
	c.PolicyURI, c.TosURI = md.PolicyURI, md.TosURI
	c.JWKS, c.JWKSURI, c.TokenEndpointAuthSigningAlg = string(md.JWKS), md.JWKSURI, md.TokenEndpointAuthSigningAlg
	c.RequirePAR, c.DPoPBound = md.RequirePushedAuthorizationRequests, md.DPoPBoundAccessTokens
	c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = md.BackchannelLogoutURI, md.BackchannelLogoutSessionRequired
}

func metadataErr(code, format string, args ...any) error { return oauthErr(code, format, args...) }

// normalizeMetadata applies defaults and checks client metadata (RFC 7591
// §2). existing is the client being updated, nil on registration.
func (p *Provider) normalizeMetadata(md ClientMetadata, existing *domain.Client) (_ ClientMetadata, err error) {
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = []string{domain.GrantAuthorizationCode}
	}
	if len(md.ResponseTypes) == 0 && slices.Contains(md.GrantTypes, domain.GrantAuthorizationCode) {
		md.ResponseTypes = []string{domain.ResponseTypeCode}
	}
	if md.TokenEndpointAuthMethod == "" {
		md.TokenEndpointAuthMethod = domain.AuthMethodSecretPost
	}
	if strings.TrimSpace(md.Scope) == "" {
		// Every standard scope discovery advertises, never an extended one
		// (organization, permissions), which needs an administrator.
		md.Scope = domain.JoinScope(domain.StandardScopes)
	}
	md.ClientName = strings.TrimSpace(md.ClientName)
	if err := checkGrants(md); err != nil {
		return md, err
	}
	if err := p.checkMetadataValues(md, existing); err != nil {
		return md, err
	}
	if md, err = p.checkKeysAndProtocols(md); err != nil {
		return md, err
	}
	md.Scope = domain.JoinScope(domain.ParseScope(md.Scope))
	return md, nil
}

func checkGrants(md ClientMetadata) error {
	for _, typ := range md.GrantTypes {
		if g, ok := grantFor(typ); !ok || !g.registrable {
			return metadataErr(CodeInvalidClientMetadata, "grant_type %q is not supported", clip(typ))
		}
	}
	for _, r := range md.ResponseTypes {
		if r != domain.ResponseTypeCode {
			return metadataErr(CodeInvalidClientMetadata, "response_type %q is not supported (only code)", clip(r))
		}
	}
	if slices.Contains(md.GrantTypes, domain.GrantAuthorizationCode) != slices.Contains(md.ResponseTypes, domain.ResponseTypeCode) {
		// RFC 7591 §2.1: grant_types and response_types must agree.
		return metadataErr(CodeInvalidClientMetadata, "response_types code goes with grant_types authorization_code")
	}
	for _, typ := range md.GrantTypes { // all known: checked above
		if g, _ := grantFor(typ); g.requiresOneOf != nil && !slices.ContainsFunc(g.requiresOneOf, func(r string) bool { return slices.Contains(md.GrantTypes, r) }) {
			return metadataErr(CodeInvalidClientMetadata, "grant_types %s needs %s", g.typ, strings.Join(g.requiresOneOf, " or "))
		}
	}
	switch md.TokenEndpointAuthMethod {
	case domain.AuthMethodSecretPost, domain.AuthMethodSecretBasic, domain.AuthMethodNone, domain.AuthMethodPrivateKeyJWT:
	default:
		return metadataErr(CodeInvalidClientMetadata, "token_endpoint_auth_method %q is not supported (%s)", clip(md.TokenEndpointAuthMethod), strings.Join(authMethods, ", "))
	}
	// The registry's eligibility rules, on the client as it would be stored.
	c := domain.Client{TokenEndpointAuthMethod: md.TokenEndpointAuthMethod, GrantTypes: md.GrantTypes}
	for _, typ := range md.GrantTypes {
		g, _ := grantFor(typ)
		if why := g.refuses(&c); why != "" {
			return metadataErr(CodeInvalidClientMetadata, "%s", why)
		}
	}
	return nil
}

func (p *Provider) checkMetadataValues(md ClientMetadata, existing *domain.Client) error {
	if !domain.PrintableText(md.ClientName, 200) {
		return metadataErr(CodeInvalidClientMetadata, "client_name must be printable UTF-8 of at most 200 characters")
	}
	if slices.Contains(md.GrantTypes, domain.GrantAuthorizationCode) && len(md.RedirectURIs) == 0 {
		return metadataErr(CodeInvalidRedirectURI, "redirect_uris is required for the authorization_code grant")
	}
	if len(md.RedirectURIs) > 20 || len(md.PostLogoutRedirectURIs) > 20 || len(md.Contacts) > 10 {
		return metadataErr(CodeInvalidClientMetadata, "too many redirect URIs or contacts")
	}
	for _, u := range md.RedirectURIs {
		if err := domain.ValidateRedirectURI(u); err != nil {
			return metadataErr(CodeInvalidRedirectURI, "redirect_uri %q %s", clip(u), err)
		}
	}
	for _, u := range md.PostLogoutRedirectURIs {
		if err := domain.ValidateRedirectURI(u); err != nil {
			return metadataErr(CodeInvalidClientMetadata, "post_logout_redirect_uri %q %s", clip(u), err)
		}
	}
	for name, u := range map[string]string{"client_uri": md.ClientURI, "logo_uri": md.LogoURI} {
		if u != "" && domain.ValidateRedirectURI(u) != nil {
			return metadataErr(CodeInvalidClientMetadata, "%s must be an https URL in printable ASCII", name)
		}
	}
	for name, u := range map[string]string{"policy_uri": md.PolicyURI, "tos_uri": md.TosURI} {
		// Shown on the consent page as links to the client's pages.
		if u != "" && (domain.ValidateRedirectURI(u) != nil || !strings.HasPrefix(u, "https://")) {
			return metadataErr(CodeInvalidClientMetadata, "%s must be an https URL in printable ASCII", name)
		}
	}
	for _, c := range md.Contacts {
		// OpenID Connect Dynamic Client Registration §2: e-mail addresses.
		if !domain.ValidEmail(c) {
			return metadataErr(CodeInvalidClientMetadata, "contacts must be email addresses; %q is not one", clip(c))
		}
	}
	if md.IDTokenSignedResponseAlg != "" && !slices.Contains(p.cfg.Algorithms, md.IDTokenSignedResponseAlg) {
		return metadataErr(CodeInvalidClientMetadata, "id_token_signed_response_alg must be one of %s", strings.Join(p.cfg.Algorithms, ", "))
	}
	for _, s := range domain.ParseScope(md.Scope) {
		if !domain.ValidScopeToken(s) || !domain.KnownScope(s) {
			return metadataErr(CodeInvalidClientMetadata, "scope %q is not supported", clip(s))
		}
		// The guide §2: extended scopes need an administrator's approval.
		if domain.IsExtendedScope(s) && (existing == nil || !slices.Contains(existing.ApprovedScopes, s)) {
			return metadataErr(CodeInvalidClientMetadata, "scope %q requires approval by a Calimatic administrator", s)
		}
	}
	return nil
}
