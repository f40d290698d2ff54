// Package config is Calimatic Auth's configuration: the model, its defaults,
// loading from a YAML file, overrides from the environment, and validation.
//
// It sits in app, the outermost ring of the hexagon: app reads a Config and
// picks one adapter module per port from it. Nothing in core or ports sees this
// package; they receive plain values.
//
// Every key can be set in the file (see configs/memory.yaml, the reference) and
// overridden from the environment by CALIMATIC_ followed by the key's path in
// upper case with _ between the parts: ratelimit.token.limit is
// CALIMATIC_RATELIMIT_TOKEN_LIMIT.
//
// Durations are time.Duration values, written as Go duration strings ("90s",
// "1h30m") in YAML and in the environment.
package config

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Storage drivers.
const (
	StorageMemory   = "memory"
	StoragePostgres = "postgres"
	StorageMongo    = "mongo"
)

// StorageDrivers lists the valid storage.driver values.
var StorageDrivers = []string{StorageMemory, StoragePostgres, StorageMongo}

// Migration modes of storage.postgres.migrate.
const (
	MigrateAuto = "auto" // apply pending migrations at start
	MigrateOff  = "off"  // never; run `calimatic-auth migrate`
)

// MigrateModes lists the valid storage.postgres.migrate values.
var MigrateModes = []string{MigrateAuto, MigrateOff}

// Signer kinds: keys made in-process and kept in storage, or held by
// Vault's transit engine.
const (
	SignerLocal = "local"
	SignerVault = "vault"
)

// SignerKinds lists the valid signer.kind values.
var SignerKinds = []string{SignerLocal, SignerVault}

// JWS algorithms the signers implement.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// SigningAlgorithms lists the valid signer.algorithms values.
var SigningAlgorithms = []string{AlgRS256, AlgES256}

// Rate-limiter kinds. postgres and mongo are shared by every instance on the
// database and need the matching storage.driver.
const (
	RateLimitMemory   = "memory"
	RateLimitPostgres = "postgres"
	RateLimitMongo    = "mongo"
)

// RateLimitKinds lists the valid ratelimit.kind values.
var RateLimitKinds = []string{RateLimitMemory, RateLimitPostgres, RateLimitMongo}

// Cookie security modes.
const (
	SecureAuto   = "auto"   // Secure unless the issuer is http on a loopback host
	SecureAlways = "always" // always Secure
	SecureNever  = "never"  // never Secure (only for plain-http test set-ups)
)

// SecureModes lists the valid cookies.secure values.
var SecureModes = []string{SecureAuto, SecureAlways, SecureNever}

// Log levels and formats.
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// Config is the whole configuration. The yaml tags are the key names; the
// environment variable names derive from them.
type Config struct {
	// Issuer is the provider's public base URL, the "iss" of every token.
	Issuer       string       `yaml:"issuer"`
	HTTP         HTTP         `yaml:"http"`
	Storage      Storage      `yaml:"storage"`
	Signer       Signer       `yaml:"signer"`
	Tokens       Tokens       `yaml:"tokens"`
	OIDC         OIDC         `yaml:"oidc"`
	RateLimit    RateLimit    `yaml:"ratelimit"`
	Cookies      Cookies      `yaml:"cookies"`
	Registration Registration `yaml:"registration"`
	Directory    Directory    `yaml:"directory"`
	SCIM         SCIM         `yaml:"scim"`
	Mail         Mail         `yaml:"mail"`
	Webhooks     Webhooks     `yaml:"webhooks"`
	Log          Log          `yaml:"log"`
	Dev          Dev          `yaml:"dev"`
}

