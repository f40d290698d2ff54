package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// mailbox is a ports.Mailer that keeps what it is given.
type mailbox struct {
	mu   sync.Mutex
	sent []domain.Mail
}

func (m *mailbox) Send(_ context.Context, mail domain.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func (m *mailbox) subjects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, x := range m.sent {
		out = append(out, x.Subject)
	}
	return out
}

// mfaWorld is a provider whose users may have second factors, with a clock
// the test moves.
type mfaWorld struct {
	p       *oidc.Provider
	users   *memory.UserStore
	orgs    *memory.OrganizationStore
	factors *memory.FactorStore
	events  *memory.EventLog
	mail    *mailbox
	clock   *testsuite.FakeClock
	client  oidc.ClientCredentials
}

const (
	mfaRedirect = "https://app.example/cb"
	mfaEmail    = "teacher@example.com"
	mfaPassword = "a good password"
	mfaUserID   = "0b0f5d5e-0000-4000-8000-0000000000aa"
)

func newMFAWorld(t testing.TB) *mfaWorld {
	t.Helper()
	return newMFAWorldLimited(t, mfa.DefaultAttempts)
}

// newMFAWorldLimited is newMFAWorld with the second factor's throttle.
func newMFAWorldLimited(t testing.TB, attempts domain.RateRule) *mfaWorld {
	t.Helper()
	w := &mfaWorld{
		users: memory.NewUserStore(), orgs: memory.NewOrganizationStore(), factors: memory.NewFactorStore(),
		events: memory.NewEventLog(), mail: &mailbox{},
		clock: testsuite.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)),
	}
	limiter, units := memory.NewRateLimiter(), memory.NewUnits()
	w.p = newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) {
		d.Users, d.Orgs, d.Clock, d.Limiter, d.Events, d.Units = w.users, w.orgs, w.clock, limiter, w.events, units
		d.MFA = mfa.New(mfa.Config{Attempts: attempts}, mfa.Deps{
			Factors: w.factors, Users: w.users, Orgs: w.orgs, Roles: memory.NewRoleStore(w.orgs), Groups: w.orgs, Events: w.events, Units: units,
			Mailer: w.mail, Limiter: limiter, Clock: w.clock, Random: system.NewRandom(),
		})
	})
	ctx := context.Background()
	reg, err := w.p.Register(ctx, oidc.ClientMetadata{
		RedirectURIs: []string{mfaRedirect}, GrantTypes: []string{"authorization_code"}, Scope: "openid email",
	})
	require.NoError(t, err)
	w.client = oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret}
	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	require.NoError(t, w.users.CreateUser(ctx, domain.User{
		ID: mfaUserID, Email: mfaEmail, Status: domain.UserActive, GivenName: "Tess",
		PasswordHash: domain.HashPassword(mfaPassword, []byte("0123456789abcdef"), params),
	}))
	return w
}

// member puts the user in a new organization with policy, with role.
func (w *mfaWorld) member(t testing.TB, policy domain.MFAPolicy, role string, status domain.MembershipStatus) {
	t.Helper()
	ctx := context.Background()
	id := system.NewRandom().UUID()
	require.NoError(t, w.orgs.CreateOrganization(ctx, domain.Organization{ID: id, Name: "School " + id[:4], Slug: "s-" + id[:8], MFAPolicy: policy}))
	require.NoError(t, w.orgs.PutMembership(ctx, domain.Membership{OrganizationID: id, UserID: mfaUserID, Role: role, Status: status}))
}

// signIn is one sign-in attempt up to the step after the password.
type signIn struct {
	b        oidc.Browser
	id, csrf string
	verifier string
	out      oidc.Outcome
}

