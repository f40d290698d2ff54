package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func ptr[T any](v T) *T { return &v }

func TestDefaults(t *testing.T) {
	cfg, err := Load("", nil)
	require.NoError(t, err)
	assert.Equal(t, Default(), cfg, "Load with no file and no environment gives Default")

	assert.Equal(t, "http://localhost:8080", cfg.Issuer)
	assert.Equal(t, HTTP{
		Addr: ":8080", MetricsAddr: "127.0.0.1:9464", TrustedProxies: []string{}, ProxyHeader: "X-Forwarded-For", BodyLimit: 1 << 20,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		IdleTimeout: 60 * time.Second, ShutdownTimeout: 15 * time.Second,
	}, cfg.HTTP)
	assert.Equal(t, Storage{
		Driver:   "memory",
		Postgres: Postgres{MaxConns: 20, Migrate: "auto", JanitorEvery: time.Minute},
		Mongo:    Mongo{Database: "calimatic", Timeout: 10 * time.Second, JanitorEvery: time.Minute},
	}, cfg.Storage)
	assert.Equal(t, Signer{
		Kind: "local", Algorithms: []string{"RS256", "ES256"}, IDTokenAlg: "RS256", AccessTokenAlg: "RS256",
		RSABits: 2048, Reload: 30 * time.Second,
		Vault: Vault{
			AppRoleMount: "approle", Mount: "transit", KeyRS256: "calimatic-rs256", KeyES256: "calimatic-es256",
			PublishDelay: time.Minute, Refresh: 30 * time.Second, BatchMax: 64,
			BatchWindow: 300 * time.Microsecond, Timeout: 5 * time.Second,
		},
	}, cfg.Signer)
	assert.Equal(t, Tokens{
		AccessTokenTTL: time.Hour, IDTokenTTL: time.Hour, RefreshTokenTTL: 720 * time.Hour,
		CodeTTL: time.Minute, RefreshGrace: 0, AuthRequestTTL: 30 * time.Minute, DeviceCodeTTL: 10 * time.Minute,
	}, cfg.Tokens)
	// The first five are the integration guide's §7.
	assert.Equal(t, RateLimit{
		Kind: "memory", Enabled: true,
		Token:          Rate{Limit: 20, Window: time.Minute},
		Authorize:      Rate{Limit: 30, Window: time.Minute},
		UserInfo:       Rate{Limit: 60, Window: time.Minute},
		Introspect:     Rate{Limit: 60, Window: time.Minute},
		Register:       Rate{Limit: 5, Window: time.Minute},
		LoginAccount:   Rate{Limit: 10, Window: 5 * time.Minute},
		LoginIP:        Rate{Limit: 60, Window: time.Minute},
		MFA:            Rate{Limit: 5, Window: 15 * time.Minute},
		UserCodeIP:     Rate{Limit: 10, Window: time.Minute},
		UserCodeGlobal: Rate{Limit: 600, Window: time.Minute},
		PasswordReset:  Rate{Limit: 5, Window: time.Minute},
		WebhookTest:    Rate{Limit: 30, Window: time.Minute},
	}, cfg.RateLimit)
	assert.Equal(t, Directory{InviteTTL: 7 * 24 * time.Hour, ResetTTL: time.Hour, MaxBatch: 1000}, cfg.Directory)
	assert.Equal(t, Mail{Kind: "log", From: "Calimatic <no-reply@localhost>", SMTP: SMTP{Port: 587, TLS: "starttls", Timeout: 10 * time.Second}}, cfg.Mail)
	assert.Equal(t, Cookies{Secure: "auto", SessionName: "calimatic_session", SessionTTL: 24 * time.Hour}, cfg.Cookies)
	assert.True(t, cfg.Registration.Enabled)
	assert.Equal(t, Log{Level: "info", Format: "text"}, cfg.Log)
	assert.Equal(t, Dev{}, cfg.Dev, "the seed is unset (automatic) and has no fixed credentials")
	assert.True(t, cfg.SeedEnabled(), "the seed is on with the default memory driver")
	assert.False(t, cfg.SecureCookies(), "the default issuer is http://localhost")
}

func TestDefaultIsNotShared(t *testing.T) {
	a := Default()
	a.Signer.Algorithms[0] = "changed"
	a.HTTP.TrustedProxies = append(a.HTTP.TrustedProxies, "10.0.0.1")
	b := Default()
	assert.Equal(t, "RS256", b.Signer.Algorithms[0], "changing one Default's slices does not change another's")
	assert.Empty(t, b.HTTP.TrustedProxies)
}

func TestLoadFile(t *testing.T) {
	path := writeConfig(t, `
issuer: https://auth.example.com/
http:
  addr: "127.0.0.1:9090"
  trusted_proxies: [10.0.0.0/8, "::1"]
signer:
  algorithms: [ES256]
  id_token_alg: ES256
  access_token_alg: ES256
tokens:
  access_token_ttl: 15m
  refresh_grace: 5s
ratelimit:
  enabled: false
  token: {limit: 100, window: 10s}
cookies:
  secure: always
dev:
  seed: false
  seed_email: demo@example.com
`)
	cfg, err := Load(path, nil)
	require.NoError(t, err)

	want := Default()
	want.Issuer = "https://auth.example.com" // the trailing slash is trimmed
	want.HTTP.Addr = "127.0.0.1:9090"
	want.HTTP.TrustedProxies = []string{"10.0.0.0/8", "::1"}
	want.Signer.Algorithms = []string{"ES256"}
	want.Signer.IDTokenAlg = "ES256"
	want.Signer.AccessTokenAlg = "ES256"
	want.Tokens.AccessTokenTTL = 15 * time.Minute
	want.Tokens.RefreshGrace = 5 * time.Second
	want.RateLimit.Enabled = false
	want.RateLimit.Token = Rate{Limit: 100, Window: 10 * time.Second}
	want.Cookies.Secure = "always"
	want.Dev.Seed = ptr(false)
	want.Dev.SeedEmail = "demo@example.com"
	assert.Equal(t, want, cfg, "the file's keys replace the defaults and every other key keeps its default")
}