// HTTP configures the listener.
type HTTP struct {
	Addr string `yaml:"addr"`
	// MetricsAddr is the listener of Prometheus' /metrics, apart from the
	// public one so that outsiders cannot read it. Empty turns it off.
	MetricsAddr string `yaml:"metrics_addr"`
	// TrustedProxies are IPs or CIDRs. ProxyHeader is honoured only on
	// requests whose peer is one of them, and then its rightmost address
	// that is not a trusted proxy is the client's.
	TrustedProxies  []string      `yaml:"trusted_proxies"`
	ProxyHeader     string        `yaml:"proxy_header"`
	BodyLimit       int           `yaml:"body_limit"` // bytes
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Storage picks the store adapters.
type Storage struct {
	Driver   string   `yaml:"driver"`
	Postgres Postgres `yaml:"postgres"`
	Mongo    Mongo    `yaml:"mongo"`
}

// Mongo configures the mongo storage driver (MongoDB 6 or 7).
type Mongo struct {
	// URI is a mongodb:// or mongodb+srv:// connection string. It may hold
	// a password: it is never logged.
	URI string `yaml:"uri"`
	// Database is the database the collections live in.
	Database string `yaml:"database"`
	// Timeout bounds connecting and each start-up step (indexes).
	Timeout time.Duration `yaml:"timeout"`
	// KeyEncryptionKey is the base64 of the 32-byte master key that encrypts
	// signing keys and webhook secrets at rest. It is never logged.
	KeyEncryptionKey string `yaml:"key_encryption_key"`
	// JanitorEvery is how often each instance deletes expired documents;
	// 0s turns it off.
	JanitorEvery time.Duration `yaml:"janitor_every"`
}

// KeyEncryptionKeyBytes decodes KeyEncryptionKey.
func (m Mongo) KeyEncryptionKeyBytes() ([]byte, error) {
	return Postgres{KeyEncryptionKey: m.KeyEncryptionKey}.KeyEncryptionKeyBytes()
}

// Postgres configures the postgres storage driver.
type Postgres struct {
	// DSN is a libpq connection URL or key=value string. It may hold a
	// password: it is never logged.
	DSN      string `yaml:"dsn"`
	MaxConns int    `yaml:"max_conns"`
	// Migrate is auto (apply pending migrations at start) or off.
	Migrate string `yaml:"migrate"`
	// KeyEncryptionKey is the base64 of the 32-byte master key that encrypts
	// signing keys at rest. It is never logged.
	KeyEncryptionKey string `yaml:"key_encryption_key"`
	// JanitorEvery is how often each instance deletes expired rows; 0s
	// turns it off (then something else must keep the tables bounded).
	JanitorEvery time.Duration `yaml:"janitor_every"`
}

// KeyEncryptionKeyBytes decodes KeyEncryptionKey (standard or URL base64,
// padded or not).
func (p Postgres) KeyEncryptionKeyBytes() ([]byte, error) {
	s := strings.TrimSpace(p.KeyEncryptionKey)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("is not base64")
}

// Signer picks and configures the KeySigner.
type Signer struct {
	Kind string `yaml:"kind"`
	// Algorithms are the algorithms keys are kept for (and published in JWKS).
	Algorithms     []string `yaml:"algorithms"`
	IDTokenAlg     string   `yaml:"id_token_alg"`
	AccessTokenAlg string   `yaml:"access_token_alg"`
	RSABits        int      `yaml:"rsa_bits"`
	// Reload is how often the signer re-reads the key set from its store, so
	// that keys rotated by another instance are picked up.
	Reload time.Duration `yaml:"reload"`
	// RotateEvery rotates the signing keys once the active key has signed
	// this long (0s: never; rotate by hand).
	RotateEvery time.Duration `yaml:"rotate_every"`
	Vault       Vault         `yaml:"vault"`
}

// Vault configures signer.kind vault: signing keys held by Vault's transit
// engine, which never hands them out.
type Vault struct {
	// Address is Vault's URL, e.g. https://vault.internal:8200.
	Address string `yaml:"address"`
	// Token authenticates, unless AppRole (role_id, secret_id) is set. It is
	// never logged.
	Token        string `yaml:"token"`
	AppRoleMount string `yaml:"approle_mount"`
	RoleID       string `yaml:"role_id"`
	SecretID     string `yaml:"secret_id"`
	// Namespace is the Vault Enterprise namespace.
	Namespace string `yaml:"namespace"`
	// CACert, ClientCert and ClientKey are PEM file paths; TLSServerName
	// overrides the name checked in Vault's certificate.
	CACert        string `yaml:"ca_cert"`
	ClientCert    string `yaml:"client_cert"`
	ClientKey     string `yaml:"client_key"`
	TLSServerName string `yaml:"tls_server_name"`
	// Mount is the transit engine's path.
	Mount string `yaml:"mount"`
	// KeyRS256 and KeyES256 name the transit keys (created when missing).
	KeyRS256 string `yaml:"key_rs256"`
	KeyES256 string `yaml:"key_es256"`
	// PublishDelay keeps a new key version in JWKS this long before it signs.
	PublishDelay time.Duration `yaml:"publish_delay"`
	// Refresh is how often the key versions are re-read (other instances'
	// rotations).
	Refresh time.Duration `yaml:"refresh"`
	// BatchMax signatures go in one transit call, gathered for at most
	// BatchWindow; batch_max 1 turns batching off.
	BatchMax    int           `yaml:"batch_max"`
	BatchWindow time.Duration `yaml:"batch_window"`
	// Timeout bounds each call to Vault.
	Timeout time.Duration `yaml:"timeout"`
}

// Tokens holds the lifetimes of what the provider issues.
type Tokens struct {
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`
	IDTokenTTL      time.Duration `yaml:"id_token_ttl"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	CodeTTL         time.Duration `yaml:"code_ttl"`
	// RefreshGrace lets a rotated refresh token be replayed for this long
	// without revoking its family (a client's concurrent retry). 0 is off.
	RefreshGrace time.Duration `yaml:"refresh_grace"`
	// AuthRequestTTL bounds how long a pending authorization request waits
	// for login and consent.
	AuthRequestTTL time.Duration `yaml:"auth_request_ttl"`
	// DeviceCodeTTL bounds how long a device authorization (RFC 8628)
	// waits for the user to enter its code and approve.
	DeviceCodeTTL time.Duration `yaml:"device_code_ttl"`
}

// RateLimit configures the limiter and its rules. The first five rules are the
// integration guide's section 7.
type RateLimit struct {
	Kind    string `yaml:"kind"`
	Enabled bool   `yaml:"enabled"`
	// Token is per client.
	Token Rate `yaml:"token"`
	// Authorize is per IP.
	Authorize Rate `yaml:"authorize"`
	// UserInfo is per access token.
	UserInfo Rate `yaml:"userinfo"`
	// Introspect is per client.
	Introspect Rate `yaml:"introspect"`
	// Register is per IP.
	Register Rate `yaml:"register"`
	// LoginAccount counts sign-in attempts per account from one IP.
	LoginAccount Rate `yaml:"login_account"`
	// LoginIP counts sign-in attempts per IP (per /64 for IPv6).
	LoginIP Rate `yaml:"login_ip"`
	// MFA counts second-factor codes tried per account, from anywhere:
	// whoever tries has the password.
	MFA Rate `yaml:"mfa"`
	// UserCodeIP counts device user code entries per IP (per /64 for
	// IPv6), UserCodeGlobal all of them: user codes are short (RFC 8628 §5.1).
	UserCodeIP     Rate `yaml:"user_code_ip"`
	UserCodeGlobal Rate `yaml:"user_code_global"`
	// PasswordReset counts forgot-password requests per IP; each may send
	// a mail.
	PasswordReset Rate `yaml:"password_reset"`
	// WebhookTest counts webhook pings and redeliveries per client.
	WebhookTest Rate `yaml:"webhook_test"`
}

// Rate is a fixed-window rule: Limit requests per Window. A Limit of 0
// switches the rule off.
type Rate struct {
	Limit  int           `yaml:"limit"`
	Window time.Duration `yaml:"window"`
}

// Cookies configures the browser session cookie.
type Cookies struct {
	Secure      string        `yaml:"secure"` // auto, always or never
	SessionName string        `yaml:"session_name"`
	SessionTTL  time.Duration `yaml:"session_ttl"`
}

// Registration configures dynamic client registration (RFC 7591).
type Registration struct {
	Enabled bool `yaml:"enabled"`
}

// OIDC configures protocol policy.
type OIDC struct {
	// PKCERequired is "all" (every client sends PKCE S256, the guide's
	// advice) or "public" (public clients, and clients an administrator
	// marks pkceRequired; a confidential client may rely on nonce, as the
	// OpenID certification suite expects; see docs/CERTIFICATION.md).
	PKCERequired string `yaml:"pkce_required"`
	// RequirePAR makes every client send its authorization requests
	// through the pushed authorization request endpoint (RFC 9126 §5);
	// a client can ask it for itself with the metadata
	// require_pushed_authorization_requests.
	RequirePAR bool `yaml:"require_pushed_authorization_requests"`
}

// PKCEPolicies lists the valid oidc.pkce_required values.
var PKCEPolicies = []string{"all", "public"}

// Directory configures provisioning, invitations and password resets.
type Directory struct {
	// InviteTTL is how long an emailed invitation link works.
	InviteTTL time.Duration `yaml:"invite_ttl"`
	// ResetTTL is how long an emailed password reset link works.
	ResetTTL time.Duration `yaml:"reset_ttl"`
	// MaxBatch is the most users one bulk provisioning request may carry.
	MaxBatch int `yaml:"max_batch"`
}

// SCIM configures /scim/v2.
type SCIM struct {
	// OnDelete is what DELETE /scim/v2/Users/{id} does to a user in no
	// other organization: "delete" or "deactivate".
	OnDelete string `yaml:"on_delete"`
	// MaxResults bounds a page of a SCIM listing.
	MaxResults int `yaml:"max_results"`
}

// SCIM delete modes.
const (
	SCIMDelete     = "delete"
	SCIMDeactivate = "deactivate"
)

// Mail kinds.
const (
	MailLog  = "log"  // write whole messages to stdout: development only
	MailSMTP = "smtp" // send through an SMTP relay
)

// MailKinds lists the valid mail.kind values.
var MailKinds = []string{MailLog, MailSMTP}

// SMTP TLS modes.
var SMTPTLSModes = []string{"none", "starttls", "tls"}

// Mail configures outgoing email (invitations, password resets).
type Mail struct {
	Kind string `yaml:"kind"`
	// From is the sender, e.g. "Calimatic <no-reply@school.example>".
	From string `yaml:"from"`
	SMTP SMTP   `yaml:"smtp"`
}

// SMTP configures the SMTP relay.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	// Password is never logged.
	Password string `yaml:"password"`
	// TLS is none (loopback relays only), starttls (required) or tls
	// (implicit, port 465).
	TLS     string        `yaml:"tls"`
	Timeout time.Duration `yaml:"timeout"`
}

