// Package fakeidp is an upstream OpenID provider for tests: a real HTTP
// server (httptest) with its own RSA keys, a discovery document, a JWK
// Set, an authorization endpoint that signs in whoever the test says and a
// token endpoint as strict as a real one (client authentication, single
// use codes, redirect_uri, PKCE S256). Tests of federation drive it over
// real HTTP, a browser included, and make it misbehave on demand: rotate
// its key, tamper with its ID tokens, sign with a key it does not publish,
// go down.
//
// It sits outside the hexagon, with the other test support in testsuite:
// nothing that ships imports it.
package fakeidp

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calimatic/calimatic-auth/ports"
)

// User is who signs in at the IdP, as its ID tokens describe them.
type User struct {
	Sub           string
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	// Extra are more claims for the ID token (amr, tid, hd...); they
	// override the standard ones of the same name.
	Extra map[string]any
}

// DefaultUser is who signs in until SetUser says otherwise.
func DefaultUser() User {
	return User{
		Sub: "fakeidp-ada", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace",
	}
}

// Client is a relying party registered at the IdP.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs are the only redirect_uri values accepted, compared
	// exactly (OAuth 2.0 Security BCP §4.1).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the end-session endpoint may send
	// the browser back to.
	PostLogoutRedirectURIs []string
}

// Mode is what the authorization endpoint does with a valid request.
type Mode int

const (
	// Auto signs the current user in at once: a 302 back with a code.
	Auto Mode = iota
	// Form shows a page with a "Continue as <email>" button (a plain form
	// POST, no script) and a "Cancel" one, for browser tests.
	Form
	// Deny answers access_denied, as if the user had cancelled.
	Deny
)

// Counts are how many requests each endpoint has been sent.
type Counts struct {
	Discovery  int
	Authorize  int
	Token      int
	JWKS       int
	EndSession int
}

// Option configures an IdP.
type Option func(*IdP)

// WithClient registers a relying party.
func WithClient(c Client) Option {
	return func(p *IdP) { p.clients[c.ID] = c }
}

// WithTLS serves https, with a certificate HTTPClient trusts.
func WithTLS() Option { return func(p *IdP) { p.tls = true } }

// WithClock makes the IdP read the time (iat, exp, code expiry) from c, so
// that its tokens agree with a server under test on a fake clock.
func WithClock(c ports.Clock) Option { return func(p *IdP) { p.clock = c } }

// WithAuthMethods sets the client authentication methods the token
// endpoint accepts and advertises; the default is client_secret_basic and
// client_secret_post.
func WithAuthMethods(methods ...string) Option {
	return func(p *IdP) { p.authMethods = methods }
}

// KeepRetiredKeys makes the JWK Set go on publishing the keys RotateKey
// retired, as a provider does during a rotation's overlap; by default it
// publishes only the current key.
func KeepRetiredKeys() Option { return func(p *IdP) { p.keepRetired = true } }

// IdP is a running fake provider. Its methods are safe for concurrent use
// with the requests it serves.
type IdP struct {
	srv         *httptest.Server
	tls         bool
	clock       ports.Clock
	authMethods []string
	keepRetired bool

	mu      sync.Mutex
	clients map[string]Client
	user    User
	mode    Mode
	key     signingKey   // signs the ID tokens
	retired []signingKey // published too when keepRetired
	unknown *signingKey  // when set, signs instead of key and is never published
	tamper  func(claims map[string]any)
	down    bool
	codes   map[string]issuedCode
	counts  Counts
}

