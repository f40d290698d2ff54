package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValidationError lists every problem found in a configuration, each one
// starting with the key's path.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0]
	}
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Limits that are not a matter of taste.
const (
	// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes
	// is RECOMMENDED."
	maxCodeTTL = 10 * time.Minute
	// NIST SP 800-57: RSA keys below 2048 bits are no longer acceptable.
	minRSABits = 2048
	maxRSABits = 8192
	// Mirrors core/domain's password policy (NIST SP 800-63B).
	minSeedPasswordLen = 8
	// AES-256.
	keyEncryptionKeyLen = 32
	// pgxpool counts connections in an int32; far more than any server
	// should open.
	maxPoolConns = 10000
	minPoolConns = 2
)

// Validate reports every problem in c at once, as a *ValidationError. An
// unknown choice lists the valid ones.
func (c Config) Validate() error {
	var v validator
	v.issuer(c.Issuer)
	v.http(c.HTTP)
	v.oneOf("storage.driver", c.Storage.Driver, StorageDrivers)
	v.postgres(c.Storage)
	v.mongo(c.Storage)
	v.signer(c.Signer)
	v.tokens(c.Tokens)
	v.oneOf("oidc.pkce_required", c.OIDC.PKCERequired, PKCEPolicies)
	v.rateLimit(c.RateLimit)
	if c.RateLimit.Kind == RateLimitPostgres && c.Storage.Driver != StoragePostgres {
		v.addf("ratelimit.kind", "postgres needs storage.driver postgres, got %q", c.Storage.Driver)
	}
	if c.RateLimit.Kind == RateLimitMongo && c.Storage.Driver != StorageMongo {
		v.addf("ratelimit.kind", "mongo needs storage.driver mongo, got %q", c.Storage.Driver)
	}
	v.oneOf("cookies.secure", c.Cookies.Secure, SecureModes)
	v.cookieName("cookies.session_name", c.Cookies.SessionName)
	v.positive("cookies.session_ttl", c.Cookies.SessionTTL)
	v.oneOf("log.level", c.Log.Level, LogLevels)
	v.oneOf("log.format", c.Log.Format, LogFormats)
	v.dev(c.Dev)
	v.directory(c.Directory)
	v.oneOf("scim.on_delete", c.SCIM.OnDelete, []string{SCIMDelete, SCIMDeactivate})
	if c.SCIM.MaxResults < 1 || c.SCIM.MaxResults > 1000 {
		v.addf("scim.max_results", "must be between 1 and 1000, got %d", c.SCIM.MaxResults)
	}
	v.mail(c.Mail)
	v.webhooks(c.Webhooks)
	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

type validator struct {
	problems []string
}

func (v *validator) addf(key, format string, args ...any) {
	v.problems = append(v.problems, key+": "+fmt.Sprintf(format, args...))
}

func (v *validator) oneOf(key, value string, valid []string) {
	if slices.Contains(valid, value) {
		return
	}
	if value == "" {
		v.addf(key, "must be set (valid: %s)", strings.Join(valid, ", "))
		return
	}
	v.addf(key, "unknown value %q (valid: %s)", value, strings.Join(valid, ", "))
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.addf(key, "must be a positive duration, got %s", d)
	}
}

func (v *validator) issuer(s string) {
	const key = "issuer"
	if s == "" {
		v.addf(key, "must be set, e.g. https://auth.example.com")
		return
	}
	u, err := url.Parse(s)
	if err != nil {
		v.addf(key, "%q is not a URL", s)
		return
	}
	// OIDC Discovery §3: the issuer is a case-sensitive https URL with
	// scheme, host and optionally a path, and no query or fragment. Plain
	// http is accepted for local development.
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		v.addf(key, "%q must be an absolute http or https URL", s)
	case u.Host == "" || u.Hostname() == "":
		v.addf(key, "%q has no host", s)
	case u.User != nil:
		v.addf(key, "%q must not contain user information", s)
	case u.RawQuery != "" || u.ForceQuery:
		v.addf(key, "%q must not have a query", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		v.addf(key, "%q must not have a fragment", s)
	case strings.HasSuffix(s, "/"):
		v.addf(key, "%q must not end with a slash", s)
	}
}

// listenAddr checks a host:port listen address: any host, or none for
// every interface; the port must be a number.
func (v *validator) listenAddr(key, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		v.addf(key, "%q is not a host:port listen address", addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.addf(key, "%q has an invalid port %q", addr, port)
	}
}

