package oidc_test

// Benchmarks of the provider's hot paths on the in-memory adapters, and the
// signing and verifying ceilings they are measured against (DESIGN.md,
// "Performance targets"). Every benchmark runs in parallel on GOMAXPROCS
// goroutines, so ns/op is wall time per operation across all cores:
//
//	go test -run '^$' -bench . -benchmem ./core/oidc/
//	go test -run '^$' -bench 'Sign|Verify' -benchtime 3s ./core/oidc/
//
// The ratio that matters is, for example, BenchmarkClientCredentials/RS256
// against BenchmarkRSASign2048 from the same run.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

const (
	benchRedirect = "http://127.0.0.1:9/callback"
	benchScope    = "openid profile email phone"
	benchEmail    = "bench@example.com"
	benchPassword = "bench-password-1"
)

// cheapPassword keeps the one sign-in of the set-up fast; no benchmark here
// measures argon2id.
var cheapPassword = domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// fixture is a provider with a registered confidential client and a user who
// has signed in and consented once, so Authorize hands out codes directly.
type fixture struct {
	p        *oidc.Provider
	cc       oidc.ClientCredentials
	browser  oidc.Browser
	verifier string
	params   oidc.AuthorizeParams
}

func newFixture(b *testing.B, accessAlg string) *fixture {
	b.Helper()
	ctx := context.Background()
	clock, random := system.NewClock(), system.NewRandom()
	users := memory.NewUserStore()
	p := newTestProvider(b, func(cfg *oidc.Config, d *oidc.Deps) {
		cfg.CodeTTL, cfg.AuthRequestTTL, cfg.AccessTokenAlg, cfg.Password = 10*time.Minute, 10*time.Minute, accessAlg, cheapPassword
		d.Users = users
	})
	reg, err := p.Register(ctx, oidc.ClientMetadata{
		ClientName: "bench", RedirectURIs: []string{benchRedirect}, Scope: benchScope,
		GrantTypes:    []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken, domain.GrantClientCredentials},
		ResponseTypes: []string{domain.ResponseTypeCode}, TokenEndpointAuthMethod: domain.AuthMethodSecretPost,
	})
	if err != nil {
		b.Fatal(err)
	}
	now := clock.Now()
	err = users.CreateUser(ctx, domain.User{
		ID: random.UUID(), Email: benchEmail, EmailVerified: true, GivenName: "Bench", FamilyName: "User",
		PhoneNumber: "+15555550100", PhoneNumberVerified: true, Status: domain.UserActive,
		PasswordHash: domain.HashPassword(benchPassword, random.Bytes(cheapPassword.SaltLen), cheapPassword),
		CreatedAt:    now, UpdatedAt: now,
	})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{
		p:        p,
		cc:       oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret},
		browser:  oidc.Browser{Binding: random.Token(32), IP: "127.0.0.1"},
		verifier: random.Token(48),
	}
	sum := sha256.Sum256([]byte(f.verifier))
	f.params = oidc.AuthorizeParams{
		ClientID: reg.ClientID, RedirectURI: benchRedirect, ResponseType: domain.ResponseTypeCode, Scope: benchScope,
		State: "s", Nonce: "n", CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		CodeChallengeMethod: domain.PKCEMethodS256,
	}
	f.signIn(b)
	return f
}

// signIn drives authorize, login and consent once, as the browser would.
func (f *fixture) signIn(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	out, err := f.p.Authorize(ctx, f.params, f.browser)
	if err != nil || out.Step != oidc.StepLogin {
		b.Fatalf("authorize: want the login step, got %+v, %v", out, err)
	}
	pr, page, err := f.p.LoginPrompt(ctx, out.Interaction, f.browser)
	if err != nil || page != nil {
		b.Fatalf("login prompt: %v %v", page, err)
	}
	out, err = f.p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: benchEmail, Password: benchPassword}, f.browser)
	if err != nil || out.Session == nil || out.Step != oidc.StepConsent {
		b.Fatalf("login: want a session and the consent step, got %+v, %v", out, err)
	}
	f.browser.SessionCookie = out.Session.Cookie
	out, err = f.p.Consent(ctx, oidc.ConsentInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Allow: true}, f.browser)
	if err != nil || !strings.Contains(out.RedirectTo, "code=") {
		b.Fatalf("consent: want a redirect with a code, got %+v, %v", out, err)
	}
}

// code asks for a code with the signed-in session (consent is remembered).
func (f *fixture) code(b *testing.B) string {
	out, err := f.p.Authorize(context.Background(), f.params, f.browser)
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(out.RedirectTo)
	if err != nil || u.Query().Get("code") == "" {
		b.Fatalf("authorize: want a redirect with a code, got %+v", out)
	}
	return u.Query().Get("code")
}