func (w *mfaWorld) password(t testing.TB, edit func(*oidc.AuthorizeParams)) *signIn {
	t.Helper()
	ctx := context.Background()
	s := &signIn{b: oidc.Browser{Binding: "binding-binding-binding-binding-binding", IP: "127.0.0.1"}, verifier: "mfa-verifier-mfa-verifier-mfa-verifier-0123456"}
	sum := sha256.Sum256([]byte(s.verifier))
	in := oidc.AuthorizeParams{
		ClientID: w.client.ClientID, RedirectURI: mfaRedirect, ResponseType: "code", Scope: "openid email",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256", Nonce: "n-1",
	}
	if edit != nil {
		edit(&in)
	}
	out, err := w.p.Authorize(ctx, in, s.b)
	require.NoError(t, err)
	require.Equal(t, oidc.StepLogin, out.Step, "%+v", out)
	pr, _, err := w.p.LoginPrompt(ctx, out.Interaction, s.b)
	require.NoError(t, err)
	s.id, s.csrf = pr.Interaction, pr.CSRFToken
	s.out, err = w.p.Login(ctx, oidc.LoginInput{Interaction: s.id, CSRFToken: s.csrf, Email: mfaEmail, Password: mfaPassword}, s.b)
	require.NoError(t, err)
	return s
}

func (w *mfaWorld) submit(t testing.TB, s *signIn, method, code string) oidc.Outcome {
	t.Helper()
	out, err := w.p.SubmitFactor(context.Background(), oidc.FactorInput{Interaction: s.id, CSRFToken: s.csrf, Method: method, Code: code}, s.b)
	require.NoError(t, err)
	if out.Session != nil {
		s.b.SessionCookie = out.Session.Cookie
	}
	return out
}

// finish consents if asked and redeems the code; it returns the ID
// token's claims.
func (w *mfaWorld) finish(t testing.TB, s *signIn, out oidc.Outcome) map[string]any {
	t.Helper()
	ctx := context.Background()
	if out.Session != nil {
		s.b.SessionCookie = out.Session.Cookie
	}
	if out.Step == oidc.StepConsent {
		var err error
		out, err = w.p.Consent(ctx, oidc.ConsentInput{Interaction: s.id, CSRFToken: s.csrf, Allow: true}, s.b)
		require.NoError(t, err)
	}
	require.NotEmpty(t, out.RedirectTo, "%+v", out)
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	code := u.Query().Get("code")
	require.NotEmpty(t, code, out.RedirectTo)
	tr, err := w.p.Token(ctx, oidc.TokenRequest{GrantType: "authorization_code", Code: code, RedirectURI: mfaRedirect, CodeVerifier: s.verifier, Client: w.client})
	require.NoError(t, err)
	parts := strings.Split(tr.IDToken, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return claims
}

func (w *mfaWorld) code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	require.NoError(t, err)
	return c
}

// enrol signs in under a policy that needs a factor, enrols an
// authenticator and returns its secret and the recovery codes.
func (w *mfaWorld) enrol(t testing.TB) (secret string, codes []string) {
	t.Helper()
	s := w.password(t, nil)
	require.Equal(t, oidc.StepFactor, s.out.Step)
	fp, page, err := w.p.FactorPrompt(context.Background(), s.id, s.b)
	require.NoError(t, err)
	require.Nil(t, page)
	require.NotNil(t, fp.Enrol)
	out := w.submit(t, s, oidc.FactorEnrol, w.code(t, fp.Enrol.Secret, w.clock.Now()))
	require.Equal(t, oidc.StepRecoveryCodes, out.Step, "%+v", out)
	codes = out.RecoveryCodes
	out, err = w.p.Continue(context.Background(), s.id, s.csrf, s.b)
	require.NoError(t, err)
	w.finish(t, s, out)
	return fp.Enrol.Secret, codes
}

func TestNoFactorNoPolicySignsInWithThePasswordAlone(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFAOptional, domain.RoleOwner, domain.MembershipActive)
	s := w.password(t, nil)
	claims := w.finish(t, s, s.out)
	assert.Equal(t, []any{"pwd"}, claims["amr"])
	assert.Equal(t, "1", claims["acr"])
}

