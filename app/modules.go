package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	httpadapter "github.com/calimatic/calimatic-auth/adapters/http"
	"github.com/calimatic/calimatic-auth/adapters/localkeys"
	"github.com/calimatic/calimatic-auth/adapters/memory"
	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/adapters/smtp"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/adapters/upstream"
	"github.com/calimatic/calimatic-auth/adapters/vault"
	"github.com/calimatic/calimatic-auth/adapters/webhook"
	"github.com/calimatic/calimatic-auth/app/config"
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

// Options returns the whole application for cfg. Every choice is made here,
// before fx.New, so an unknown value fails at once with the valid choices.
func Options(cfg config.Config, log *slog.Logger) (fx.Option, error) {
	storage, err := storageModule(cfg)
	if err != nil {
		return nil, err
	}
	limiter, err := rateLimiterModule(cfg)
	if err != nil {
		return nil, err
	}
	signer, err := signerModule(cfg)
	if err != nil {
		return nil, err
	}
	mailer, err := mailModule(cfg)
	if err != nil {
		return nil, err
	}
	return fx.Options(
		fx.Supply(cfg, log),
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		fx.StopTimeout(cfg.HTTP.ShutdownTimeout),
		system.Module,
		storage,
		limiter,
		signer,
		mailer,
		webhookModule(cfg),
		upstream.Module,
		fx.Supply(upstream.Options{RequireHTTPS: cfg.WebhooksRequireHTTPS()}),
		fx.Provide(providerConfig, newProvider, newMFA, newFederation, newConsole, directoryConfig, newDirectory, webhooksConfig, newWebhooks, scimConfig, newSCIM, httpOptions, httpDeps),
		fx.Invoke(ensureConsoleClient),
		fx.Invoke(runSeed),
		httpadapter.Module,
	), nil
}

func storageModule(cfg config.Config) (fx.Option, error) {
	switch cfg.Storage.Driver {
	case config.StorageMemory:
		return memory.Module, nil
	case config.StoragePostgres:
		opts, err := postgresOptions(cfg)
		if err != nil {
			return nil, err
		}
		return fx.Options(
			postgres.Module(opts),
			fx.Provide(fx.Annotate(
				func(ready postgres.Ready) httpadapter.ReadinessCheck {
					return httpadapter.ReadinessCheck{Name: "storage", Check: ready}
				},
				fx.ResultTags(`group:"readiness"`),
			)),
		), nil
	case config.StorageMongo:
		opts, err := mongoOptions(cfg)
		if err != nil {
			return nil, err
		}
		return fx.Options(
			mongoadapter.Module(opts),
			fx.Provide(fx.Annotate(
				func(ready mongoadapter.Ready) httpadapter.ReadinessCheck {
					return httpadapter.ReadinessCheck{Name: "storage", Check: ready}
				},
				fx.ResultTags(`group:"readiness"`),
			)),
		), nil
	}
	return nil, fmt.Errorf("storage.driver: unknown value %q (valid: %s)", cfg.Storage.Driver, strings.Join(config.StorageDrivers, ", "))
}

// mongoOptions is the mongo adapter's share of cfg.
func mongoOptions(cfg config.Config) (mongoadapter.Options, error) {
	m := cfg.Storage.Mongo
	key, err := m.KeyEncryptionKeyBytes()
	if err != nil || len(key) != 32 {
		// Never echo the key.
		return mongoadapter.Options{}, errors.New("storage.mongo.key_encryption_key: must be the base64 of 32 bytes")
	}
	return mongoadapter.Options{
		URI: m.URI, Database: m.Database, Timeout: m.Timeout, KeyEncryptionKey: key, JanitorEvery: m.JanitorEvery,
		WebhookRetention: cfg.Webhooks.Retention,
	}, nil
}