// Webhooks configures webhook delivery.
type Webhooks struct {
	// Deliver runs the delivery worker in this instance. Every instance may
	// run it: claims never overlap.
	Deliver bool `yaml:"deliver"`
	// RequireHTTPS is auto (https unless the issuer is http on a loopback
	// host, as in development), always or never.
	RequireHTTPS string `yaml:"require_https"`
	// AllowLoopback and AllowPrivate let deliveries reach loopback and
	// private or link-local addresses (refused by default: SSRF).
	AllowLoopback bool `yaml:"allow_loopback"`
	AllowPrivate  bool `yaml:"allow_private"`
	// Timeout bounds one post.
	Timeout time.Duration `yaml:"timeout"`
	// The retry schedule: the first retry after FirstRetry, each later one
	// three times longer up to MaxRetryDelay, for RetryFor in all; ±20%
	// jitter.
	FirstRetry    time.Duration `yaml:"first_retry"`
	MaxRetryDelay time.Duration `yaml:"max_retry_delay"`
	RetryFor      time.Duration `yaml:"retry_for"`
	// DisableAfter disables a subscription after this many failed attempts
	// in a row (0: never).
	DisableAfter int `yaml:"disable_after"`
	// PollEvery is how often the worker looks for work another instance
	// queued (work queued here wakes it at once).
	PollEvery time.Duration `yaml:"poll_every"`
	// Parallel is how many posts one instance makes at once.
	Parallel int `yaml:"parallel"`
	// Retention keeps delivered events and finished deliveries this long
	// (postgres; the janitor deletes older ones).
	Retention time.Duration `yaml:"retention"`
}

