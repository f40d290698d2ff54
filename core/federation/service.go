// Package federation signs users in through their organization's own
// identity provider (Google Workspace, Microsoft Entra ID, any OpenID
// provider): the upstream. It keeps the organizations' upstream
// providers, finds the one for an email (home-realm discovery), builds
// the request that sends the browser there, checks the ID token that
// comes back, and decides which account it signs in to (the linking
// rules, in Resolve).
//
// The pending request that waits for the upstream's answer is core/oidc's;
// this package knows nothing of sessions or clients.
package federation

import (
	"time"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/ports"
)

// PathCallback is where upstream providers send the browser back, relative
// to the issuer: the one redirect URI to register with each of them.
const PathCallback = "/login/federated/callback"

// Config holds the federation settings.
type Config struct {
	// Issuer is this provider's issuer; the callback is under it.
	Issuer string
	// RequireHTTPS refuses upstream issuers that are not https URLs.
	RequireHTTPS bool
	// Skew is the clock skew allowed on an ID token's exp and iat; 0 is
	// DefaultSkew.
	Skew time.Duration
}

// DefaultSkew is the clock skew allowed between an upstream and us.
const DefaultSkew = time.Minute

// Deps are the ports federation drives.
type Deps struct {
	Providers ports.IdentityProviderStore
	Links     ports.LinkedIdentityStore
	Domains   ports.DomainStore
	// Grants tell which organizations a client serves, whose providers
	// the sign-in page offers as buttons.
	Grants   ports.ClientGrantStore
	Orgs     ports.OrganizationStore
	Users    ports.UserStore
	Upstream ports.Upstream
	// Directory creates the accounts of just-in-time provisioning, with
	// their membership and user.created, as every other account is made.
	Directory *directory.Service
	Clock     ports.Clock
	Random    ports.Random
}

// Service runs federation's use cases. It is safe for concurrent use.
type Service struct {
	cfg  Config
	deps Deps
}

// New returns a federation service.
func New(cfg Config, deps Deps) *Service {
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	return &Service{cfg: cfg, deps: deps}
}

// RedirectURI is the callback as registered with the upstreams.
func (s *Service) RedirectURI() string { return s.cfg.Issuer + PathCallback }

func (s *Service) now() time.Time { return s.deps.Clock.Now() }