// postgresOptions is the postgres adapter's share of cfg.
func postgresOptions(cfg config.Config) (postgres.Options, error) {
	p := cfg.Storage.Postgres
	key, err := p.KeyEncryptionKeyBytes()
	if err != nil || len(key) != postgres.KeyEncryptionKeySize {
		// Never echo the key.
		return postgres.Options{}, fmt.Errorf("storage.postgres.key_encryption_key: must be the base64 of %d bytes", postgres.KeyEncryptionKeySize)
	}
	return postgres.Options{
		DSN:              p.DSN,
		MaxConns:         int32(min(p.MaxConns, 1<<30)),
		Migrate:          p.Migrate == config.MigrateAuto,
		KeyEncryptionKey: key,
		JanitorEvery:     p.JanitorEvery,
		WebhookRetention: cfg.Webhooks.Retention,
	}, nil
}

// rateLimiterModule provides the one ports.RateLimiter ratelimit.kind names.
// The memory storage module brings its own memory limiter; the postgres one
// provides its limiter only as *postgres.RateLimiter, so that this choice is
// made here.
func rateLimiterModule(cfg config.Config) (fx.Option, error) {
	kind, driver := cfg.RateLimit.Kind, cfg.Storage.Driver
	switch {
	case kind == config.RateLimitMemory && driver == config.StorageMemory:
		return fx.Options(), nil // memory.Module provides it
	case kind == config.RateLimitMemory:
		return fx.Provide(fx.Annotate(memory.NewRateLimiter, fx.As(new(ports.RateLimiter)))), nil
	case kind == config.RateLimitPostgres && driver == config.StoragePostgres:
		return fx.Provide(func(l *postgres.RateLimiter) ports.RateLimiter { return l }), nil
	case kind == config.RateLimitPostgres:
		return nil, fmt.Errorf("ratelimit.kind: postgres needs storage.driver postgres, got %q", driver)
	case kind == config.RateLimitMongo && driver == config.StorageMongo:
		return fx.Provide(func(l *mongoadapter.RateLimiter) ports.RateLimiter { return l }), nil
	case kind == config.RateLimitMongo:
		return nil, fmt.Errorf("ratelimit.kind: mongo needs storage.driver mongo, got %q", driver)
	}
	return nil, fmt.Errorf("ratelimit.kind: unknown value %q (valid: %s)", kind, strings.Join(config.RateLimitKinds, ", "))
}

func signerModule(cfg config.Config) (fx.Option, error) {
	switch cfg.Signer.Kind {
	case config.SignerLocal:
		return localkeys.Module(localkeys.Options{
			Algorithms:  cfg.Signer.Algorithms,
			RetireAfter: retireAfter(cfg),
			RSABits:     cfg.Signer.RSABits,
			Reload:      cfg.Signer.Reload,
			RotateEvery: cfg.Signer.RotateEvery,
		}), nil
	case config.SignerVault:
		v := cfg.Signer.Vault
		return vault.Module(vault.Options{
			Address: v.Address, Token: v.Token, AppRoleMount: v.AppRoleMount, RoleID: v.RoleID, SecretID: v.SecretID,
			Namespace: v.Namespace, CACert: v.CACert, ClientCert: v.ClientCert, ClientKey: v.ClientKey,
			TLSServerName: v.TLSServerName, Mount: v.Mount,
			Keys:       map[string]string{config.AlgRS256: v.KeyRS256, config.AlgES256: v.KeyES256},
			Algorithms: cfg.Signer.Algorithms, PublishDelay: v.PublishDelay, RetireAfter: retireAfter(cfg) + v.Refresh,
			Refresh: v.Refresh, BatchMax: v.BatchMax, BatchWindow: v.BatchWindow, Timeout: v.Timeout,
		}), nil
	}
	return nil, fmt.Errorf("signer.kind: unknown value %q (valid: %s)", cfg.Signer.Kind, strings.Join(config.SignerKinds, ", "))
}

// mailModule provides the one ports.Mailer mail.kind names.
func mailModule(cfg config.Config) (fx.Option, error) {
	switch cfg.Mail.Kind {
	case config.MailLog:
		// The development mailer writes to the terminal (the banner writer,
		// stdout by default), never to the log: mails carry single-use links.
		return fx.Provide(fx.Annotate(
			func(out io.Writer) ports.Mailer { return smtp.NewLogMailer(out) },
			fx.ParamTags(`name:"banner" optional:"true"`),
		)), nil
	case config.MailSMTP:
		m := cfg.Mail.SMTP
		return smtp.Module(smtp.Options{
			Host: m.Host, Port: m.Port, Username: m.Username, Password: m.Password,
			From: cfg.Mail.From, TLS: m.TLS, Timeout: m.Timeout,
		}), nil
	}
	return nil, fmt.Errorf("mail.kind: unknown value %q (valid: %s)", cfg.Mail.Kind, strings.Join(config.MailKinds, ", "))
}