// New starts an IdP, stopped when the test ends. It signs in DefaultUser
// in Auto mode until told otherwise; register the relying party with
// WithClient.
func New(t testing.TB, opts ...Option) *IdP {
	t.Helper()
	p := &IdP{
		clock:       systemClock{},
		authMethods: []string{"client_secret_basic", "client_secret_post"},
		clients:     make(map[string]Client),
		user:        DefaultUser(),
		codes:       make(map[string]issuedCode),
	}
	for _, o := range opts {
		o(p)
	}
	key, err := p.newKey()
	if err != nil {
		t.Fatalf("fakeidp: generate a key: %v", err)
	}
	p.key = key

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /jwks", p.serveJWKS)
	mux.HandleFunc("GET /authorize", p.serveAuthorize)
	mux.HandleFunc("POST /authorize", p.serveAuthorize)
	mux.HandleFunc("POST /token", p.serveToken)
	mux.HandleFunc("GET /logout", p.serveEndSession)
	handler := p.availability(mux)
	if p.tls {
		p.srv = httptest.NewTLSServer(handler)
	} else {
		p.srv = httptest.NewServer(handler)
	}
	t.Cleanup(p.srv.Close)
	return p
}

// Issuer is the IdP's issuer identifier, its base URL without a trailing
// slash.
func (p *IdP) Issuer() string { return p.srv.URL }

// HTTPClient is a client that trusts the IdP's certificate under
// WithTLS. It follows redirects, as http.Client does by default.
func (p *IdP) HTTPClient() *http.Client { return p.srv.Client() }

// Authorize does what a browser does with authorizeURL, a request to the
// IdP's authorization endpoint in Auto or Deny mode: it follows it and
// returns where the IdP redirects back to, the code or error in its
// query. The test fails if the IdP does not redirect.
func (p *IdP) Authorize(t testing.TB, authorizeURL string) *url.URL {
	t.Helper()
	c := *p.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authorizeURL)
	if err != nil {
		t.Fatalf("fakeidp: authorize: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("fakeidp: authorize answered %d, not a redirect: %s", resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("fakeidp: authorize redirected to no URL: %v", err)
	}
	return back
}

// SetUser makes u the one who signs in from now on.
func (p *IdP) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u.Extra = maps.Clone(u.Extra)
	p.user = u
}

// SetMode sets what the authorization endpoint does.
func (p *IdP) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
}

// RotateKey makes a new key, under a new kid, the one that signs; the old
// one is retired (and unpublished unless KeepRetiredKeys). It returns the
// new kid.
func (p *IdP) RotateKey() string {
	key, err := p.newKey()
	if err != nil {
		panic("fakeidp: generate a key: " + err.Error())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = append(p.retired, p.key)
	p.key = key
	return key.kid
}

// Tamper makes f edit the claims of every ID token issued from now on,
// after the IdP has set them: a wrong aud, nonce, iss, exp or azp. nil
// stops it.
func (p *IdP) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// SignWithUnknownKey makes every ID token from now on signed with a key
// the IdP never publishes, under a kid of its own.
func (p *IdP) SignWithUnknownKey() {
	key, err := p.newKey()
	if err != nil {
		panic("fakeidp: generate a key: " + err.Error())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unknown = &key
}

// SignWithPublishedKey undoes SignWithUnknownKey: ID tokens are signed
// with the current published key again.
func (p *IdP) SignWithPublishedKey() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unknown = nil
}

// Down makes every endpoint answer 503 until Up.
func (p *IdP) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
}

// Up ends Down.
func (p *IdP) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// Requests returns how many requests each endpoint has been sent,
// those answered 503 while Down included.
func (p *IdP) Requests() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// availability answers 503 while the IdP is down, and counts requests.
func (p *IdP) availability(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			p.counts.Discovery++
		case "/jwks":
			p.counts.JWKS++
		case "/authorize":
			p.counts.Authorize++
		case "/token":
			p.counts.Token++
		case "/logout":
			p.counts.EndSession++
		}
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "fakeidp is down", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newKey makes a signing key under a kid of its own.
func (p *IdP) newKey() (signingKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{kid: "fakeidp-" + randomToken(9), private: k}, nil
}

// published returns the keys the JWK Set holds, the current first. The
// caller holds p.mu.
func (p *IdP) published() []signingKey {
	keys := []signingKey{p.key}
	if p.keepRetired {
		for _, k := range slices.Backward(p.retired) {
			keys = append(keys, k)
		}
	}
	return keys
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
