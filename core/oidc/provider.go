package oidc

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Paths of the provider's endpoints, relative to the issuer (integration guide §2).
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathOAuthMetadata = "/.well-known/oauth-authorization-server"
	PathAuthorize     = "/api/v1/oidc/authorize"
	PathToken         = "/api/v1/oidc/token"
	PathUserInfo      = "/api/v1/oidc/userinfo"
	PathJWKS          = "/api/v1/oidc/jwks"
	PathEndSession    = "/api/v1/oidc/end-session"
	PathIntrospect    = "/api/v1/oidc/introspect"
	PathRevoke        = "/api/v1/oidc/revoke"
	PathRegister      = "/api/v1/oidc/register"
)

// Config holds the provider's settings.
type Config struct {
	Issuer              string
	AccessTokenTTL      time.Duration
	IDTokenTTL          time.Duration
	RefreshTokenTTL     time.Duration
	CodeTTL             time.Duration
	RefreshGrace        time.Duration
	AuthRequestTTL      time.Duration
	SessionTTL          time.Duration
	Algorithms          []string // the signer's algorithms; ID tokens may use any
	IDTokenAlg          string
	AccessTokenAlg      string
	RegistrationEnabled bool
	Password            domain.PasswordParams
	// LoginAccount and LoginIP throttle failed sign-ins per account and per IP.
	LoginAccount domain.RateRule
	LoginIP      domain.RateRule
}

// Deps are the ports the provider drives.
type Deps struct {
	Clients      ports.ClientStore
	Users        ports.UserStore
	Orgs         ports.OrganizationStore
	Grants       ports.GrantStore
	Sessions     ports.SessionStore
	AuthRequests ports.AuthRequestStore
	Signer       ports.KeySigner
	Limiter      ports.RateLimiter
	Clock        ports.Clock
	Random       ports.Random
}

// Provider is the OpenID provider's application service. It is safe for
// concurrent use.
type Provider struct {
	cfg  Config
	deps Deps

	discovery []byte
	jwks      jwksCache
	headers   sync.Map // jwsHeaderKey -> encoded header
	dummyHash string   // compared against when no user matches, to even out timing
}

// New checks cfg and prepares everything that does not change per request.
func New(cfg Config, deps Deps) (*Provider, error) {
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.Issuer == "" {
		return nil, errors.New("oidc: issuer is required")
	}
	if !slices.Contains(cfg.Algorithms, cfg.IDTokenAlg) || !slices.Contains(cfg.Algorithms, cfg.AccessTokenAlg) {
		return nil, errors.New("oidc: id and access token algorithms must be among the signer's algorithms")
	}
	if cfg.Password.KeyLen == 0 {
		cfg.Password = domain.DefaultPasswordParams
	}
	p := &Provider{cfg: cfg, deps: deps}
	var err error
	if p.discovery, err = p.buildDiscovery(); err != nil {
		return nil, err
	}
	p.dummyHash = domain.HashPassword("calimatic-dummy-password", deps.Random.Bytes(cfg.Password.SaltLen), cfg.Password)
	return p, nil
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Config returns the provider's settings.
func (p *Provider) Config() Config { return p.cfg }

func (p *Provider) now() time.Time { return p.deps.Clock.Now() }