// webhookModule provides the sender, the worker (when webhooks.deliver is
// on) and the notifier that wakes the worker when this instance publishes.
func webhookModule(cfg config.Config) fx.Option {
	w := cfg.Webhooks
	return fx.Options(
		webhook.Module(webhook.Options{
			Timeout: w.Timeout, AllowLoopback: w.AllowLoopback, AllowPrivate: w.AllowPrivate,
			PollEvery: w.PollEvery, Disabled: !w.Deliver,
		}),
		fx.Provide(func(p ports.EventPublisher) *webhook.Notifier { return webhook.NewNotifier(p) }),
	)
}

func webhooksConfig(cfg config.Config) webhooks.Config {
	w := cfg.Webhooks
	return webhooks.Config{
		Schedule:     webhooks.ExponentialSchedule(w.FirstRetry, w.MaxRetryDelay, w.RetryFor),
		DisableAfter: w.DisableAfter, RequireHTTPS: cfg.WebhooksRequireHTTPS(),
		Lease: w.Timeout + time.Minute, Parallel: w.Parallel,
	}
}

type webhooksDeps struct {
	fx.In
	Clients       ports.ClientStore
	Subscriptions ports.SubscriptionStore
	Deliveries    ports.DeliveryStore
	Grants        ports.ClientGrantStore
	Sender        ports.WebhookSender
	// Provider signs back-channel logout tokens.
	Provider *oidc.Provider
	Clock    ports.Clock
	Random   ports.Random
}

func newWebhooks(cfg webhooks.Config, d webhooksDeps) *webhooks.Service {
	return webhooks.New(cfg, webhooks.Deps{
		Clients: d.Clients, Subscriptions: d.Subscriptions, Deliveries: d.Deliveries, Grants: d.Grants,
		Sender: d.Sender, LogoutTokens: d.Provider, Clock: d.Clock, Random: d.Random,
	})
}

// retireAfter is how long a retired key stays in JWKS: until every token it
// signed has expired, plus a minute of clock skew.
func retireAfter(cfg config.Config) time.Duration {
	return max(cfg.Tokens.AccessTokenTTL, cfg.Tokens.IDTokenTTL) + time.Minute
}

func rule(name string, r config.Rate) domain.RateRule {
	return domain.RateRule{Name: name, Limit: r.Limit, Window: r.Window}
}

func providerConfig(cfg config.Config) oidc.Config {
	rl := cfg.RateLimit
	c := oidc.Config{
		Issuer:                 cfg.Issuer,
		AccessTokenTTL:         cfg.Tokens.AccessTokenTTL,
		IDTokenTTL:             cfg.Tokens.IDTokenTTL,
		RefreshTokenTTL:        cfg.Tokens.RefreshTokenTTL,
		CodeTTL:                cfg.Tokens.CodeTTL,
		RefreshGrace:           cfg.Tokens.RefreshGrace,
		AuthRequestTTL:         cfg.Tokens.AuthRequestTTL,
		DeviceCodeTTL:          cfg.Tokens.DeviceCodeTTL,
		SessionTTL:             cfg.Cookies.SessionTTL,
		Algorithms:             cfg.Signer.Algorithms,
		IDTokenAlg:             cfg.Signer.IDTokenAlg,
		AccessTokenAlg:         cfg.Signer.AccessTokenAlg,
		RegistrationEnabled:    cfg.Registration.Enabled,
		ClientURLsRequireHTTPS: cfg.WebhooksRequireHTTPS(),
		PKCE:                   cfg.OIDC.PKCERequired,
		Password:               domain.DefaultPasswordParams,
		DPoPNonceKey:           dpopNonceKey(cfg),
	}
	if rl.Enabled {
		c.LoginAccount = rule("login_account", rl.LoginAccount)
		c.LoginIP = rule("login_ip", rl.LoginIP)
		c.TokenLimit = rule("token", rl.Token)
		c.IntrospectLimit = rule("introspect", rl.Introspect)
		c.UserCodeIP = rule("user_code_ip", rl.UserCodeIP)
		c.UserCodeGlobal = rule("user_code_global", rl.UserCodeGlobal)
	}
	return c
}