func TestRequiredPolicyEnrolsAnAuthenticatorDuringSignIn(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	ctx := context.Background()
	s := w.password(t, nil)
	require.Equal(t, oidc.StepFactor, s.out.Step)
	assert.Nil(t, s.out.Session, "no session before the second factor")

	fp, page, err := w.p.FactorPrompt(ctx, s.id, s.b)
	require.NoError(t, err)
	require.Nil(t, page)
	require.NotNil(t, fp.Enrol)
	assert.True(t, strings.HasPrefix(fp.Enrol.URI, "otpauth://totp/Calimatic:teacher@example.com?"), fp.Enrol.URI)
	again, _, err := w.p.FactorPrompt(ctx, s.id, s.b)
	require.NoError(t, err)
	assert.Equal(t, fp.Enrol.Secret, again.Enrol.Secret, "reloading the page shows the same enrolment")

	out := w.submit(t, s, oidc.FactorEnrol, "000000")
	assert.NotEmpty(t, out.LoginError, "a wrong code does not enrol")
	f, err := w.factors.GetFactors(ctx, mfaUserID)
	require.NoError(t, err)
	assert.Nil(t, f.TOTP)

	out = w.submit(t, s, oidc.FactorEnrol, w.code(t, fp.Enrol.Secret, w.clock.Now()))
	require.Equal(t, oidc.StepRecoveryCodes, out.Step)
	require.Len(t, out.RecoveryCodes, 10)
	require.NotNil(t, out.Session)
	out, err = w.p.Continue(ctx, s.id, s.csrf, s.b)
	require.NoError(t, err)
	claims := w.finish(t, s, out)
	assert.Equal(t, []any{"pwd", "otp", "mfa"}, claims["amr"])
	assert.Equal(t, "mfa", claims["acr"])

	assert.Contains(t, w.mail.subjects(), "An authenticator app was added to your Calimatic account")
	var types []string
	for _, e := range w.events.Events() {
		types = append(types, e.Type)
	}
	assert.Contains(t, types, domain.EventUserFactorAdded)
}

func TestATOTPCodeWorksOnceAndOnlyNearItsTime(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	secret, _ := w.enrol(t)

	w.clock.Advance(time.Minute)
	used := w.code(t, secret, w.clock.Now())
	s := w.password(t, nil)
	require.Equal(t, oidc.StepFactor, s.out.Step)
	claims := w.finish(t, s, w.submit(t, s, oidc.FactorTOTP, used))
	assert.Equal(t, "mfa", claims["acr"])

	s = w.password(t, nil)
	out := w.submit(t, s, oidc.FactorTOTP, used)
	assert.Equal(t, "That code is not right. Try again.", out.LoginError, "a spent code is refused")
	out = w.submit(t, s, oidc.FactorTOTP, w.code(t, secret, w.clock.Now().Add(-30*time.Second)))
	assert.NotEmpty(t, out.LoginError, "an earlier step than the last one used is refused too")
	assert.False(t, out.Throttled)

	w.clock.Advance(16 * time.Minute) // past the throttle's window
	s = w.password(t, nil)
	out = w.submit(t, s, oidc.FactorTOTP, w.code(t, secret, w.clock.Now().Add(-90*time.Second)))
	assert.NotEmpty(t, out.LoginError, "beyond one step of skew")
	claims = w.finish(t, s, w.submit(t, s, oidc.FactorTOTP, w.code(t, secret, w.clock.Now().Add(30*time.Second))))
	assert.Equal(t, []any{"pwd", "otp", "mfa"}, claims["amr"], "one step ahead is allowed")
}

func TestARecoveryCodeWorksOnce(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	_, codes := w.enrol(t)
	require.Len(t, codes, 10)

	s := w.password(t, nil)
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " ")) // typing is forgiving
	claims := w.finish(t, s, w.submit(t, s, oidc.FactorRecovery, typed))
	assert.Equal(t, "mfa", claims["acr"])
	assert.Contains(t, w.mail.subjects(), "A recovery code was used to sign in to your Calimatic account")

	s = w.password(t, nil)
	out := w.submit(t, s, oidc.FactorRecovery, codes[3])
	assert.NotEmpty(t, out.LoginError, "a used recovery code is refused")
	f, err := w.factors.GetFactors(context.Background(), mfaUserID)
	require.NoError(t, err)
	assert.Equal(t, 9, f.UnusedRecoveryCodes())
}

