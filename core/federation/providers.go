package federation

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// ProviderInput is a new upstream provider, as an administrator sends it.
type ProviderInput struct {
	Name            string
	Issuer          string
	ClientID        string
	ClientSecret    string
	Scopes          []string
	Domains         []string
	JITProvisioning bool
	LinkExisting    bool
}

// ProviderPatch changes some of a provider's settings; nil leaves one as
// it is.
type ProviderPatch struct {
	Name            *string
	Issuer          *string
	ClientID        *string
	ClientSecret    *string
	Scopes          *[]string
	Domains         *[]string
	JITProvisioning *bool
	LinkExisting    *bool
}

// Limits on a provider's settings.
const (
	maxName       = 100
	maxIssuer     = 512
	maxClientID   = 255
	maxSecret     = 1024
	maxScopes     = 20
	maxDomains    = 50
	maxProviders  = 20 // per organization
	defaultScopes = "email profile"
)

var (
	errNoProvider = fault.New(fault.NotFound, "identity_provider_not_found", "this organization has no identity provider with that id")
	errNoOrg      = fault.New(fault.NotFound, "organization_not_found", "organization not found")
)

// CreateProvider adds an upstream provider to an organization. Its
// discovery document must be reachable and name its issuer.
func (s *Service) CreateProvider(ctx context.Context, orgID string, in ProviderInput) (domain.IdentityProvider, error) {
	if err := s.checkOrg(ctx, orgID); err != nil {
		return domain.IdentityProvider{}, err
	}
	existing, err := s.deps.Providers.ListIdentityProviders(ctx, orgID)
	if err != nil {
		return domain.IdentityProvider{}, fault.Store("list identity providers", err)
	}
	if len(existing) >= maxProviders {
		return domain.IdentityProvider{}, fault.New(fault.Conflict, "too_many_identity_providers", "an organization may have at most %d identity providers", maxProviders)
	}
	now := s.now()
	p := domain.IdentityProvider{
		ID: s.deps.Random.UUID(), OrganizationID: orgID, Name: strings.TrimSpace(in.Name), Issuer: strings.TrimSpace(in.Issuer),
		ClientID: in.ClientID, ClientSecret: in.ClientSecret, JITProvisioning: in.JITProvisioning, LinkExisting: in.LinkExisting,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.checkSettings(&p); err != nil {
		return domain.IdentityProvider{}, err
	}
	if p.Scopes, err = checkScopes(in.Scopes); err != nil {
		return domain.IdentityProvider{}, err
	}
	if p.Domains, err = s.checkDomains(ctx, orgID, p.ID, in.Domains, existing); err != nil {
		return domain.IdentityProvider{}, err
	}
	if err := s.discover(ctx, p.Issuer); err != nil {
		return domain.IdentityProvider{}, err
	}
	if err := s.deps.Providers.CreateIdentityProvider(ctx, p); err != nil {
		return domain.IdentityProvider{}, fault.Store("create identity provider", err)
	}
	return p, nil
}

// GetProvider returns one of an organization's providers.
func (s *Service) GetProvider(ctx context.Context, orgID, id string) (domain.IdentityProvider, error) {
	if id == "" || len(id) > 64 {
		return domain.IdentityProvider{}, errNoProvider
	}
	p, err := s.deps.Providers.GetIdentityProvider(ctx, id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.IdentityProvider{}, errNoProvider
	case err != nil:
		return domain.IdentityProvider{}, fault.Store("get identity provider", err)
	case p.OrganizationID != orgID:
		// Another organization's provider is not found here.
		return domain.IdentityProvider{}, errNoProvider
	}
	return p, nil
}

// ListProviders returns an organization's providers.
func (s *Service) ListProviders(ctx context.Context, orgID string) ([]domain.IdentityProvider, error) {
	if err := s.checkOrg(ctx, orgID); err != nil {
		return nil, err
	}
	ps, err := s.deps.Providers.ListIdentityProviders(ctx, orgID)
	if err != nil {
		return nil, fault.Store("list identity providers", err)
	}
	return ps, nil
}

// UpdateProvider changes a provider. A changed issuer is discovered again.
func (s *Service) UpdateProvider(ctx context.Context, orgID, id string, patch ProviderPatch) (domain.IdentityProvider, error) {
	before, err := s.GetProvider(ctx, orgID, id)
	if err != nil {
		return domain.IdentityProvider{}, err
	}
	next := before
	next.Scopes, next.Domains = slices.Clone(before.Scopes), slices.Clone(before.Domains)
	set(&next.Name, patch.Name, strings.TrimSpace)
	set(&next.Issuer, patch.Issuer, strings.TrimSpace)
	set(&next.ClientID, patch.ClientID, nil)
	set(&next.ClientSecret, patch.ClientSecret, nil)
	set(&next.JITProvisioning, patch.JITProvisioning, nil)
	set(&next.LinkExisting, patch.LinkExisting, nil)
	if patch.Scopes != nil {
		if next.Scopes, err = checkScopes(*patch.Scopes); err != nil {
			return domain.IdentityProvider{}, err
		}
	}
	if patch.Domains != nil {
		others, err := s.deps.Providers.ListIdentityProviders(ctx, orgID)
		if err != nil {
			return domain.IdentityProvider{}, fault.Store("list identity providers", err)
		}
		if next.Domains, err = s.checkDomains(ctx, orgID, id, *patch.Domains, others); err != nil {
			return domain.IdentityProvider{}, err
		}
	}
	if err := s.checkSettings(&next); err != nil {
		return domain.IdentityProvider{}, err
	}
	if next.Issuer != before.Issuer {
		if err := s.discover(ctx, next.Issuer); err != nil {
			return domain.IdentityProvider{}, err
		}
	}
	next.UpdatedAt = s.now()
	out, err := s.deps.Providers.UpdateIdentityProvider(ctx, id, func(p *domain.IdentityProvider) error {
		*p = next
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return domain.IdentityProvider{}, errNoProvider
	}
	if err != nil {
		return domain.IdentityProvider{}, fault.Store("update identity provider", err)
	}
	return out, nil
}

// DeleteProvider removes a provider. The identities linked through it stay
// linked: another provider of the same issuer still signs them in.
func (s *Service) DeleteProvider(ctx context.Context, orgID, id string) error {
	if _, err := s.GetProvider(ctx, orgID, id); err != nil {
		return err
	}
	err := s.deps.Providers.DeleteIdentityProvider(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return errNoProvider
	}
	if err != nil {
		return fault.Store("delete identity provider", err)
	}
	return nil
}

func set[T any](dst *T, v *T, norm func(T) T) {
	if v == nil {
		return
	}
	*dst = *v
	if norm != nil {
		*dst = norm(*v)
	}
}

func (s *Service) checkOrg(ctx context.Context, orgID string) error {
	if orgID == "" || len(orgID) > 64 {
		return errNoOrg
	}
	_, err := s.deps.Orgs.GetOrganization(ctx, orgID)
	if errors.Is(err, domain.ErrNotFound) {
		return errNoOrg
	}
	if err != nil {
		return fault.Store("get organization", err)
	}
	return nil
}

// checkSettings checks a provider's name, issuer and client.
func (s *Service) checkSettings(p *domain.IdentityProvider) error {
	switch {
	case p.Name == "" || !domain.PrintableText(p.Name, maxName):
		return fault.New(fault.Invalid, "invalid_name", "name must be 1 to %d printable characters", maxName)
	case p.ClientID == "" || len(p.ClientID) > maxClientID || !domain.PrintableText(p.ClientID, maxClientID):
		return fault.New(fault.Invalid, "invalid_client_id", "clientId must be 1 to %d printable characters, as the upstream issued it", maxClientID)
	case p.ClientSecret == "" || len(p.ClientSecret) > maxSecret || !domain.PrintableText(p.ClientSecret, maxSecret):
		return fault.New(fault.Invalid, "invalid_client_secret", "clientSecret must be 1 to %d printable characters, as the upstream issued it", maxSecret)
	}
	return s.checkIssuer(p.Issuer)
}

// discover checks that an issuer's discovery document can be had, so that
// a typo shows when the provider is saved rather than at a pupil's first
// sign-in.
func (s *Service) discover(ctx context.Context, issuer string) error {
	if _, err := s.deps.Upstream.Discover(ctx, issuer); err != nil {
		return fault.New(fault.Invalid, "issuer_unreachable", "the discovery document of %q could not be used: %s", clip(issuer), clip(err.Error()))
	}
	return nil
}

// checkIssuer refuses an issuer that is not an absolute URL without query
// or fragment (OIDC Discovery §2), an http one where https is required,
// and Entra ID's multi-tenant issuers, whose tokens any tenant's user
// could present.
func (s *Service) checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	bad := err != nil || len(issuer) > maxIssuer || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		u.ForceQuery || !(u.Scheme == "https" || u.Scheme == "http" && !s.cfg.RequireHTTPS)
	if bad {
		return fault.New(fault.Invalid, "invalid_issuer", "issuer must be the upstream's https URL, exactly as its ID tokens give it, with no query or fragment")
	}
	if tenant, ok := entraTenant(issuer); ok && multiTenant(tenant) {
		return fault.New(fault.Invalid, "invalid_issuer", "use your Entra ID tenant's own issuer, https://login.microsoftonline.com/{tenant-id}/v2.0, not %q, which any tenant's users could sign in through", tenant)
	}
	return nil
}

// checkScopes validates the extra scopes: scope tokens (RFC 6749 §3.3),
// openid dropped as it is always asked, no repeats. Nil (none given)
// stays nil: "email profile".
func checkScopes(in []string) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	if len(in) > maxScopes {
		return nil, fault.New(fault.Invalid, "invalid_scopes", "at most %d scopes", maxScopes)
	}
	out := []string{}
	for _, sc := range in {
		if !domain.ValidScopeToken(sc) {
			return nil, fault.New(fault.Invalid, "invalid_scopes", "%q is not a scope", clip(sc))
		}
		if sc != "openid" && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// checkDomains normalises the provider's domains and checks that each is
// verified for the organization and served by none of its other
// providers, so that an email leads to one provider.
func (s *Service) checkDomains(ctx context.Context, orgID, id string, in []string, providers []domain.IdentityProvider) ([]string, error) {
	if len(in) == 0 || len(in) > maxDomains {
		return nil, fault.New(fault.Invalid, "invalid_domains", "domains must list 1 to %d of the organization's verified domains", maxDomains)
	}
	out := make([]string, 0, len(in))
	for _, d := range in {
		d = domain.NormalizeDomain(d)
		if !domain.ValidDomain(d) {
			return nil, fault.New(fault.Invalid, "invalid_domains", "%q is not a domain name such as school.edu", clip(d))
		}
		v, err := s.deps.Domains.GetDomain(ctx, d)
		switch {
		case errors.Is(err, domain.ErrNotFound) || err == nil && v.OrganizationID != orgID:
			return nil, fault.New(fault.Invalid, "domain_not_verified", "%q is not a verified domain of this organization; verify it first (PUT …/domains/%s)", d, d)
		case err != nil:
			return nil, fault.Store("get domain", err)
		}
		for _, p := range providers {
			if p.ID != id && p.ServesDomain(d) {
				return nil, fault.New(fault.Conflict, "domain_has_provider", "%q is already served by identity provider %q", d, p.Name)
			}
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