// dpopNonceKey derives the key of the DPoP server nonces (RFC 9449 §8)
// from the storage's key-encryption key. Every instance on one database
// has that key (it decrypts the signing keys they share), so each accepts
// the nonces of the others, and no new secret is needed. The memory driver
// serves one instance: nil lets the provider pick a random key.
func dpopNonceKey(cfg config.Config) []byte {
	var kek []byte
	switch cfg.Storage.Driver {
	case config.StoragePostgres:
		kek, _ = cfg.Storage.Postgres.KeyEncryptionKeyBytes()
	case config.StorageMongo:
		kek, _ = cfg.Storage.Mongo.KeyEncryptionKeyBytes()
	}
	if len(kek) == 0 {
		return nil
	}
	// A key of its own, so a nonce says nothing about the key-encryption key.
	mac := hmac.New(sha256.New, kek)
	mac.Write([]byte("calimatic-auth dpop nonce key v1"))
	return mac.Sum(nil)
}

type providerDeps struct {
	fx.In
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
	MFA          *mfa.Service
	Federation   *federation.Service
	Signer       ports.KeySigner
	Limiter      ports.RateLimiter
	// Events is the store's publisher behind the notifier, as the
	// directory's: a back-channel logout goes out at once.
	Events *webhook.Notifier
	Units  ports.UnitOfWork
	Clock  ports.Clock
	Random ports.Random
}

func newProvider(cfg oidc.Config, d providerDeps) (*oidc.Provider, error) {
	return oidc.New(cfg, oidc.Deps{
		Clients: d.Clients, ClientKeys: d.ClientKeys, Replay: d.Replay,
		Users: d.Users, Orgs: d.Orgs, Licenses: d.Licenses, Roles: d.Roles, Groups: d.Groups,
		Grants: d.Grants, Sessions: d.Sessions,
		AuthRequests: d.AuthRequests, Devices: d.Devices, MFA: d.MFA, Federation: d.Federation, Signer: d.Signer, Limiter: d.Limiter, Clock: d.Clock, Random: d.Random,
		Events: d.Events, Units: d.Units,
	})
}

type federationDeps struct {
	fx.In
	Config    config.Config
	Providers ports.IdentityProviderStore
	Links     ports.LinkedIdentityStore
	Domains   ports.DomainStore
	Grants    ports.ClientGrantStore
	Orgs      ports.OrganizationStore
	Users     ports.UserStore
	Upstream  ports.Upstream
	Directory *directory.Service
	Clock     ports.Clock
	Random    ports.Random
}

// newFederation makes the service that signs users in through their
// organization's upstream provider. Upstream issuers must be https as
// webhook URLs must (webhooks.require_https).
func newFederation(d federationDeps) *federation.Service {
	cfg := federation.Config{Issuer: strings.TrimRight(d.Config.Issuer, "/"), RequireHTTPS: d.Config.WebhooksRequireHTTPS()}
	return federation.New(cfg, federation.Deps{
		Providers: d.Providers, Links: d.Links, Domains: d.Domains, Grants: d.Grants, Orgs: d.Orgs, Users: d.Users,
		Upstream: d.Upstream, Directory: d.Directory, Clock: d.Clock, Random: d.Random,
	})
}

// newConsole makes the web console's service over the directory.
type consoleDeps struct {
	fx.In
	Config    config.Config
	Directory *directory.Service
	Orgs      ports.OrganizationStore
	Users     ports.UserStore
	SCIM      *scim.Service
	Clients   ports.ClientStore
	Grants    ports.ClientGrantStore
	Clock     ports.Clock
	Webhooks  *webhooks.Service
	Events    ports.EventLog
	Signer    ports.KeySigner
	Provider  *oidc.Provider
	Licenses  ports.LicenseStore
	Roles     ports.RoleStore
	Groups    ports.GroupStore
}