func (v *validator) http(h HTTP) {
	v.listenAddr("http.addr", h.Addr)
	if h.MetricsAddr != "" {
		v.listenAddr("http.metrics_addr", h.MetricsAddr)
		if h.MetricsAddr == h.Addr {
			v.addf("http.metrics_addr", "%q is the public listener's address; metrics need their own", h.MetricsAddr)
		}
	}
	for _, p := range h.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err == nil {
			continue
		}
		v.addf("http.trusted_proxies", "%q is not an IP address or CIDR", p)
	}
	if !isToken(h.ProxyHeader) {
		v.addf("http.proxy_header", "%q is not a valid header name", h.ProxyHeader)
	}
	if h.BodyLimit <= 0 {
		v.addf("http.body_limit", "must be a positive number of bytes, got %d", h.BodyLimit)
	}
	v.positive("http.read_timeout", h.ReadTimeout)
	v.positive("http.write_timeout", h.WriteTimeout)
	v.positive("http.idle_timeout", h.IdleTimeout)
	v.positive("http.shutdown_timeout", h.ShutdownTimeout)
}

// postgres checks storage.postgres. The pool size and migration mode are
// always checked; the DSN and master key only matter with the postgres
// driver. Neither the DSN nor the key is ever echoed.
func (v *validator) postgres(s Storage) {
	p := s.Postgres
	// Two at least: the webhook dispatcher reads subscriptions while it
	// holds a connection for its transaction.
	if p.MaxConns < minPoolConns || p.MaxConns > maxPoolConns {
		v.addf("storage.postgres.max_conns", "must be between %d and %d, got %d", minPoolConns, maxPoolConns, p.MaxConns)
	}
	v.oneOf("storage.postgres.migrate", p.Migrate, MigrateModes)
	if p.JanitorEvery < 0 {
		v.addf("storage.postgres.janitor_every", "must be 0s (off) or a positive duration, got %s", p.JanitorEvery)
	}
	if s.Driver != StoragePostgres {
		return
	}
	if strings.TrimSpace(p.DSN) == "" {
		v.addf("storage.postgres.dsn", "must be set with storage.driver postgres, e.g. postgres://user:pass@db:5432/calimatic?sslmode=verify-full")
	}
	switch key, err := p.KeyEncryptionKeyBytes(); {
	case p.KeyEncryptionKey == "":
		v.addf("storage.postgres.key_encryption_key", "must be set with storage.driver postgres: the base64 of %d random bytes (openssl rand -base64 32)", keyEncryptionKeyLen)
	case err != nil:
		v.addf("storage.postgres.key_encryption_key", "is not base64 (make one with openssl rand -base64 32)")
	case len(key) != keyEncryptionKeyLen:
		v.addf("storage.postgres.key_encryption_key", "must decode to %d bytes, got %d (make one with openssl rand -base64 32)", keyEncryptionKeyLen, len(key))
	}
}

func (v *validator) signer(s Signer) {
	v.oneOf("signer.kind", s.Kind, SignerKinds)
	if len(s.Algorithms) == 0 {
		v.addf("signer.algorithms", "must list at least one algorithm (valid: %s)", strings.Join(SigningAlgorithms, ", "))
	}
	for i, alg := range s.Algorithms {
		if slices.Contains(s.Algorithms[:i], alg) {
			v.addf("signer.algorithms", "%q is listed twice", alg)
			continue
		}
		v.oneOf("signer.algorithms", alg, SigningAlgorithms)
	}
	for _, k := range []struct{ key, alg string }{
		{"signer.id_token_alg", s.IDTokenAlg},
		{"signer.access_token_alg", s.AccessTokenAlg},
	} {
		switch {
		case !slices.Contains(SigningAlgorithms, k.alg):
			v.oneOf(k.key, k.alg, SigningAlgorithms)
		case len(s.Algorithms) > 0 && !slices.Contains(s.Algorithms, k.alg):
			v.addf(k.key, "%q is not in signer.algorithms [%s]", k.alg, strings.Join(s.Algorithms, ", "))
		}
	}
	v.vault(s)
	if s.RSABits < minRSABits || s.RSABits > maxRSABits {
		v.addf("signer.rsa_bits", "must be between %d and %d, got %d", minRSABits, maxRSABits, s.RSABits)
	}
	v.positive("signer.reload", s.Reload)
	// The next key is in JWKS from the previous rotation on; relying parties
	// cache JWKS for 5 minutes and instances reload every signer.reload, so
	// a schedule shorter than minRotateEvery could sign before they know it.
	if s.RotateEvery != 0 && (s.RotateEvery < minRotateEvery || s.RotateEvery < 4*s.Reload) {
		v.addf("signer.rotate_every", "must be 0s (off) or at least %s and 4 times signer.reload, got %s", minRotateEvery, s.RotateEvery)
	}
}

