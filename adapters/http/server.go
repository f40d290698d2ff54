package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/federation"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/scim"
	"github.com/calimatic/calimatic-auth/core/webhooks"
	"github.com/calimatic/calimatic-auth/ports"
)

// Rules are the endpoint rate limits (integration guide §7) that can be
// keyed before the request is understood. The per-client limits of the token
// and introspection endpoints count only authenticated clients, so the core
// applies them (oidc.Config.TokenLimit, IntrospectLimit).
type Rules struct {
	Authorize domain.RateRule // per IP
	UserInfo  domain.RateRule // per token
	Register  domain.RateRule // per IP
	Account   domain.RateRule // per IP: forgot-password requests, which send mail
	// WebhookTest is per client: pings and redeliveries.
	WebhookTest domain.RateRule
}

// Options configure the HTTP adapter.
type Options struct {
	Addr string
	// MetricsAddr is where /metrics is served, apart from the public
	// listener; empty serves no metrics.
	MetricsAddr       string
	SecureCookies     bool
	SessionCookie     string
	TrustedProxies    []string // addresses or CIDRs; X-Forwarded-For is honoured only from these
	ProxyHeader       string
	BodyLimit         int
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	RateLimitsEnabled bool
	Rules             Rules
	// Issuer is the provider's issuer: the console's own sign-in comes
	// back under it.
	Issuer string
}

// ReadinessCheck is one dependency /readyz checks.
type ReadinessCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Server is the Fiber application with every route.
type Server struct {
	app      *fiber.App
	opts     Options
	op       *oidc.Provider
	dir      *directory.Service
	mfa      *mfa.Service
	fed      *federation.Service
	console  *console.Service
	hooks    *webhooks.Service
	scim     *scim.Service
	limiter  ports.RateLimiter
	clock    ports.Clock
	random   ports.Random
	log      *slog.Logger
	pages    *pages
	metrics  *metrics
	registry *prometheus.Registry
	checks   []ReadinessCheck
	ln       net.Listener
	proxies  proxies
	cookies  cookieNames
	// metricsSrv serves /metrics on its own listener (Options.MetricsAddr).
	metricsSrv *nethttp.Server
	metricsLn  net.Listener
}

// Deps are what the server drives.
type Deps struct {
	Provider *oidc.Provider
	// Directory serves the user management and administration APIs and
	// the account pages.
	Directory *directory.Service
	// MFA serves the account page's second factors.
	MFA *mfa.Service
	// Federation serves the identity provider admin API; the sign-in
	// through them is the Provider's.
	Federation *federation.Service
	// Console serves the web console at /console; nil serves none.
	Console *console.Service
	// Webhooks serves the subscription API at /api/v1/admin/webhooks.
	Webhooks *webhooks.Service
	// SCIM serves /scim/v2 and the SCIM token admin API.
	SCIM    *scim.Service
	Limiter ports.RateLimiter
	Clock   ports.Clock
	Random  ports.Random
	Logger  *slog.Logger
	Checks  []ReadinessCheck
}

const (
	pathLogin   = "/login"
	pathConsent = "/consent"
)