func newConsole(d consoleDeps) *console.Service {
	return console.New(console.Deps{
		Directory: d.Directory, Orgs: d.Orgs, Users: d.Users, SCIM: d.SCIM,
		Clients: d.Clients, Issuer: strings.TrimRight(d.Config.Issuer, "/"), Clock: d.Clock,
		Grants: d.Grants, Webhooks: d.Webhooks, Events: d.Events, KeyList: d.Signer, KeyRotation: d.Provider,
		Licenses: d.Licenses, Roles: d.Roles, Groups: d.Groups,
	})
}

// ensureConsoleClient registers the console's client as the app starts.
// A database away at start does not stop the server (the kill suite
// restarts instances during outages): the console registers its client
// again before each sign-in.
func ensureConsoleClient(lc fx.Lifecycle, c *console.Service, log *slog.Logger) {
	lc.Append(fx.StartHook(func(ctx context.Context) {
		if err := c.Register(ctx); err != nil {
			log.Warn("the console's client is not registered yet; the console's next sign-in will", slog.String("err", err.Error()))
		}
	}))
}

type mfaDeps struct {
	fx.In
	Config  config.Config
	Factors ports.FactorStore
	Users   ports.UserStore
	Orgs    ports.OrganizationStore
	Roles   ports.RoleStore
	Groups  ports.GroupStore
	Events  *webhook.Notifier
	Units   ports.UnitOfWork
	Mailer  ports.Mailer
	Limiter ports.RateLimiter
	Clock   ports.Clock
	Random  ports.Random
	Replay  ports.ReplayCache
}

// newMFA makes the second factors' service; its events go out at once,
// as the directory's do. Passkeys belong to the issuer's host.
func newMFA(d mfaDeps) *mfa.Service {
	rpID, origins := passkeyRelyingParty(d.Config.Issuer)
	cfg := mfa.Config{RPID: rpID, RPOrigins: origins}
	if rl := d.Config.RateLimit; rl.Enabled {
		cfg.Attempts = rule("mfa", rl.MFA)
	}
	return mfa.New(cfg, mfa.Deps{
		Factors: d.Factors, Users: d.Users, Orgs: d.Orgs, Roles: d.Roles, Groups: d.Groups, Events: d.Events, Units: d.Events.Units(d.Units),
		Mailer: d.Mailer, Limiter: d.Limiter, Clock: d.Clock, Random: d.Random, Replay: d.Replay,
	})
}

// passkeyRelyingParty derives the WebAuthn relying party from the issuer:
// its id is the issuer's host without the port, and its one origin the
// issuer's scheme, host and port. WebAuthn takes no IP address as a
// relying party id (§5.1.4.1 wants a domain), so an issuer such as
// http://127.0.0.1:8080 gets none and passkeys are off: reach the server
// as localhost or by a DNS name to have them.
func passkeyRelyingParty(issuer string) (rpID string, origins []string) {
	u, err := url.Parse(issuer)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return "", nil
	}
	return u.Hostname(), []string{u.Scheme + "://" + u.Host}
}

func directoryConfig(cfg config.Config) directory.Config {
	return directory.Config{
		BaseURL: strings.TrimRight(cfg.Issuer, "/"), InviteTTL: cfg.Directory.InviteTTL,
		ResetTTL: cfg.Directory.ResetTTL, MaxBatch: cfg.Directory.MaxBatch, Password: domain.DefaultPasswordParams,
	}
}

type directoryDeps struct {
	fx.In
	Clients      ports.ClientStore
	Users        ports.UserStore
	Orgs         ports.OrganizationStore
	Directory    ports.DirectoryStore
	Licenses     ports.LicenseStore
	Grants       ports.ClientGrantStore
	Roles        ports.RoleStore
	Groups       ports.GroupStore
	Domains      ports.DomainStore
	AdminKeys    ports.AdminKeyStore
	ActionTokens ports.ActionTokenStore
	Sessions     ports.SessionStore
	Refresh      ports.RefreshTokenStore
	Factors      ports.FactorStore
	Links        ports.LinkedIdentityStore
	TXT          ports.TXTResolver
	// Events is the store's publisher behind the notifier, so that this
	// instance's worker delivers what it publishes at once.
	Events *webhook.Notifier
	Units  ports.UnitOfWork
	Mailer ports.Mailer
	Clock  ports.Clock
	Random ports.Random
}