func TestPolicyModes(t *testing.T) {
	for _, tc := range []struct {
		policy domain.MFAPolicy
		role   string
		status domain.MembershipStatus
		factor bool
	}{
		{domain.MFAOff, domain.RoleOwner, domain.MembershipActive, false},
		{domain.MFAOptional, domain.RoleOwner, domain.MembershipActive, false},
		{domain.MFARequiredForAdmins, domain.RoleMember, domain.MembershipActive, false},
		{domain.MFARequiredForAdmins, domain.RoleAdmin, domain.MembershipActive, true},
		{domain.MFARequiredForAdmins, domain.RoleOwner, domain.MembershipActive, true},
		{domain.MFARequired, domain.RoleMember, domain.MembershipActive, true},
		{domain.MFARequired, domain.RoleMember, domain.MembershipSuspended, false},
		{domain.MFARequired, domain.RoleMember, domain.MembershipPending, false},
	} {
		t.Run(string(tc.policy)+"/"+tc.role+"/"+string(tc.status), func(t *testing.T) {
			w := newMFAWorld(t)
			w.member(t, domain.MFAOff, domain.RoleOwner, domain.MembershipActive) // the strictest applies
			w.member(t, tc.policy, tc.role, tc.status)
			s := w.password(t, nil)
			if tc.factor {
				assert.Equal(t, oidc.StepFactor, s.out.Step)
				assert.Nil(t, s.out.Session)
			} else {
				assert.NotEqual(t, oidc.StepFactor, s.out.Step)
				assert.NotNil(t, s.out.Session)
			}
		})
	}
}

func TestAUserWithAFactorIsAskedForItWhateverThePolicy(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	w.enrol(t)
	// The school drops its rule: the user's own factor still guards them.
	_, err := w.orgs.UpdateOrganization(context.Background(), w.firstOrg(t), func(o *domain.Organization) error {
		o.MFAPolicy = domain.MFAOff
		return nil
	})
	require.NoError(t, err)
	s := w.password(t, nil)
	assert.Equal(t, oidc.StepFactor, s.out.Step)
}

func (w *mfaWorld) firstOrg(t testing.TB) string {
	ms, err := w.orgs.ListUserMemberships(context.Background(), mfaUserID)
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	return ms[0].OrganizationID
}

func TestACRValuesMFAAsksForASecondFactorAndEnrolsWithoutOne(t *testing.T) {
	w := newMFAWorld(t)
	s := w.password(t, func(in *oidc.AuthorizeParams) { in.ACRValues = "mfa" })
	require.Equal(t, oidc.StepFactor, s.out.Step)
	fp, _, err := w.p.FactorPrompt(context.Background(), s.id, s.b)
	require.NoError(t, err)
	assert.NotNil(t, fp.Enrol, "no factor yet: enrol now")

	// acr_values that a password meets ask for nothing more.
	w2 := newMFAWorld(t)
	s = w2.password(t, func(in *oidc.AuthorizeParams) { in.ACRValues = "1 mfa" })
	assert.NotEqual(t, oidc.StepFactor, s.out.Step)
	s = w2.password(t, func(in *oidc.AuthorizeParams) { in.ACRValues = "urn:unknown:loa" })
	assert.NotEqual(t, oidc.StepFactor, s.out.Step, "unknown voluntary values are ignored")
}

func TestASessionOfOneFactorIsNotEnoughForMFA(t *testing.T) {
	w := newMFAWorld(t)
	s := w.password(t, nil)
	w.finish(t, s, s.out) // signed in with the password alone
	out, err := w.p.Authorize(context.Background(), oidc.AuthorizeParams{
		ClientID: w.client.ClientID, RedirectURI: mfaRedirect, ResponseType: "code", Scope: "openid",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", ACRValues: "mfa",
	}, s.b)
	require.NoError(t, err)
	assert.Equal(t, oidc.StepLogin, out.Step)

	out, err = w.p.Authorize(context.Background(), oidc.AuthorizeParams{
		ClientID: w.client.ClientID, RedirectURI: mfaRedirect, ResponseType: "code", Scope: "openid",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256", ACRValues: "mfa", Prompt: "none",
	}, s.b)
	require.NoError(t, err)
	assert.Contains(t, out.RedirectTo, "error=login_required")
}

