package oidc

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/federation"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
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
	PathPAR           = "/api/v1/oidc/par"
	// PathDeviceAuthorization is the device authorization endpoint (RFC 8628 §3.1).
	PathDeviceAuthorization = "/api/v1/oidc/device/authorize"
	// PathDevice is the page where the user enters a device's user code:
	// the verification_uri (RFC 8628 §3.2). It sits with the login and
	// consent pages, outside the API.
	PathDevice = "/device"
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
	// RequirePAR makes every client push its authorization requests
	// (RFC 9126 §5), as require_pushed_authorization_requests does for one.
	RequirePAR bool
	// ClientURLsRequireHTTPS refuses http jwks_uri and
	// backchannel_logout_uri values, as webhooks.require_https does
	// subscription URLs.
	ClientURLsRequireHTTPS bool
	// PKCE is the PKCE policy, domain.PKCEAll ("" too) or domain.PKCEPublic.
	PKCE     string
	Password domain.PasswordParams
	// LoginAccount throttles sign-in attempts per account from one IP
	// address, LoginIP per IP address (per /64 for IPv6). A per-account limit
	// across all addresses would let anyone lock any user out.
	LoginAccount domain.RateRule
	LoginIP      domain.RateRule
	// TokenLimit and IntrospectLimit are per authenticated client (guide §7):
	// counted only after the client proved who it is, so nobody can spend
	// another client's allowance by naming it.
	TokenLimit      domain.RateRule
	IntrospectLimit domain.RateRule
	// DeviceCodeTTL is how long a device authorization waits for the user
	// (RFC 8628 §3.2 expires_in); 0 is DefaultDeviceCodeTTL.
	DeviceCodeTTL time.Duration
	// UserCodeIP throttles user code entries per IP address (per /64 for
	// IPv6), UserCodeGlobal all of them together: a user code has about 35
	// bits, so guessing must be slow from anywhere (RFC 8628 §5.1).
	UserCodeIP     domain.RateRule
	UserCodeGlobal domain.RateRule
	// DPoPNonceKey keys the DPoP server nonces (RFC 9449 §8). Instances
	// that share it accept each other's nonces; empty takes a random key,
	// good for this instance alone.
	DPoPNonceKey []byte
}

// Deps are the ports the provider drives.
type Deps struct {
	Clients      ports.ClientStore
	ClientKeys   ports.ClientKeys
	Replay       ports.ReplayCache
	Users        ports.UserStore
	Orgs         ports.OrganizationStore
	Licenses     ports.LicenseStore
	Roles        ports.RoleStore
	Groups       ports.GroupStore
	Grants       ports.GrantStore
	Sessions     ports.SessionStore
	AuthRequests ports.AuthRequestStore
	Devices      ports.DeviceGrantStore
	// MFA checks and enrols second factors during sign-in.
	MFA *mfa.Service
	// Federation signs users in through their organization's upstream
	// provider; nil leaves sign-in to passwords and passkeys.
	Federation *federation.Service
	// Events stores back-channel logout events, in the unit (Units) that
	// ends the session they report.
	Events  ports.EventPublisher
	Units   ports.UnitOfWork
	Signer  ports.KeySigner
	Limiter ports.RateLimiter
	Clock   ports.Clock
	Random  ports.Random
}

// Provider is the OpenID provider's application service. It is safe for
// concurrent use.
type Provider struct {
	cfg  Config
	deps Deps

	discovery  []byte
	jwks       jwksCache
	verifyKeys headerKeys
	headers    sync.Map // jwsHeaderKey -> encoded header
	dummyHash  string   // compared against when no user matches, to even out timing
	// hashSlots bounds concurrent argon2id hashing: each takes 19 MiB, so an
	// unbounded burst of logins could exhaust memory.
	hashSlots chan struct{}
	nonces    atomic.Pointer[nonceCache]
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
	if deps.Events == nil || deps.Units == nil {
		return nil, errors.New("oidc: Events and Units are required (back-channel logout)")
	}
	if deps.MFA == nil {
		return nil, errors.New("oidc: MFA is required (second factors at sign-in)")
	}
	if cfg.Password.KeyLen == 0 {
		cfg.Password = domain.DefaultPasswordParams
	}
	if cfg.DeviceCodeTTL <= 0 {
		cfg.DeviceCodeTTL = DefaultDeviceCodeTTL
	}
	if len(cfg.DPoPNonceKey) == 0 {
		cfg.DPoPNonceKey = deps.Random.Bytes(32)
	}
	p := &Provider{cfg: cfg, deps: deps, hashSlots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
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

// maxHashWait is how long a login waits for a hashing slot before the user
// is asked to try again.
const maxHashWait = 3 * time.Second

// hashSlot waits for a free argon2id slot and returns its release.
func (p *Provider) hashSlot(ctx context.Context) (release func(), ok bool) {
	ctx, cancel := context.WithTimeout(ctx, maxHashWait)
	defer cancel()
	select {
	case p.hashSlots <- struct{}{}:
		return func() { <-p.hashSlots }, true
	case <-ctx.Done():
		return nil, false
	}
}

// throttleClient counts a request of an authenticated client against rule.
// A limiter outage fails closed (ports.RateLimiter).
func (p *Provider) throttleClient(ctx context.Context, rule domain.RateRule, clientID string) (domain.RateDecision, error) {
	d, err := ratelimit.Allow(ctx, p.deps.Limiter, "c:"+clientID, rule, p.now())
	if err != nil {
		return d, err
	}
	if !d.Allowed {
		return d, &Error{Code: CodeRateLimited, Description: "too many requests; retry after the time in Retry-After", RateLimit: &d}
	}
	return d, nil
}