func (f *fixture) exchange(b *testing.B, code string) oidc.TokenResponse {
	resp, err := f.p.Token(context.Background(), oidc.TokenRequest{
		GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: benchRedirect,
		CodeVerifier: f.verifier, Client: f.cc,
	})
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

func BenchmarkClientCredentials(b *testing.B) {
	for _, alg := range []string{domain.AlgRS256, domain.AlgES256} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, alg)
			req := oidc.TokenRequest{GrantType: domain.GrantClientCredentials, Client: f.cc}
			parallel(b, func(ctx context.Context) error {
				_, err := f.p.Token(ctx, req)
				return err
			})
		})
	}
}

// BenchmarkCodeExchange redeems codes made before the timer starts: it signs
// an access token and an ID token, and starts a refresh family.
func BenchmarkCodeExchange(b *testing.B) {
	f := newFixture(b, domain.AlgRS256)
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = f.code(b)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			code := codes[next.Add(1)-1]
			resp, err := f.p.Token(ctx, oidc.TokenRequest{
				GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: benchRedirect,
				CodeVerifier: f.verifier, Client: f.cc,
			})
			if err != nil || resp.IDToken == "" {
				b.Error("exchange failed:", err)
				return
			}
		}
	})
}

// BenchmarkAuthorizeCode is the unmeasured half of the code flow: authorize
// with a live session and remembered consent, straight to a code.
func BenchmarkAuthorizeCode(b *testing.B) {
	f := newFixture(b, domain.AlgRS256)
	parallel(b, func(ctx context.Context) error {
		out, err := f.p.Authorize(ctx, f.params, f.browser)
		if err == nil && out.RedirectTo == "" {
			err = errors.New("no redirect")
		}
		return err
	})
}

// BenchmarkRefresh rotates refresh tokens, one chain per goroutine (a chain
// is sequential by nature: each response carries the next token).
func BenchmarkRefresh(b *testing.B) {
	f := newFixture(b, domain.AlgRS256)
	var mu sync.Mutex
	spare := make([]string, 0, 4*runtime.GOMAXPROCS(0))
	for range cap(spare) {
		spare = append(spare, f.exchange(b, f.code(b)).RefreshToken)
	}
	take := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(spare) == 0 {
			return f.exchange(b, f.code(b)).RefreshToken
		}
		t := spare[len(spare)-1]
		spare = spare[:len(spare)-1]
		return t
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		tok := take()
		for pb.Next() {
			resp, err := f.p.Token(ctx, oidc.TokenRequest{GrantType: domain.GrantRefreshToken, RefreshToken: tok, Client: f.cc})
			if err != nil {
				b.Error(err)
				return
			}
			tok = resp.RefreshToken
		}
	})
}

func BenchmarkUserInfo(b *testing.B) {
	for _, alg := range []string{domain.AlgRS256, domain.AlgES256} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, alg)
			tok := f.exchange(b, f.code(b)).AccessToken
			parallel(b, func(ctx context.Context) error {
				_, err := f.p.UserInfo(ctx, oidc.ResourceRequest{Scheme: oidc.SchemeBearer, Token: tok, Method: "GET"})
				return err
			})
		})
	}
}

func BenchmarkIntrospect(b *testing.B) {
	f := newFixture(b, domain.AlgRS256)
	tok := f.exchange(b, f.code(b)).AccessToken
	parallel(b, func(ctx context.Context) error {
		in, err := f.p.Introspect(ctx, f.cc, tok, "")
		if err == nil && !in.Active {
			err = errors.New("inactive")
		}
		return err
	})
}

func BenchmarkJWKS(b *testing.B) {
	f := newFixture(b, domain.AlgRS256)
	parallel(b, func(ctx context.Context) error {
		body, _, err := f.p.JWKS(ctx)
		if err == nil && len(body) == 0 {
			err = errors.New("empty body")
		}
		return err
	})
}

// signingInput is about the size of an access token's JWS signing input.
var signingInput = []byte(strings.Repeat("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.", 17)[:600])

// BenchmarkRSASign2048 is the ceiling for RS256 issuance: RSASSA-PKCS1-v1_5
// with SHA-256, as localkeys signs (precomputed CRT values, no blinding
// source beyond what crypto/rsa does itself).
func BenchmarkRSASign2048(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	key.Precompute()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			digest := sha256.Sum256(signingInput)
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRSAVerify2048 is the ceiling for checking an RS256 access token.
func BenchmarkRSAVerify2048(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(signingInput)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := sha256.Sum256(signingInput)
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkES256Sign is the ceiling for ES256 issuance (P-256, as localkeys
// signs).
func BenchmarkES256Sign(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			digest := sha256.Sum256(signingInput)
			if _, _, err := ecdsa.Sign(rand.Reader, key, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkES256Verify is the ceiling for checking an ES256 access token.
func BenchmarkES256Verify(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(signingInput)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := sha256.Sum256(signingInput)
			if !ecdsa.Verify(&key.PublicKey, d[:], r, s) {
				b.Error("verify failed")
				return
			}
		}
	})
}

// parallel measures op on every core, from a reset timer, and fails the
// benchmark on op's first error.
func parallel(b *testing.B, op func(context.Context) error) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := op(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