func TestLoadFileThatSetsNothing(t *testing.T) {
	for name, body := range map[string]string{
		"an empty file":         "",
		"a file of comments":    "# nothing here\n# at all\n",
		"an explicit null file": "~\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, body), nil)
			require.NoError(t, err)
			assert.Equal(t, Default(), cfg)
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // substrings of the error
	}{
		{"an unknown top-level key is named", "issuerr: http://x\n", []string{`unknown key "issuerr"`, "line 1"}},
		{"an unknown nested key is named by its path", "http:\n  adr: \":1\"\n", []string{`unknown key "http.adr"`, "line 2", "valid keys here: addr, metrics_addr, trusted_proxies"}},
		{"an unknown key in a rate rule is named by its path", "ratelimit:\n  token:\n    limt: 3\n", []string{`unknown key "ratelimit.token.limt"`}},
		{"a section that is not known is named", "storage:\n  redis:\n    uri: x\n", []string{`unknown key "storage.redis"`, "valid keys here: driver, postgres, mongo"}},
		{"every unknown key is reported", "foo: 1\nbar: 2\n", []string{`"foo"`, `"bar"`}},
		{"a word where a number belongs is refused", "ratelimit:\n  token:\n    limit: abc\n", []string{"line 3", "abc"}},
		{"a malformed duration is refused", "tokens:\n  code_ttl: soon\n", []string{"line 2", "soon"}},
		{"a bare number where a duration belongs is refused with the fix", "tokens:\n  code_ttl: 60\n", []string{"line 2: tokens.code_ttl: 60 is a number, not a duration (write it with a unit: 60s)"}},
		{"a bare zero where a duration belongs is refused with the fix", "tokens:\n  refresh_grace: 0\n", []string{"tokens.refresh_grace", "0s"}},
		{"a list where a string belongs is refused", "issuer: [a, b]\n", []string{"line 1"}},
		{"a document that is not a mapping is refused", "- a\n- b\n", []string{"mapping"}},
		{"malformed YAML is refused", "http: [\n", []string{"yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			_, err := Load(path, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path, "the error names the file")
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestLoadMissingFileFails(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "absent.yaml")
}

func TestLoadValidatesTheFile(t *testing.T) {
	_, err := Load(writeConfig(t, "storage:\n  driver: foo\n"), nil)
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []string{`storage.driver: unknown value "foo" (valid: memory, postgres, mongo)`}, verr.Problems)
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want func(*Config)
	}{
		{"a top-level string", []string{"CALIMATIC_ISSUER=https://id.example.com"},
			func(c *Config) { c.Issuer = "https://id.example.com" }},
		{"the issuer loses a trailing slash", []string{"CALIMATIC_ISSUER=https://id.example.com/"},
			func(c *Config) { c.Issuer = "https://id.example.com" }},
		{"a nested string", []string{"CALIMATIC_HTTP_ADDR=127.0.0.1:9999"},
			func(c *Config) { c.HTTP.Addr = "127.0.0.1:9999" }},
		{"an enum", []string{"CALIMATIC_STORAGE_DRIVER=memory", "CALIMATIC_SIGNER_KIND=local", "CALIMATIC_LOG_FORMAT=json"},
			func(c *Config) { c.Log.Format = "json" }},
		{"the postgres section", []string{"CALIMATIC_STORAGE_POSTGRES_DSN=postgres://db/x", "CALIMATIC_STORAGE_POSTGRES_MAX_CONNS=7", "CALIMATIC_STORAGE_POSTGRES_MIGRATE=off"},
			func(c *Config) {
				c.Storage.Postgres.DSN, c.Storage.Postgres.MaxConns, c.Storage.Postgres.Migrate = "postgres://db/x", 7, "off"
			}},
		{"an integer", []string{"CALIMATIC_HTTP_BODY_LIMIT=2048"},
			func(c *Config) { c.HTTP.BodyLimit = 2048 }},
		{"a rate limit", []string{"CALIMATIC_RATELIMIT_TOKEN_LIMIT=7", "CALIMATIC_RATELIMIT_TOKEN_WINDOW=30s"},
			func(c *Config) { c.RateLimit.Token = Rate{Limit: 7, Window: 30 * time.Second} }},
		{"a rate rule whose name has an underscore", []string{"CALIMATIC_RATELIMIT_LOGIN_ACCOUNT_LIMIT=3"},
			func(c *Config) { c.RateLimit.LoginAccount.Limit = 3 }},
		{"a boolean", []string{"CALIMATIC_RATELIMIT_ENABLED=false", "CALIMATIC_REGISTRATION_ENABLED=0"},
			func(c *Config) { c.RateLimit.Enabled = false; c.Registration.Enabled = false }},
		{"a duration", []string{"CALIMATIC_TOKENS_ACCESS_TOKEN_TTL=5m", "CALIMATIC_TOKENS_REFRESH_GRACE=2s"},
			func(c *Config) { c.Tokens.AccessTokenTTL = 5 * time.Minute; c.Tokens.RefreshGrace = 2 * time.Second }},
		{"a duration with surrounding spaces", []string{"CALIMATIC_COOKIES_SESSION_TTL= 2h "},
			func(c *Config) { c.Cookies.SessionTTL = 2 * time.Hour }},
		{"an optional boolean set on", []string{"CALIMATIC_DEV_SEED=true"},
			func(c *Config) { c.Dev.Seed = ptr(true) }},
		{"an optional boolean set off", []string{"CALIMATIC_DEV_SEED=false"},
			func(c *Config) { c.Dev.Seed = ptr(false) }},
		{"an optional boolean set empty stays unset", []string{"CALIMATIC_DEV_SEED="},
			func(c *Config) {}},
		{"seed credentials", []string{"CALIMATIC_DEV_SEED_EMAIL=demo@example.com", "CALIMATIC_DEV_SEED_PASSWORD=correct horse"},
			func(c *Config) { c.Dev.SeedEmail = "demo@example.com"; c.Dev.SeedPassword = "correct horse" }},
		{"a comma-separated list", []string{"CALIMATIC_HTTP_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.10 ,,::1"},
			func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.10", "::1"} }},
		{"a list of algorithms", []string{"CALIMATIC_SIGNER_ALGORITHMS=ES256,RS256", "CALIMATIC_SIGNER_ACCESS_TOKEN_ALG=ES256"},
			func(c *Config) { c.Signer.Algorithms = []string{"ES256", "RS256"}; c.Signer.AccessTokenAlg = "ES256" }},
		{"the last of two assignments wins", []string{"CALIMATIC_HTTP_ADDR=:1", "CALIMATIC_HTTP_ADDR=:2"},
			func(c *Config) { c.HTTP.Addr = ":2" }},
		{"variables of other programs are ignored", []string{"HOME=/root", "HTTP_ADDR=:1", "calimatic_http_addr=:3", "NOEQUALS"},
			func(c *Config) {}},
		{"unknown CALIMATIC_ variables are ignored", []string{"CALIMATIC_CONFIG=/etc/x.yaml", "CALIMATIC_NOPE=1", "CALIMATIC_TEST_POSTGRES_DSN=postgres://", "CALIMATIC_HTTP=x"},
			func(c *Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("", tt.env)
			require.NoError(t, err)
			want := Default()
			tt.want(&want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestEnvWinsOverFile(t *testing.T) {
	path := writeConfig(t, "http:\n  addr: \":7000\"\nratelimit:\n  token:\n    limit: 50\n")
	cfg, err := Load(path, []string{"CALIMATIC_HTTP_ADDR=:7001"})
	require.NoError(t, err)
	assert.Equal(t, ":7001", cfg.HTTP.Addr, "the environment overrides the file")
	assert.Equal(t, 50, cfg.RateLimit.Token.Limit, "a key the environment does not set keeps the file's value")
}

func TestEnvBadValue(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want string
	}{
		{"a word for an integer", "CALIMATIC_RATELIMIT_TOKEN_LIMIT=abc", `CALIMATIC_RATELIMIT_TOKEN_LIMIT (ratelimit.token.limit): "abc" is not an integer`},
		{"a fraction for an integer", "CALIMATIC_SIGNER_RSA_BITS=2048.5", `CALIMATIC_SIGNER_RSA_BITS (signer.rsa_bits): "2048.5" is not an integer`},
		{"an empty integer", "CALIMATIC_HTTP_BODY_LIMIT=", `CALIMATIC_HTTP_BODY_LIMIT (http.body_limit): "" is not an integer`},
		{"a word for a boolean", "CALIMATIC_RATELIMIT_ENABLED=maybe", `CALIMATIC_RATELIMIT_ENABLED (ratelimit.enabled): "maybe" is not a boolean`},
		{"a word for an optional boolean", "CALIMATIC_DEV_SEED=yes please", `CALIMATIC_DEV_SEED (dev.seed): "yes please" is not a boolean`},
		{"a bare number for a duration", "CALIMATIC_TOKENS_CODE_TTL=60", `CALIMATIC_TOKENS_CODE_TTL (tokens.code_ttl): "60" is not a duration`},
		{"days for a duration", "CALIMATIC_TOKENS_REFRESH_TOKEN_TTL=30d", `CALIMATIC_TOKENS_REFRESH_TOKEN_TTL (tokens.refresh_token_ttl): "30d" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", []string{tt.env})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var verr *ValidationError
			assert.False(t, errors.As(err, &verr), "a parse error is reported before validation")
		})
	}
}

func TestEnvBadValuesAreAllReported(t *testing.T) {
	_, err := Load("", []string{"CALIMATIC_TOKENS_CODE_TTL=x", "CALIMATIC_RATELIMIT_TOKEN_LIMIT=y"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CALIMATIC_TOKENS_CODE_TTL")
	assert.Contains(t, err.Error(), "CALIMATIC_RATELIMIT_TOKEN_LIMIT")
}

func TestEnvBadValueThenGoodValueIsAccepted(t *testing.T) {
	cfg, err := Load("", []string{"CALIMATIC_RATELIMIT_TOKEN_LIMIT=abc", "CALIMATIC_RATELIMIT_TOKEN_LIMIT=9"})
	require.NoError(t, err, "as with a shell, the last assignment is the one that counts")
	assert.Equal(t, 9, cfg.RateLimit.Token.Limit)
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{
		"CALIMATIC_HTTP_ADR=:1", // a typo
		"CALIMATIC_HTTP_ADDR=:2",
		"CALIMATIC_CONFIG=configs/memory.yaml",
		"CALIMATIC_TEST_REQUIRE_BACKENDS=1",
		"CALIMATIC_ISUER=x", // a typo
		"PATH=/bin",
	})
	assert.Equal(t, []string{"CALIMATIC_HTTP_ADR", "CALIMATIC_ISUER"}, got)
}

func TestEveryKeyHasAVariable(t *testing.T) {
	ks := keys()
	require.NotEmpty(t, ks)
	seen := map[string]string{}
	for _, k := range ks {
		if other, dup := seen[k.env]; dup {
			t.Errorf("%s and %s share the variable %s", other, k.path, k.env)
		}
		seen[k.env] = k.path
		assert.Equal(t, envName(k.path), k.env)
		assert.NotContains(t, k.path, "..", "every field on the path has a yaml key")
	}
	for _, name := range []string{
		"CALIMATIC_ISSUER", "CALIMATIC_HTTP_ADDR", "CALIMATIC_STORAGE_DRIVER", "CALIMATIC_SIGNER_KIND",
		"CALIMATIC_RATELIMIT_TOKEN_LIMIT", "CALIMATIC_RATELIMIT_LOGIN_IP_WINDOW", "CALIMATIC_TOKENS_ACCESS_TOKEN_TTL",
		"CALIMATIC_COOKIES_SECURE", "CALIMATIC_DEV_SEED", "CALIMATIC_DEV_SEED_EMAIL", "CALIMATIC_DEV_SEED_PASSWORD",
	} {
		assert.Contains(t, seen, name)
	}
	// Every leaf can actually be set: setFromString knows its type.
	cfg := Default()
	env := make([]string, 0, len(ks))
	for _, k := range ks {
		env = append(env, k.env+"="+sampleValue(k))
	}
	require.NoError(t, applyEnv(&cfg, env))
}

// sampleValue is a value that parses for the key's type.
func sampleValue(k key) string {
	switch {
	case k.typ == durationType:
		return "1s"
	case k.typ.Kind() == reflect.Bool || (k.typ.Kind() == reflect.Pointer && k.typ.Elem().Kind() == reflect.Bool):
		return "true"
	case k.typ.Kind() == reflect.Int:
		return "1"
	default:
		return "x"
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // the single problem expected
	}{
		// issuer
		{"an empty issuer is refused", func(c *Config) { c.Issuer = "" }, "issuer: must be set"},
		{"a relative issuer is refused", func(c *Config) { c.Issuer = "/auth" }, `issuer: "/auth" must be an absolute http or https URL`},
		{"an issuer without a scheme is refused", func(c *Config) { c.Issuer = "auth.example.com" }, "must be an absolute http or https URL"},
		{"an ftp issuer is refused", func(c *Config) { c.Issuer = "ftp://auth.example.com" }, "must be an absolute http or https URL"},
		{"an issuer without a host is refused", func(c *Config) { c.Issuer = "https:///x" }, "has no host"},
		{"an issuer with a query is refused", func(c *Config) { c.Issuer = "https://a.example.com?x=1" }, "must not have a query"},
		{"an issuer with an empty query is refused", func(c *Config) { c.Issuer = "https://a.example.com?" }, "must not have a query"},
		{"an issuer with a fragment is refused", func(c *Config) { c.Issuer = "https://a.example.com#top" }, "must not have a fragment"},
		{"an issuer with user information is refused", func(c *Config) { c.Issuer = "https://u:p@a.example.com" }, "must not contain user information"},
		{"an issuer with a trailing slash is refused by Validate", func(c *Config) { c.Issuer = "https://a.example.com/" }, "must not end with a slash"},
		{"an unparseable issuer is refused", func(c *Config) { c.Issuer = "https://a b:x" }, "is not a URL"},
		// signer rotation
		{"a key rotation schedule under 15 minutes is refused", func(c *Config) { c.Signer.RotateEvery = time.Minute }, "signer.rotate_every: must be 0s (off) or at least 15m0s"},
		{"a key rotation schedule under 4 reloads is refused", func(c *Config) { c.Signer.RotateEvery, c.Signer.Reload = time.Hour, 20*time.Minute }, "4 times signer.reload"},
		// http
		{"a listen address without a port is refused", func(c *Config) { c.HTTP.Addr = "localhost" }, "http.addr: \"localhost\" is not a host:port listen address"},
		{"a listen address with a named port is refused", func(c *Config) { c.HTTP.Addr = ":http" }, `http.addr: ":http" has an invalid port "http"`},
		{"a listen port over 65535 is refused", func(c *Config) { c.HTTP.Addr = ":70000" }, "has an invalid port"},
		{"a metrics address without a port is refused", func(c *Config) { c.HTTP.MetricsAddr = "localhost" }, `http.metrics_addr: "localhost" is not a host:port listen address`},
		{"an unknown PKCE policy is refused", func(c *Config) { c.OIDC.PKCERequired = "none" }, `oidc.pkce_required`},
		{"metrics on the public listener are refused", func(c *Config) { c.HTTP.Addr, c.HTTP.MetricsAddr = ":8080", ":8080" }, "metrics need their own"},
		{"a trusted proxy that is not an IP is refused", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.1", "proxy.local"} }, `http.trusted_proxies: "proxy.local" is not an IP address or CIDR`},
		{"a malformed CIDR is refused", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/33"} }, `"10.0.0.0/33" is not an IP address or CIDR`},
		{"an empty proxy header is refused", func(c *Config) { c.HTTP.ProxyHeader = "" }, `http.proxy_header: "" is not a valid header name`},
		{"a proxy header with a space is refused", func(c *Config) { c.HTTP.ProxyHeader = "X Forwarded" }, "is not a valid header name"},
		{"a zero body limit is refused", func(c *Config) { c.HTTP.BodyLimit = 0 }, "http.body_limit: must be a positive number of bytes, got 0"},
		{"a zero read timeout is refused", func(c *Config) { c.HTTP.ReadTimeout = 0 }, "http.read_timeout: must be a positive duration, got 0s"},
		{"a negative write timeout is refused", func(c *Config) { c.HTTP.WriteTimeout = -time.Second }, "http.write_timeout: must be a positive duration"},
		{"a zero idle timeout is refused", func(c *Config) { c.HTTP.IdleTimeout = 0 }, "http.idle_timeout: must be a positive duration"},
		{"a zero shutdown timeout is refused", func(c *Config) { c.HTTP.ShutdownTimeout = 0 }, "http.shutdown_timeout: must be a positive duration"},
		// storage
		{"an unknown storage driver lists the valid ones", func(c *Config) { c.Storage.Driver = "foo" }, `storage.driver: unknown value "foo" (valid: memory, postgres, mongo)`},
		{"an empty storage driver lists the valid ones", func(c *Config) { c.Storage.Driver = "" }, "storage.driver: must be set (valid: memory, postgres, mongo)"},
		// signer
		{"an unknown signer kind lists the valid ones", func(c *Config) { c.Signer.Kind = "hsm" }, `signer.kind: unknown value "hsm" (valid: local, vault)`},
		{"no algorithms is refused", func(c *Config) { c.Signer.Algorithms = nil },
			"signer.algorithms: must list at least one algorithm (valid: RS256, ES256)"},
		{"an unknown algorithm lists the valid ones", func(c *Config) { c.Signer.Algorithms = []string{"RS256", "HS256"} }, `signer.algorithms: unknown value "HS256" (valid: RS256, ES256)`},
		{"an algorithm in lower case is refused", func(c *Config) { c.Signer.Algorithms = []string{"RS256", "es256"} }, `signer.algorithms: unknown value "es256"`},
		{"an algorithm listed twice is refused", func(c *Config) { c.Signer.Algorithms = []string{"RS256", "RS256"} }, `signer.algorithms: "RS256" is listed twice`},
		{"an unknown ID token algorithm lists the valid ones", func(c *Config) { c.Signer.IDTokenAlg = "PS256" }, `signer.id_token_alg: unknown value "PS256" (valid: RS256, ES256)`},
		{"an ID token algorithm that has no key is refused", func(c *Config) { c.Signer.Algorithms = []string{"RS256"}; c.Signer.IDTokenAlg = "ES256" },
			`signer.id_token_alg: "ES256" is not in signer.algorithms [RS256]`},
		{"an unknown access token algorithm lists the valid ones", func(c *Config) { c.Signer.AccessTokenAlg = "none" }, `signer.access_token_alg: unknown value "none" (valid: RS256, ES256)`},
		{"an access token algorithm that has no key is refused", func(c *Config) { c.Signer.Algorithms = []string{"ES256"}; c.Signer.IDTokenAlg = "ES256" },
			`signer.access_token_alg: "RS256" is not in signer.algorithms [ES256]`},
		{"RSA keys under 2048 bits are refused", func(c *Config) { c.Signer.RSABits = 1024 }, "signer.rsa_bits: must be between 2048 and 8192, got 1024"},
		{"RSA keys over 8192 bits are refused", func(c *Config) { c.Signer.RSABits = 16384 }, "signer.rsa_bits: must be between 2048 and 8192, got 16384"},
		{"a zero reload interval is refused", func(c *Config) { c.Signer.Reload = 0 }, "signer.reload: must be a positive duration"},
		// tokens
		{"a zero access token TTL is refused", func(c *Config) { c.Tokens.AccessTokenTTL = 0 }, "tokens.access_token_ttl: must be a positive duration"},
		{"a zero ID token TTL is refused", func(c *Config) { c.Tokens.IDTokenTTL = 0 }, "tokens.id_token_ttl: must be a positive duration"},
		{"a negative refresh token TTL is refused", func(c *Config) { c.Tokens.RefreshTokenTTL = -time.Hour }, "tokens.refresh_token_ttl: must be a positive duration"},
		{"a zero code TTL is refused", func(c *Config) { c.Tokens.CodeTTL = 0 }, "tokens.code_ttl: must be a positive duration"},
		{"a code TTL over ten minutes is refused", func(c *Config) { c.Tokens.CodeTTL = 11 * time.Minute }, "tokens.code_ttl: must be at most 10m0s (RFC 6749 §4.1.2), got 11m0s"},
		{"a negative refresh grace is refused", func(c *Config) { c.Tokens.RefreshGrace = -time.Second }, "tokens.refresh_grace: must not be negative, got -1s"},
		{"a refresh grace as long as the refresh TTL is refused", func(c *Config) { c.Tokens.RefreshGrace = c.Tokens.RefreshTokenTTL }, "tokens.refresh_grace: must be shorter than tokens.refresh_token_ttl"},
		{"a zero auth request TTL is refused", func(c *Config) { c.Tokens.AuthRequestTTL = 0 }, "tokens.auth_request_ttl: must be a positive duration"},
		// ratelimit
		{"a negative janitor interval is refused", func(c *Config) { c.Storage.Postgres.JanitorEvery = -time.Second }, "storage.postgres.janitor_every: must be 0s (off)"},
		{"postgres needs a DSN", func(c *Config) { c.Storage.Driver = "postgres"; c.Storage.Postgres.KeyEncryptionKey = testKEK }, "storage.postgres.dsn: must be set"},
		{"postgres needs a master key", func(c *Config) { c.Storage.Driver = "postgres"; c.Storage.Postgres.DSN = testDSN }, "storage.postgres.key_encryption_key: must be set"},
		{"a master key that is not base64 is refused without being echoed", func(c *Config) {
			c.Storage.Driver, c.Storage.Postgres.DSN, c.Storage.Postgres.KeyEncryptionKey = "postgres", testDSN, "not*base64!"
		}, "storage.postgres.key_encryption_key: is not base64"},
		{"a master key of the wrong size is refused", func(c *Config) {
			c.Storage.Driver, c.Storage.Postgres.DSN, c.Storage.Postgres.KeyEncryptionKey = "postgres", testDSN, "c2hvcnQ="
		}, "storage.postgres.key_encryption_key: must decode to 32 bytes, got 5"},
		{"an unknown migrate mode lists the valid ones", func(c *Config) { c.Storage.Postgres.Migrate = "always" }, `storage.postgres.migrate: unknown value "always" (valid: auto, off)`},
		{"a pool of no connections is refused", func(c *Config) { c.Storage.Postgres.MaxConns = 0 }, "storage.postgres.max_conns: must be between 2 and 10000, got 0"},
		{"a pool of one connection is refused", func(c *Config) { c.Storage.Postgres.MaxConns = 1 }, "storage.postgres.max_conns: must be between 2 and 10000, got 1"},
		{"the postgres rate limiter needs the postgres driver", func(c *Config) { c.RateLimit.Kind = "postgres" }, `ratelimit.kind: postgres needs storage.driver postgres, got "memory"`},
		{"an unknown rate limiter lists the valid ones", func(c *Config) { c.RateLimit.Kind = "redis" }, `ratelimit.kind: unknown value "redis" (valid: memory, postgres, mongo)`},
		{"a negative token limit is refused", func(c *Config) { c.RateLimit.Token.Limit = -1 }, "ratelimit.token.limit: must not be negative, got -1"},
		{"a zero authorize window is refused", func(c *Config) { c.RateLimit.Authorize.Window = 0 }, "ratelimit.authorize.window: must be a positive duration"},
		{"a negative userinfo limit is refused", func(c *Config) { c.RateLimit.UserInfo.Limit = -5 }, "ratelimit.userinfo.limit: must not be negative"},
		{"a zero introspect window is refused", func(c *Config) { c.RateLimit.Introspect.Window = 0 }, "ratelimit.introspect.window: must be a positive duration"},
		{"a negative register limit is refused", func(c *Config) { c.RateLimit.Register.Limit = -1 }, "ratelimit.register.limit: must not be negative"},
		{"a zero per-account login window is refused", func(c *Config) { c.RateLimit.LoginAccount.Window = 0 }, "ratelimit.login_account.window: must be a positive duration"},
		{"a negative per-IP login limit is refused", func(c *Config) { c.RateLimit.LoginIP.Limit = -1 }, "ratelimit.login_ip.limit: must not be negative"},
		// cookies
		{"an unknown cookie security mode lists the valid ones", func(c *Config) { c.Cookies.Secure = "sometimes" }, `cookies.secure: unknown value "sometimes" (valid: auto, always, never)`},
		{"an empty session cookie name is refused", func(c *Config) { c.Cookies.SessionName = "" }, `cookies.session_name: "" is not a valid cookie name`},
		{"a session cookie name with a semicolon is refused", func(c *Config) { c.Cookies.SessionName = "a;b" }, `cookies.session_name: "a;b" is not a valid cookie name`},
		{"a zero session TTL is refused", func(c *Config) { c.Cookies.SessionTTL = 0 }, "cookies.session_ttl: must be a positive duration"},
		// log
		{"an unknown log level lists the valid ones", func(c *Config) { c.Log.Level = "trace" }, `log.level: unknown value "trace" (valid: debug, info, warn, error)`},
		{"an unknown log format lists the valid ones", func(c *Config) { c.Log.Format = "xml" }, `log.format: unknown value "xml" (valid: text, json)`},
		// dev
		{"a seed email that is not an address is refused", func(c *Config) { c.Dev.SeedEmail = "demo" }, `dev.seed_email: "demo" is not an email address`},
		{"a seed email with a display name is refused", func(c *Config) { c.Dev.SeedEmail = "Demo <demo@example.com>" }, "is not an email address"},
		{"a short seed password is refused without being echoed", func(c *Config) { c.Dev.SeedPassword = "hunter2" }, "dev.seed_password: must be at least 8 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.mutate(&cfg)
			err := cfg.Validate()
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.Len(t, verr.Problems, 1, "exactly one problem: %v", verr.Problems)
			assert.Contains(t, verr.Problems[0], tt.want)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hunter2", "a password is never echoed")
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"an https issuer with a path", func(c *Config) { c.Issuer = "https://example.com/auth" }},
		{"an issuer with a port", func(c *Config) { c.Issuer = "https://example.com:8443" }},
		{"an IPv6 loopback issuer", func(c *Config) { c.Issuer = "http://[::1]:8080" }},
		{"a listen address with a host", func(c *Config) { c.HTTP.Addr = "127.0.0.1:0" }},
		{"an IPv6 listen address", func(c *Config) { c.HTTP.Addr = "[::1]:8080" }},
		{"metrics turned off", func(c *Config) { c.HTTP.MetricsAddr = "" }},
		{"the certification PKCE policy", func(c *Config) { c.OIDC.PKCERequired = "public" }},
		{"trusted proxies as addresses and CIDRs", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.1", "172.16.0.0/12", "::1", "fd00::/8"} }},
		{"ES256 alone", func(c *Config) {
			c.Signer.Algorithms = []string{"ES256"}
			c.Signer.IDTokenAlg, c.Signer.AccessTokenAlg = "ES256", "ES256"
		}},
		{"a 4096-bit RSA key", func(c *Config) { c.Signer.RSABits = 4096 }},
		{"a code TTL of exactly ten minutes", func(c *Config) { c.Tokens.CodeTTL = 10 * time.Minute }},
		{"a refresh grace window", func(c *Config) { c.Tokens.RefreshGrace = 10 * time.Second }},
		{"a rate rule switched off with limit 0", func(c *Config) { c.RateLimit.Token.Limit = 0 }},
		{"every cookie mode", func(c *Config) { c.Cookies.Secure = "never" }},
		{"debug JSON logs", func(c *Config) { c.Log = Log{Level: "debug", Format: "json"} }},
		{"seed credentials", func(c *Config) { c.Dev.SeedEmail, c.Dev.SeedPassword = "demo@example.com", "12345678" }},
		{"postgres with its rate limiter", func(c *Config) {
			c.Storage.Driver, c.Storage.Postgres.DSN, c.Storage.Postgres.KeyEncryptionKey = "postgres", testDSN, testKEK
			c.RateLimit.Kind = "postgres"
		}},
		{"postgres with an unpadded URL-base64 key", func(c *Config) {
			c.Storage.Driver, c.Storage.Postgres.DSN = "postgres", testDSN
			c.Storage.Postgres.KeyEncryptionKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
		}},
		{"postgres with the memory rate limiter", func(c *Config) {
			c.Storage.Driver, c.Storage.Postgres.DSN, c.Storage.Postgres.KeyEncryptionKey = "postgres", testDSN, testKEK
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.mutate(&cfg)
			assert.NoError(t, cfg.Validate())
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.Issuer = "ftp://x"
	cfg.Storage.Driver = "foo"
	cfg.Signer.Kind = "bar"
	cfg.Tokens.CodeTTL = time.Hour
	cfg.Log.Format = "xml"
	err := cfg.Validate()
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Problems, 5)
	for _, key := range []string{"issuer:", "storage.driver:", "signer.kind:", "tokens.code_ttl:", "log.format:"} {
		assert.Contains(t, err.Error(), key)
	}
	assert.True(t, strings.HasPrefix(err.Error(), "invalid configuration:\n  - "), "several problems are listed one a line")
}

func TestValidChoicesMessage(t *testing.T) {
	_, err := Load("", []string{"CALIMATIC_STORAGE_DRIVER=foo"})
	require.EqualError(t, err, `invalid configuration: storage.driver: unknown value "foo" (valid: memory, postgres, mongo)`)
}

func TestSeedEnabled(t *testing.T) {
	tests := []struct {
		name   string
		driver string
		seed   *bool
		want   bool
	}{
		{"unset with the memory driver is on", "memory", nil, true},
		{"unset with another driver is off", "postgres", nil, false},
		{"true with another driver is on", "postgres", ptr(true), true},
		{"false with the memory driver is off", "memory", ptr(false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Storage.Driver, cfg.Dev.Seed = tt.driver, tt.seed
			assert.Equal(t, tt.want, cfg.SeedEnabled())
		})
	}
}

func TestSecureCookies(t *testing.T) {
	tests := []struct {
		name   string
		secure string
		issuer string
		want   bool
	}{
		{"auto on http localhost is not secure", "auto", "http://localhost:8080", false},
		{"auto on http 127.0.0.1 is not secure", "auto", "http://127.0.0.1:8080", false},
		{"auto on http [::1] is not secure", "auto", "http://[::1]:8080", false},
		{"auto on https localhost is secure", "auto", "https://localhost:8443", true},
		{"auto on http elsewhere is secure", "auto", "http://auth.internal", true},
		{"auto on a lookalike of localhost is secure", "auto", "http://localhost.example.com", true},
		{"auto on https is secure", "auto", "https://auth.example.com", true},
		{"always on http localhost is secure", "always", "http://localhost:8080", true},
		{"never on https is not secure", "never", "https://auth.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Cookies.Secure, cfg.Issuer = tt.secure, tt.issuer
			assert.Equal(t, tt.want, cfg.SecureCookies())
		})
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		assert.Equal(t, want, Log{Level: level}.SlogLevel(), level)
	}
}

const configsDir = "../../configs"

// A DSN and a master key (32 bytes, base64) for validation tests.
const (
	testDSN = "postgres://calimatic@db.example.com:5432/calimatic?sslmode=verify-full"
	testKEK = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

func TestEveryShippedConfigLoads(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(configsDir, "*.yaml"))
	require.NoError(t, err)
	more, err := filepath.Glob(filepath.Join(configsDir, "*.yml"))
	require.NoError(t, err)
	files = append(files, more...)
	require.NotEmpty(t, files, "configs/ holds at least memory.yaml")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			// The master key is never shipped in a file: it comes from the
			// environment, as configs/postgres.yaml says.
			_, err := Load(file, []string{"CALIMATIC_STORAGE_POSTGRES_KEY_ENCRYPTION_KEY=" + testKEK, "CALIMATIC_STORAGE_MONGO_KEY_ENCRYPTION_KEY=" + testKEK, "CALIMATIC_SIGNER_VAULT_TOKEN=hvs.test"})
			require.NoError(t, err)
		})
	}
}

func TestMemoryYAMLShowsTheDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join(configsDir, "memory.yaml"), nil)
	require.NoError(t, err)
	assert.Equal(t, Default(), cfg, "the reference file states every default, and only defaults")
}

func TestMemoryYAMLDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(configsDir, "memory.yaml"))
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	present := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			path := joinPath(prefix, n.Content[i].Value)
			present[path] = true
			if n.Content[i+1].Kind == yaml.MappingNode {
				walk(n.Content[i+1], path)
			}
		}
	}
	walk(doc.Content[0], "")
	// Keys whose default is "unset" can only be shown commented out.
	commented := map[string]string{"dev.seed": "# seed: true"}
	for _, k := range keys() {
		if line, ok := commented[k.path]; ok {
			assert.Contains(t, string(data), line, "%s is shown commented out", k.path)
			continue
		}
		assert.True(t, present[k.path], "configs/memory.yaml documents %s", k.path)
	}
}

func TestDirectoryAndMailSettingsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"an unknown mail kind lists the choices", func(c *Config) { c.Mail.Kind = "sendgrid" }, `mail.kind: unknown value "sendgrid" (valid: log, smtp)`},
		{"a sender that is not an address is refused", func(c *Config) { c.Mail.From = "calimatic" }, "mail.from:"},
		{"smtp needs a host", func(c *Config) { c.Mail.Kind = MailSMTP }, "mail.smtp.host: must be set"},
		{"an unknown tls mode lists the choices", func(c *Config) { c.Mail.Kind, c.Mail.SMTP.Host, c.Mail.SMTP.TLS = MailSMTP, "relay", "ssl" }, `mail.smtp.tls: unknown value "ssl" (valid: none, starttls, tls)`},
		{"a port out of range is refused", func(c *Config) { c.Mail.Kind, c.Mail.SMTP.Host, c.Mail.SMTP.Port = MailSMTP, "relay", 70000 }, "mail.smtp.port: must be a TCP port"},
		{"a zero invite lifetime is refused", func(c *Config) { c.Directory.InviteTTL = 0 }, "directory.invite_ttl: must be a positive duration"},
		{"a batch limit of zero is refused", func(c *Config) { c.Directory.MaxBatch = 0 }, "directory.max_batch: must be between 1 and 10000"},
		{"mongo needs a mongodb URI", func(c *Config) { c.Storage.Driver = StorageMongo; c.Storage.Mongo.KeyEncryptionKey = testKEK }, "storage.mongo.uri: must be a mongodb:// or mongodb+srv:// URI"},
		{"mongo needs a master key", func(c *Config) { c.Storage.Driver, c.Storage.Mongo.URI = StorageMongo, "mongodb://db:27017/" }, "storage.mongo.key_encryption_key: must be set"},
		{"the mongo rate limiter needs the mongo driver", func(c *Config) { c.RateLimit.Kind = RateLimitMongo }, "ratelimit.kind: mongo needs storage.driver mongo"},
		{"vault needs an address", func(c *Config) { c.Signer.Kind, c.Signer.Vault.Token = SignerVault, "hvs.x" }, "signer.vault.address: must be Vault's URL"},
		{"vault needs a token or AppRole, without echoing either", func(c *Config) {
			c.Signer.Kind, c.Signer.Vault.Address, c.Signer.Vault.RoleID = SignerVault, "https://vault:8200", "secret-admin-key-role"
		}, "signer.vault.token: a token, or role_id and secret_id"},
		{"a vault batch of zero is refused", func(c *Config) { c.Signer.Vault.BatchMax = 0 }, "signer.vault.batch_max: must be between 1 and 1000"},
		{"a seed admin key without its prefix is refused without being echoed", func(c *Config) { c.Dev.SeedAdminKey = "secret-admin-key-0123456789abcdefghij" }, "dev.seed_admin_key: must be cak_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.edit(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "secret-admin-key")
		})
	}
}