func TestAnEssentialACRNoSignInMeetsIsRefused(t *testing.T) {
	w := newMFAWorld(t)
	out, err := w.p.Authorize(context.Background(), oidc.AuthorizeParams{
		ClientID: w.client.ClientID, RedirectURI: mfaRedirect, ResponseType: "code", Scope: "openid",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		Claims: `{"id_token":{"acr":{"essential":true,"values":["urn:gold"]}}}`,
	}, oidc.Browser{Binding: "binding-binding-binding-binding-binding"})
	require.NoError(t, err)
	assert.Contains(t, out.RedirectTo, "error=access_denied")

	s := w.password(t, func(in *oidc.AuthorizeParams) {
		in.Claims = `{"id_token":{"acr":{"essential":true,"values":["mfa"]}}}`
	})
	assert.Equal(t, oidc.StepFactor, s.out.Step, "an essential mfa asks for the second factor")
}

func TestFactorCodesAreThrottledPerAccount(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	secret, _ := w.enrol(t) // one attempt spent
	w.clock.Advance(time.Minute)
	var last oidc.Outcome
	for i := 0; i < 5; i++ {
		s := w.password(t, nil)
		last = w.submit(t, s, oidc.FactorTOTP, "000001")
	}
	assert.True(t, last.Throttled, "the sixth code in fifteen minutes is throttled: %+v", last)
	s := w.password(t, nil)
	out := w.submit(t, s, oidc.FactorTOTP, w.code(t, secret, w.clock.Now()))
	assert.True(t, out.Throttled, "even the right code waits")
	w.clock.Advance(16 * time.Minute)
	s = w.password(t, nil)
	w.finish(t, s, w.submit(t, s, oidc.FactorTOTP, w.code(t, secret, w.clock.Now())))
}

func TestFactorFormsRefuseBadInput(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	ctx := context.Background()
	s := w.password(t, nil)

	out, err := w.p.SubmitFactor(ctx, oidc.FactorInput{Interaction: s.id, CSRFToken: "forged", Method: oidc.FactorEnrol, Code: "123456"}, s.b)
	require.NoError(t, err)
	require.NotNil(t, out.Page, "a wrong CSRF token is refused")
	other := s.b
	other.Binding = "another-browser-another-browser-another"
	out, err = w.p.SubmitFactor(ctx, oidc.FactorInput{Interaction: s.id, CSRFToken: s.csrf, Method: oidc.FactorEnrol, Code: "123456"}, other)
	require.NoError(t, err)
	require.NotNil(t, out.Page, "another browser cannot finish it")
	for _, bad := range []oidc.FactorInput{
		{Method: "sms", Code: "123456"}, {Method: oidc.FactorEnrol, Code: ""},
		{Method: oidc.FactorEnrol, Code: strings.Repeat("9", 5000)}, {Method: oidc.FactorRecovery, Code: "\x00\xff"},
	} {
		bad.Interaction, bad.CSRFToken = s.id, s.csrf
		out, err := w.p.SubmitFactor(ctx, bad, s.b)
		require.NoError(t, err)
		assert.NotEmpty(t, out.LoginError, "%+v", bad)
		assert.Nil(t, out.Session)
	}

	// An enrolment waits fifteen minutes for its first code, then a new
	// one is shown.
	fp, _, err := w.p.FactorPrompt(ctx, s.id, s.b)
	require.NoError(t, err)
	w.clock.Advance(16 * time.Minute)
	out = w.submit(t, s, oidc.FactorEnrol, w.code(t, fp.Enrol.Secret, w.clock.Now()))
	assert.True(t, out.Page != nil || out.LoginError != "", "an expired enrolment or request does not enrol: %+v", out)
	f, err := w.factors.GetFactors(ctx, mfaUserID)
	require.NoError(t, err)
	assert.Nil(t, f.TOTP)

	// A request without a pending factor has no factor page.
	w2 := newMFAWorld(t)
	s = w2.password(t, nil)
	_, page, err := w2.p.FactorPrompt(ctx, s.id, s.b)
	require.NoError(t, err)
	assert.NotNil(t, page)
}