// minRotateEvery is the shortest key rotation schedule accepted.
const minRotateEvery = 15 * time.Minute

func (v *validator) tokens(t Tokens) {
	v.positive("tokens.access_token_ttl", t.AccessTokenTTL)
	v.positive("tokens.id_token_ttl", t.IDTokenTTL)
	v.positive("tokens.refresh_token_ttl", t.RefreshTokenTTL)
	v.positive("tokens.code_ttl", t.CodeTTL)
	if t.CodeTTL > maxCodeTTL {
		v.addf("tokens.code_ttl", "must be at most %s (RFC 6749 §4.1.2), got %s", maxCodeTTL, t.CodeTTL)
	}
	switch {
	case t.RefreshGrace < 0:
		v.addf("tokens.refresh_grace", "must not be negative, got %s (0s switches it off)", t.RefreshGrace)
	case t.RefreshTokenTTL > 0 && t.RefreshGrace >= t.RefreshTokenTTL:
		v.addf("tokens.refresh_grace", "must be shorter than tokens.refresh_token_ttl (%s), got %s", t.RefreshTokenTTL, t.RefreshGrace)
	}
	v.positive("tokens.auth_request_ttl", t.AuthRequestTTL)
	v.positive("tokens.device_code_ttl", t.DeviceCodeTTL)
}

func (v *validator) rateLimit(r RateLimit) {
	v.oneOf("ratelimit.kind", r.Kind, RateLimitKinds)
	for _, rule := range []struct {
		name string
		rate Rate
	}{
		{"token", r.Token},
		{"authorize", r.Authorize},
		{"userinfo", r.UserInfo},
		{"introspect", r.Introspect},
		{"register", r.Register},
		{"login_account", r.LoginAccount},
		{"login_ip", r.LoginIP},
		{"mfa", r.MFA},
		{"user_code_ip", r.UserCodeIP},
		{"user_code_global", r.UserCodeGlobal},
		{"password_reset", r.PasswordReset},
		{"webhook_test", r.WebhookTest},
	} {
		if rule.rate.Limit < 0 {
			v.addf("ratelimit."+rule.name+".limit", "must not be negative, got %d (0 switches the rule off)", rule.rate.Limit)
		}
		v.positive("ratelimit."+rule.name+".window", rule.rate.Window)
	}
}

func (v *validator) cookieName(key, name string) {
	// RFC 6265 §4.1.1: a cookie name is an HTTP token.
	if !isToken(name) {
		v.addf(key, "%q is not a valid cookie name", name)
	}
}

// maxSeedUsers bounds the load-test users the seed makes.
const maxSeedUsers = 100_000

func (v *validator) dev(d Dev) {
	if d.SeedEmail != "" {
		if a, err := mail.ParseAddress(d.SeedEmail); err != nil || a.Address != d.SeedEmail {
			v.addf("dev.seed_email", "%q is not an email address", d.SeedEmail)
		}
	}
	if d.SeedAdminKey != "" && (!strings.HasPrefix(d.SeedAdminKey, "cak_") || len(d.SeedAdminKey) < 36 || len(d.SeedAdminKey) > 128) {
		// Never echo the key.
		v.addf("dev.seed_admin_key", "must be cak_ followed by 32 to 124 characters")
	}
	if d.SeedUsers < 0 || d.SeedUsers > maxSeedUsers {
		v.addf("dev.seed_users", "must be between 0 and %d, got %d", maxSeedUsers, d.SeedUsers)
	}
	if d.SeedPassword != "" && len([]rune(d.SeedPassword)) < minSeedPasswordLen {
		// Never echo the password.
		v.addf("dev.seed_password", "must be at least %d characters", minSeedPasswordLen)
	}
}

// isToken reports whether s is an RFC 9110 §5.6.2 token, the syntax of
// header and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// maxBatchLimit bounds directory.max_batch: a batch is one transaction.
const maxBatchLimit = 10000

func (v *validator) directory(d Directory) {
	v.positive("directory.invite_ttl", d.InviteTTL)
	v.positive("directory.reset_ttl", d.ResetTTL)
	if d.MaxBatch < 1 || d.MaxBatch > maxBatchLimit {
		v.addf("directory.max_batch", "must be between 1 and %d, got %d", maxBatchLimit, d.MaxBatch)
	}
}