// RequireHTTPS modes of webhooks.require_https.
var RequireHTTPSModes = []string{SecureAuto, SecureAlways, SecureNever}

// WebhooksRequireHTTPS reports whether subscription URLs must be https.
func (c Config) WebhooksRequireHTTPS() bool {
	switch c.Webhooks.RequireHTTPS {
	case SecureAlways:
		return true
	case SecureNever:
		return false
	}
	return c.SecureCookies()
}

// Log configures the slog handler.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text or json
}

// SlogLevel returns Level as a slog.Level (info when Level is not valid; Validate
// refuses such a value).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Dev configures the development seed: a demo organization and user.
type Dev struct {
	// Seed nil means on with the memory driver and off otherwise; see
	// Config.SeedEnabled.
	Seed *bool `yaml:"seed"`
	// SeedEmail and SeedPassword are generated (and printed) when empty.
	SeedEmail    string `yaml:"seed_email"`
	SeedPassword string `yaml:"seed_password"`
	// SeedAdminKey is the platform admin key the seed stores (cak_ and at
	// least 32 characters); generated and printed when empty.
	SeedAdminKey string `yaml:"seed_admin_key"`
	// SeedUsers adds this many members to the demo organization for load
	// tests, loadtest-00000@ to loadtest-NNNNN@ the seed email's domain,
	// with the seed password.
	SeedUsers int `yaml:"seed_users"`
}