func newDirectory(cfg directory.Config, d directoryDeps) *directory.Service {
	return directory.New(cfg, directory.Deps{
		Clients: d.Clients, Users: d.Users, Orgs: d.Orgs, Directory: d.Directory, Licenses: d.Licenses,
		Grants: d.Grants, Roles: d.Roles, Groups: d.Groups, Domains: d.Domains, AdminKeys: d.AdminKeys, ActionTokens: d.ActionTokens,
		Sessions: d.Sessions, Refresh: d.Refresh, Factors: d.Factors, Links: d.Links, TXT: d.TXT, Events: d.Events, Mailer: d.Mailer,
		// A unit that commits wakes this instance's worker, as a publish
		// outside a unit does.
		Units: d.Events.Units(d.Units),
		Clock: d.Clock, Random: d.Random,
	})
}

func scimConfig(cfg config.Config) scim.Config {
	return scim.Config{
		BaseURL: cfg.Issuer, Deactivate: cfg.SCIM.OnDelete == config.SCIMDeactivate, MaxResults: cfg.SCIM.MaxResults,
	}
}

type scimDeps struct {
	fx.In
	Directory *directory.Service
	Store     ports.SCIMStore
	Users     ports.UserStore
	Orgs      ports.OrganizationStore
	Clock     ports.Clock
	Random    ports.Random
}

func newSCIM(cfg scim.Config, d scimDeps) *scim.Service {
	return scim.New(cfg, scim.Deps{
		Directory: d.Directory, Store: d.Store, Users: d.Users, Orgs: d.Orgs, Clock: d.Clock, Random: d.Random,
	})
}

func httpOptions(cfg config.Config) httpadapter.Options {
	rl := cfg.RateLimit
	return httpadapter.Options{
		Addr:              cfg.HTTP.Addr,
		Issuer:            strings.TrimRight(cfg.Issuer, "/"),
		MetricsAddr:       cfg.HTTP.MetricsAddr,
		SecureCookies:     cfg.SecureCookies(),
		SessionCookie:     cfg.Cookies.SessionName,
		TrustedProxies:    cfg.HTTP.TrustedProxies,
		ProxyHeader:       cfg.HTTP.ProxyHeader,
		BodyLimit:         cfg.HTTP.BodyLimit,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		RateLimitsEnabled: rl.Enabled,
		Rules: httpadapter.Rules{
			Authorize:   rule("authorize", rl.Authorize),
			UserInfo:    rule("userinfo", rl.UserInfo),
			Register:    rule("register", rl.Register),
			Account:     rule("password_reset", rl.PasswordReset),
			WebhookTest: rule("webhook_test", rl.WebhookTest),
		},
	}
}

type httpIn struct {
	fx.In
	Provider  *oidc.Provider
	Directory *directory.Service
	Webhooks  *webhooks.Service
	SCIM      *scim.Service
	MFA       *mfa.Service
	Fed       *federation.Service
	Console   *console.Service
	Limiter   ports.RateLimiter
	Clock     ports.Clock
	Random    ports.Random
	Signer    ports.KeySigner
	Log       *slog.Logger
	// Checks are the readiness checks of the chosen adapters (the
	// database's, for postgres).
	Checks []httpadapter.ReadinessCheck `group:"readiness"`
}

func httpDeps(in httpIn) httpadapter.Deps {
	return httpadapter.Deps{
		Provider: in.Provider, Directory: in.Directory, MFA: in.MFA, Federation: in.Fed, Console: in.Console, Webhooks: in.Webhooks, SCIM: in.SCIM, Limiter: in.Limiter, Clock: in.Clock, Random: in.Random, Logger: in.Log,
		Checks: append([]httpadapter.ReadinessCheck{
			{Name: "signer", Check: in.Signer.Ready},
		}, in.Checks...),
	}
}