// New builds the server and its routes.
func New(opts Options, d Deps) (*Server, error) {
	pg, err := newPages()
	if err != nil {
		return nil, err
	}
	if opts.SessionCookie == "" {
		opts.SessionCookie = "calimatic_session"
	}
	s := &Server{
		opts: opts, op: d.Provider, dir: d.Directory, mfa: d.MFA, fed: d.Federation, console: d.Console, hooks: d.Webhooks, scim: d.SCIM, limiter: d.Limiter, clock: d.Clock, random: d.Random,
		log: d.Logger, pages: pg, checks: d.Checks, registry: prometheus.NewRegistry(),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.metrics = newMetrics(s.registry)
	s.cookies = newCookieNames(opts)
	return s, s.rebuild()
}

// rebuild makes the Fiber application from the options.
func (s *Server) rebuild() error {
	opts := s.opts
	cfg := fiber.Config{
		AppName: "calimatic-auth",
		// fasthttp resets the connection when a body passes its limit, so
		// clients would see a reset instead of the 413; its hard limit is set
		// higher and limitBody answers the real one cleanly.
		BodyLimit:             4 * opts.BodyLimit,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		IdleTimeout:           opts.IdleTimeout,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		ReadBufferSize:        16 << 10, // long authorize URLs and cookies
		EnableIPValidation:    true,
		// Fiber's strings otherwise point into fasthttp's reused buffers;
		// anything kept past the request (metric labels, limiter keys such as
		// a forwarded IP) would change under us.
		Immutable: true,
	}
	// The client IP is s.clientIP's, not Fiber's: Fiber takes the leftmost
	// address of X-Forwarded-For, which the client writes.
	p, err := parseProxies(opts.TrustedProxies, opts.ProxyHeader)
	if err != nil {
		return err
	}
	s.proxies = p
	s.app = fiber.New(cfg)
	s.routes()
	return nil
}

// App exposes the Fiber application, for tests.
func (s *Server) App() *fiber.App { return s.app }

// Registry exposes the metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

func (s *Server) routes() {
	a := s.app
	a.Use(s.observe, s.recover, s.limitBody, s.strictJSON)
	a.Get("/healthz", s.healthz)
	a.Get("/readyz", s.readyz)
	a.Get(cssPath, s.pages.cssHandler)
	a.Get(jsPath, s.pages.jsHandler)

	// Browser apps (public clients) call these from their own origin. None
	// uses cookies, so any origin may, without credentials.
	// DPoP (RFC 9449) adds a request header and a response header.
	api := cors.New(cors.Config{
		AllowOrigins: "*", AllowMethods: "GET,POST", AllowHeaders: "Authorization, Content-Type, DPoP",
		ExposeHeaders: "DPoP-Nonce, WWW-Authenticate", MaxAge: 600,
	})
	for _, p := range []string{oidc.PathDiscovery, oidc.PathOAuthMetadata, oidc.PathJWKS, oidc.PathToken, oidc.PathUserInfo, oidc.PathRevoke, oidc.PathPAR} {
		a.Use(p, api)
	}

	a.Get(oidc.PathDiscovery, s.discovery)
	a.Get(oidc.PathOAuthMetadata, s.discovery)
	a.Get(oidc.PathJWKS, s.jwks)

	a.Post(oidc.PathRegister, s.limit(s.opts.Rules.Register, s.ipKey), s.register)
	a.Get(oidc.PathRegister+"/:client_id", s.readRegistration)
	a.Put(oidc.PathRegister+"/:client_id", s.updateRegistration)
	a.Delete(oidc.PathRegister+"/:client_id", s.deleteRegistration)

	authz := s.limit(s.opts.Rules.Authorize, s.ipKey)
	a.Get(oidc.PathAuthorize, authz, s.authorize)
	a.Post(oidc.PathAuthorize, authz, s.authorize)
	a.Get(pathLogin, s.loginPage)
	a.Post(pathLogin, s.loginSubmit)
	s.federationRoutes()
	a.Get(pathConsent, s.consentPage)
	a.Post(pathConsent, s.consentSubmit)
	a.Post(oidc.PathDeviceAuthorization, authz, s.deviceAuthorize)
	a.Get(oidc.PathDevice, s.devicePage)
	a.Post(oidc.PathDevice, s.deviceSubmit)
	a.Get(pathDeviceConfirm, s.deviceConfirmPage)
	a.Post(pathDeviceConfirm, s.deviceDecide)

	a.Post(oidc.PathToken, s.dpopNonce, s.token)
	// PAR counts per address as authorization requests do, and per client
	// against its token allowance: public clients may push too.
	a.Post(oidc.PathPAR, s.dpopNonce, authz, s.par)
	ui := s.limit(s.opts.Rules.UserInfo, s.tokenKey)
	a.Get(oidc.PathUserInfo, s.dpopNonce, ui, s.userinfo)
	a.Post(oidc.PathUserInfo, s.dpopNonce, ui, s.userinfo)
	a.Post(oidc.PathIntrospect, s.introspect)
	a.Post(oidc.PathRevoke, s.revoke)
	a.Get(oidc.PathEndSession, s.endSession)
	a.Post(oidc.PathEndSession, s.endSession)

	if s.dir != nil {
		s.directoryRoutes()
	}
}

// directoryRoutes mounts the user management API, the administration API
// and the account pages. The provisioning routes come before /users/:id so
// that "provision" is never read as an id.
func (s *Server) directoryRoutes() {
	a, auth := s.app, s.clientAuth
	a.Post(pathProvision, auth, s.provision)
	a.Post(pathProvisionBulk, auth, s.provisionBulk)
	a.Get(pathUser, auth, s.getUser)
	a.Patch(pathUser, auth, s.updateUser)
	a.Delete(pathUser, auth, s.deleteUser)
	a.Post(pathUser+"/suspend", auth, s.lifecycle(directory.Suspend))
	a.Post(pathUser+"/reactivate", auth, s.lifecycle(directory.Reactivate))
	a.Post(pathUser+"/deactivate", auth, s.lifecycle(directory.Deactivate))
	a.Post(pathUser+"/reset-password", auth, s.resetUserPassword)
	a.Get(pathOrgUsers, auth, s.listOrgUsers)
	s.adminRoutes()
	s.accountRoutes()
	s.factorRoutes()
	if s.fed != nil {
		s.adminFederationRoutes()
	}
	if s.console != nil {
		s.consoleRoutes()
	}
	if s.mfa != nil {
		s.accountPageRoutes()
		s.adminFactorRoutes()
	}
	if s.hooks != nil {
		s.webhookRoutes()
	}
	if s.scim != nil {
		s.scimRoutes()
	}
}

// isPagePath reports whether a path serves HTML to browsers.
func isPagePath(p string) bool {
	return p == pathLogin || p == pathConsent || p == oidc.PathAuthorize || p == oidc.PathEndSession ||
		p == oidc.PathDevice || p == pathDeviceConfirm || p == pathLoginFactor || p == pathLoginContinue ||
		p == pathLoginIdentify || p == pathLoginFederated || p == pathFederatedCallback || strings.HasPrefix(p, pathConsole) || strings.HasPrefix(p, pathAccount) ||
		slices.Contains(accountPaths, p)
}

// Listen binds the public address, and the metrics address when one is
// set, without blocking, so start-up errors (port in use) surface at once.
// Serve then runs until Shutdown.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return nil, err
	}
	if s.opts.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.opts.MetricsAddr)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("metrics listener: %w", err)
		}
		s.metricsLn = mln
		s.metricsSrv = &nethttp.Server{Handler: s.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	s.ln = ln
	return ln.Addr(), nil
}

// MetricsAddr is the address the metrics listener is bound to, or nil when
// metrics are off or Listen has not run.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// Serve serves on the listeners made by Listen.
func (s *Server) Serve() error {
	if s.metricsSrv != nil {
		go func() {
			if err := s.metricsSrv.Serve(s.metricsLn); err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
				s.log.Error("metrics server stopped", slog.String("err", err.Error()))
			}
		}()
	}
	return s.app.Listener(s.ln)
}

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error {
	var merr error
	if s.metricsSrv != nil {
		merr = s.metricsSrv.Shutdown(ctx)
	}
	return errors.Join(s.app.ShutdownWithContext(ctx), merr)
}

// noStore marks a response as never cacheable (RFC 6749 §5.1).
func noStore(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
}

// bearerToken extracts an RFC 6750 §2.1 bearer token.
func bearerToken(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