func (v *validator) mail(m Mail) {
	v.oneOf("mail.kind", m.Kind, MailKinds)
	if a, err := mail.ParseAddress(m.From); err != nil || a.Address == "" {
		v.addf("mail.from", "%q is not an address like \"Calimatic <no-reply@example.com>\"", m.From)
	}
	if m.Kind != MailSMTP {
		return
	}
	if m.SMTP.Host == "" {
		v.addf("mail.smtp.host", "must be set when mail.kind is smtp")
	}
	if m.SMTP.Port < 1 || m.SMTP.Port > 65535 {
		v.addf("mail.smtp.port", "must be a TCP port, got %d", m.SMTP.Port)
	}
	v.oneOf("mail.smtp.tls", m.SMTP.TLS, SMTPTLSModes)
	v.positive("mail.smtp.timeout", m.SMTP.Timeout)
}

func (v *validator) webhooks(w Webhooks) {
	v.oneOf("webhooks.require_https", w.RequireHTTPS, RequireHTTPSModes)
	v.positive("webhooks.timeout", w.Timeout)
	v.positive("webhooks.first_retry", w.FirstRetry)
	v.positive("webhooks.max_retry_delay", w.MaxRetryDelay)
	v.positive("webhooks.retry_for", w.RetryFor)
	v.positive("webhooks.poll_every", w.PollEvery)
	v.positive("webhooks.retention", w.Retention)
	if w.DisableAfter < 0 {
		v.addf("webhooks.disable_after", "must not be negative, got %d (0: never)", w.DisableAfter)
	}
	if w.Parallel < 1 || w.Parallel > 1024 {
		v.addf("webhooks.parallel", "must be between 1 and 1024, got %d", w.Parallel)
	}
}

func (v *validator) mongo(s Storage) {
	m := s.Mongo
	v.positive("storage.mongo.timeout", m.Timeout)
	if m.JanitorEvery < 0 {
		v.addf("storage.mongo.janitor_every", "must be 0s (off) or a positive duration, got %s", m.JanitorEvery)
	}
	if s.Driver != StorageMongo {
		return
	}
	if u := strings.TrimSpace(m.URI); !strings.HasPrefix(u, "mongodb://") && !strings.HasPrefix(u, "mongodb+srv://") {
		v.addf("storage.mongo.uri", "must be a mongodb:// or mongodb+srv:// URI with storage.driver mongo")
	}
	if m.Database == "" || strings.ContainsAny(m.Database, "/\\. \"$") || len(m.Database) > 63 {
		v.addf("storage.mongo.database", "must be a MongoDB database name (no / \\ . space \" $), got %q", m.Database)
	}
	switch key, err := m.KeyEncryptionKeyBytes(); {
	case m.KeyEncryptionKey == "":
		v.addf("storage.mongo.key_encryption_key", "must be set with storage.driver mongo: the base64 of %d random bytes (openssl rand -base64 32)", keyEncryptionKeyLen)
	case err != nil:
		v.addf("storage.mongo.key_encryption_key", "is not base64 (make one with openssl rand -base64 32)")
	case len(key) != keyEncryptionKeyLen:
		v.addf("storage.mongo.key_encryption_key", "must decode to %d bytes, got %d (make one with openssl rand -base64 32)", keyEncryptionKeyLen, len(key))
	}
}

func (v *validator) vault(s Signer) {
	w := s.Vault
	if w.BatchMax < 1 || w.BatchMax > 1000 {
		v.addf("signer.vault.batch_max", "must be between 1 and 1000, got %d", w.BatchMax)
	}
	if w.PublishDelay < 0 {
		v.addf("signer.vault.publish_delay", "must not be negative, got %s", w.PublishDelay)
	}
	v.positive("signer.vault.batch_window", w.BatchWindow)
	v.positive("signer.vault.timeout", w.Timeout)
	v.positive("signer.vault.refresh", w.Refresh)
	if s.Kind != SignerVault {
		return
	}
	if u, err := url.Parse(w.Address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.addf("signer.vault.address", "must be Vault's URL with signer.kind vault, e.g. https://vault.internal:8200")
	}
	if w.Token == "" && (w.RoleID == "" || w.SecretID == "") {
		// Never echo the token or the secret id.
		v.addf("signer.vault.token", "a token, or role_id and secret_id (AppRole), is required with signer.kind vault")
	}
	if w.Mount == "" || w.KeyRS256 == "" || w.KeyES256 == "" {
		v.addf("signer.vault.mount", "mount, key_rs256 and key_es256 must not be empty")
	}
}