// Default returns the configuration used when neither the file nor the
// environment says otherwise. It is valid, and needs no external service.
func Default() Config {
	minute := time.Minute
	return Config{
		Issuer: "http://localhost:8080",
		HTTP: HTTP{
			Addr:            ":8080",
			MetricsAddr:     "127.0.0.1:9464",
			TrustedProxies:  []string{},
			ProxyHeader:     "X-Forwarded-For",
			BodyLimit:       1 << 20,
			ReadTimeout:     10 * time.Second,
			WriteTimeout:    10 * time.Second,
			IdleTimeout:     60 * time.Second,
			ShutdownTimeout: 15 * time.Second,
		},
		Storage: Storage{
			Driver:   StorageMemory,
			Postgres: Postgres{MaxConns: 20, Migrate: MigrateAuto, JanitorEvery: time.Minute},
			Mongo:    Mongo{Database: "calimatic", Timeout: 10 * time.Second, JanitorEvery: time.Minute},
		},
		Signer: Signer{
			Kind:           SignerLocal,
			Algorithms:     []string{AlgRS256, AlgES256},
			IDTokenAlg:     AlgRS256, // OIDC Core §15.1: RS256 must be supported
			AccessTokenAlg: AlgRS256,
			RSABits:        2048,
			Reload:         30 * time.Second,
			Vault: Vault{
				AppRoleMount: "approle", Mount: "transit", KeyRS256: "calimatic-rs256", KeyES256: "calimatic-es256",
				PublishDelay: time.Minute, Refresh: 30 * time.Second, BatchMax: 64,
				BatchWindow: 300 * time.Microsecond, Timeout: 5 * time.Second,
			},
		},
		Tokens: Tokens{
			AccessTokenTTL:  time.Hour,
			IDTokenTTL:      time.Hour,
			RefreshTokenTTL: 30 * 24 * time.Hour,
			CodeTTL:         60 * time.Second,
			RefreshGrace:    0,
			AuthRequestTTL:  30 * time.Minute,
			DeviceCodeTTL:   10 * time.Minute,
		},
		RateLimit: RateLimit{
			Kind:           RateLimitMemory,
			Enabled:        true,
			Token:          Rate{Limit: 20, Window: minute},
			Authorize:      Rate{Limit: 30, Window: minute},
			UserInfo:       Rate{Limit: 60, Window: minute},
			Introspect:     Rate{Limit: 60, Window: minute},
			Register:       Rate{Limit: 5, Window: minute},
			LoginAccount:   Rate{Limit: 10, Window: 5 * minute},
			LoginIP:        Rate{Limit: 60, Window: minute},
			MFA:            Rate{Limit: 5, Window: 15 * minute},
			UserCodeIP:     Rate{Limit: 10, Window: minute},
			UserCodeGlobal: Rate{Limit: 600, Window: minute},
			PasswordReset:  Rate{Limit: 5, Window: minute},
			WebhookTest:    Rate{Limit: 30, Window: minute},
		},
		Cookies: Cookies{
			Secure:      SecureAuto,
			SessionName: "calimatic_session",
			SessionTTL:  24 * time.Hour,
		},
		Registration: Registration{Enabled: true},
		OIDC:         OIDC{PKCERequired: "all"},
		Directory:    Directory{InviteTTL: 7 * 24 * time.Hour, ResetTTL: time.Hour, MaxBatch: 1000},
		SCIM:         SCIM{OnDelete: SCIMDelete, MaxResults: 200},
		Webhooks: Webhooks{
			Deliver: true, RequireHTTPS: SecureAuto, Timeout: 10 * time.Second,
			FirstRetry: 5 * time.Second, MaxRetryDelay: 12 * time.Hour, RetryFor: 72 * time.Hour,
			DisableAfter: 50, PollEvery: time.Second, Parallel: 16, Retention: 30 * 24 * time.Hour,
		},
		Mail: Mail{
			Kind: MailLog,
			From: "Calimatic <no-reply@localhost>",
			SMTP: SMTP{Port: 587, TLS: "starttls", Timeout: 10 * time.Second},
		},
		Log: Log{Level: "info", Format: "text"},
	}
}

// SeedEnabled reports whether the development seed runs: dev.seed when set,
// otherwise only with the memory driver.
func (c Config) SeedEnabled() bool {
	if c.Dev.Seed != nil {
		return *c.Dev.Seed
	}
	return c.Storage.Driver == StorageMemory
}

// SecureCookies reports whether cookies carry the Secure attribute. With
// "auto" they do, unless the issuer is plain http on a loopback host
// (localhost, 127.0.0.1 or [::1]), where browsers would drop them.
func (c Config) SecureCookies() bool {
	switch c.Cookies.Secure {
	case SecureAlways:
		return true
	case SecureNever:
		return false
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Scheme != "http" {
		return true
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return false
	}
	return true
}