func TestAnEnrolmentShownToOneSignInCannotBeConfirmedByAnother(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
	ctx := context.Background()

	// Someone who knows the password loads the set-up first...
	attacker := w.password(t, nil)
	seen, _, err := w.p.FactorPrompt(ctx, attacker.id, attacker.b)
	require.NoError(t, err)
	// ...then the holder signs in and is shown a secret of their own.
	holder := w.password(t, nil)
	mine, _, err := w.p.FactorPrompt(ctx, holder.id, holder.b)
	require.NoError(t, err)
	assert.NotEqual(t, seen.Enrol.Secret, mine.Enrol.Secret, "a set-up is never shown to another sign-in")

	out := w.submit(t, holder, oidc.FactorEnrol, w.code(t, seen.Enrol.Secret, w.clock.Now()))
	assert.NotEmpty(t, out.LoginError, "the secret the other sign-in saw does not enrol")
	out = w.submit(t, attacker, oidc.FactorEnrol, w.code(t, seen.Enrol.Secret, w.clock.Now()))
	assert.NotEmpty(t, out.LoginError, "nor does the other sign-in enrol its old secret")
	out = w.submit(t, holder, oidc.FactorEnrol, w.code(t, mine.Enrol.Secret, w.clock.Now()))
	require.Equal(t, oidc.StepRecoveryCodes, out.Step, "%+v", out)

	f, err := w.factors.GetFactors(ctx, mfaUserID)
	require.NoError(t, err)
	require.NotNil(t, f.TOTP)
	assert.Equal(t, mine.Enrol.Secret, b32Secret(f.TOTP.Secret))
}

func b32Secret(b []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

func TestAPolicyRaisedAfterASignInAppliesAtTheSessionsNextUse(t *testing.T) {
	w := newMFAWorld(t)
	w.member(t, domain.MFAOff, domain.RoleMember, domain.MembershipActive)
	s := w.password(t, nil)
	w.finish(t, s, s.out) // a session of the password alone
	_, err := w.orgs.UpdateOrganization(context.Background(), w.firstOrg(t), func(o *domain.Organization) error {
		o.MFAPolicy = domain.MFARequired
		return nil
	})
	require.NoError(t, err)

	in := oidc.AuthorizeParams{
		ClientID: w.client.ClientID, RedirectURI: mfaRedirect, ResponseType: "code", Scope: "openid",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
	}
	out, err := w.p.Authorize(context.Background(), in, s.b)
	require.NoError(t, err)
	assert.Equal(t, oidc.StepLogin, out.Step, "the old session no longer signs in")
	in.Prompt = "none"
	out, err = w.p.Authorize(context.Background(), in, s.b)
	require.NoError(t, err)
	assert.Contains(t, out.RedirectTo, "error=login_required")
	sess, _, err := w.p.AccountSession(context.Background(), s.b)
	require.NoError(t, err)
	assert.Nil(t, sess, "nor opens the account page")
}

// BenchmarkSignIn is the server's work for one browser sign-in, from the
// authorization request to the redirect with a code, with the password
// alone and with an authenticator code after it. The password hash is the
// tests' cheap one, so the difference between the two is what the second
// step adds; the load generator's sign-in scenarios weigh it against a
// real argon2id (docs/PERFORMANCE.md).
func BenchmarkSignIn(b *testing.B) {
	for _, withTOTP := range []bool{false, true} {
		name := "password"
		if withTOTP {
			name = "password+totp"
		}
		b.Run(name, func(b *testing.B) {
			w := newMFAWorldLimited(b, domain.RateRule{})
			var secret string
			if withTOTP {
				w.member(b, domain.MFARequired, domain.RoleMember, domain.MembershipActive)
				secret, _ = w.enrol(b)
			} else {
				s := w.password(b, nil)
				w.finish(b, s, s.out) // consent, once
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				w.clock.Advance(30 * time.Second) // a fresh code each time
				s := w.password(b, nil)
				out := s.out
				if withTOTP {
					if _, _, err := w.p.FactorPrompt(ctx, s.id, s.b); err != nil {
						b.Fatal(err)
					}
					out = w.submit(b, s, oidc.FactorTOTP, w.code(b, secret, w.clock.Now()))
				}
				if out.RedirectTo == "" {
					b.Fatalf("no code: %+v", out)
				}
			}
		})
	}
}
