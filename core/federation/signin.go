package federation

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Failure is why a federated sign-in did not happen, in words for the
// person signing in. The pages show Message with a way back.
type Failure struct {
	Reason  string // one of the Reason constants, for logs and tests
	Message string
}

func (f *Failure) Error() string { return "federated sign-in failed: " + f.Reason }

// Reasons for a Failure.
const (
	ReasonUnavailable  = "upstream_unavailable" // discovery, keys or the token endpoint could not be had
	ReasonDenied       = "upstream_denied"      // the upstream answered with an error (the user cancelled, say)
	ReasonInvalidToken = "invalid_id_token"     // the ID token failed a check
	ReasonExchange     = "code_exchange_failed" // the upstream refused the code
	ReasonNoProvider   = "provider_gone"        // the provider was deleted meanwhile
	ReasonNotAllowed   = "not_allowed"          // the linking rules refuse
	ReasonInactive     = "account_inactive"     // the account is suspended or the like
	ReasonNotFresh     = "sign_in_not_fresh"    // asked to sign in again, the upstream did not say it did
)

func failure(reason, msg string) *Failure { return &Failure{Reason: reason, Message: msg} }

var (
	failUnavailable = failure(ReasonUnavailable, "Your organization's sign-in service could not be reached. Try again in a few minutes, or sign in with your Calimatic password.")
	failToken       = failure(ReasonInvalidToken, "Your organization's sign-in service sent an answer that could not be trusted, so you were not signed in. Try again; if it happens again, tell your administrator.")
	failExchange    = failure(ReasonExchange, "Your organization's sign-in service did not confirm the sign-in. Try again.")
	failGone        = failure(ReasonNoProvider, "Your organization no longer signs in through this service. Sign in with your Calimatic password, or ask your administrator.")
	failInactive    = failure(ReasonInactive, "This account is not active. Contact your organization's administrator.")
	failStale       = failure(ReasonNotFresh, "This app asked you to sign in again, and your organization's sign-in service did not. Try again.")
)

// ForEmail returns the provider that signs in email's users: the one of
// the organization that verified its domain that serves the domain. ok is
// false when there is none.
func (s *Service) ForEmail(ctx context.Context, email string) (p domain.IdentityProvider, ok bool, err error) {
	d := domain.EmailDomain(domain.NormalizeEmail(email))
	if !domain.ValidDomain(d) {
		return p, false, nil
	}
	v, err := s.deps.Domains.GetDomain(ctx, d)
	if errors.Is(err, domain.ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fault.Store("get domain", err)
	}
	ps, err := s.deps.Providers.ListIdentityProviders(ctx, v.OrganizationID)
	if err != nil {
		return p, false, fault.Store("list identity providers", err)
	}
	for _, p := range ps {
		if p.ServesDomain(d) {
			return p, true, nil
		}
	}
	return p, false, nil
}

// InUse reports whether any organization signs its users in upstream:
// the sign-in page then asks for the email first, to find where to send
// them (Okta's identifier-first does the same once a routing rule
// exists). A deployment without providers keeps its one-page form.
func (s *Service) InUse(ctx context.Context) (bool, error) {
	ok, err := s.deps.Providers.HasIdentityProviders(ctx)
	if err != nil {
		return false, fault.Store("has identity providers", err)
	}
	return ok, nil
}

// maxButtonOrgs bounds the organizations whose providers the sign-in page
// shows as buttons: a school's own app serves one or a few; an app that
// serves many schools leaves the choice to the email.
const maxButtonOrgs = 3

// ForClient returns the providers the sign-in page offers as buttons for a
// client: those of the organizations it is granted, when there are at
// most maxButtonOrgs of them. The client's organization context is known
// then; otherwise home-realm discovery by email finds the provider.
func (s *Service) ForClient(ctx context.Context, clientID string) ([]domain.IdentityProvider, error) {
	if clientID == "" {
		return nil, nil
	}
	gs, err := s.deps.Grants.ListClientGrants(ctx, clientID)
	if err != nil {
		return nil, fault.Store("list client grants", err)
	}
	if len(gs) > maxButtonOrgs {
		return nil, nil
	}
	var out []domain.IdentityProvider
	for _, g := range gs {
		ps, err := s.deps.Providers.ListIdentityProviders(ctx, g.OrganizationID)
		if err != nil {
			return nil, fault.Store("list identity providers", err)
		}
		out = append(out, ps...)
	}
	return out, nil
}

// Provider returns a provider by id, for a sign-in: ok false when there is
// none.
func (s *Service) Provider(ctx context.Context, id string) (domain.IdentityProvider, bool, error) {
	if id == "" || len(id) > 64 {
		return domain.IdentityProvider{}, false, nil
	}
	p, err := s.deps.Providers.GetIdentityProvider(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fault.Store("get identity provider", err)
	}
	return p, true, nil
}

// Begin starts a sign-in at provider p for the pending request requestID.
// It returns where to send the browser, and the attempt for the pending
// request to keep until the upstream sends the browser back. The request
// is the authorization code flow with PKCE S256, a state and a nonce
// (OIDC Core §3.1.2.1); loginHint, an email, spares the user typing it
// twice.
//
// maxAge is how recent the user's sign-in at the upstream must be, in
// seconds (0: now, for prompt=login), or -1 when any will do: the
// upstream is asked for it with max_age, and Finish holds its auth_time
// to it, so that an app asking us for a fresh sign-in never gets one the
// upstream made silently from its own session.
func (s *Service) Begin(ctx context.Context, p *domain.IdentityProvider, requestID, loginHint string, maxAge int) (string, domain.UpstreamAttempt, error) {
	md, err := s.deps.Upstream.Discover(ctx, p.Issuer)
	if err != nil {
		return "", domain.UpstreamAttempt{}, failUnavailable
	}
	a := domain.UpstreamAttempt{
		ProviderID: p.ID, State: s.deps.Random.Token(32), Nonce: s.deps.Random.Token(32),
		CodeVerifier: s.deps.Random.Token(32), StartedAt: s.now(), Fresh: maxAge >= 0, MaxAge: max(maxAge, 0),
	}
	sum := sha256.Sum256([]byte(a.CodeVerifier))
	scope := defaultScopes
	if p.Scopes != nil {
		scope = strings.Join(p.Scopes, " ")
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {p.ClientID},
		"redirect_uri":          {s.RedirectURI()},
		"scope":                 {strings.TrimSpace("openid " + scope)},
		"state":                 {State(requestID, a.State)},
		"nonce":                 {a.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if a.Fresh {
		q.Set("max_age", strconv.Itoa(a.MaxAge))
		if a.MaxAge == 0 && p.Issuer != googleIssuer {
			q.Set("prompt", "login") // Google knows no prompt=login; max_age=0 does it there
		}
	}
	if hint := domain.NormalizeEmail(loginHint); domain.ValidEmail(hint) {
		q.Set("login_hint", hint)
	}
	sep := "?"
	if strings.Contains(md.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return md.AuthorizationEndpoint + sep + q.Encode(), a, nil
}

// State is the state parameter of an attempt: the pending request's id, a
// dot and the attempt's random part. The id finds the request when the
// browser comes back; the random part, compared in constant time, proves
// the answer is to this attempt.
func State(requestID, random string) string { return requestID + "." + random }

// SplitState is State's inverse; ok is false for anything else.
func SplitState(state string) (requestID, random string, ok bool) {
	requestID, random, ok = strings.Cut(state, ".")
	return requestID, random, ok && requestID != "" && random != "" && len(state) <= 256
}

// Callback is what the upstream sent the browser back with (RFC 6749
// §4.1.2 and §4.1.2.1).
type Callback struct {
	Code             string
	Error            string
	ErrorDescription string
}

// Result is a federated sign-in that succeeded.
type Result struct {
	User domain.User
	// AMR are the sign-in's methods: "fed", then those the upstream gave.
	AMR []string
	// Linked is set when this sign-in linked the identity to an existing
	// account, Created when it made the account.
	Linked, Created bool
}

// Finish completes an attempt with the upstream's answer: it redeems the
// code, checks the ID token and applies the linking rules. The caller has
// checked the state. Errors are *Failure, or a store's.
func (s *Service) Finish(ctx context.Context, a *domain.UpstreamAttempt, cb Callback) (Result, error) {
	if cb.Error != "" {
		msg := "You did not finish signing in with your organization's account, so you were not signed in."
		if cb.Error != "access_denied" {
			msg = "Your organization's sign-in service refused the sign-in (" + clip(cb.Error) + ")."
		}
		return Result{}, failure(ReasonDenied, msg)
	}
	if cb.Code == "" || len(cb.Code) > 4096 {
		return Result{}, failExchange
	}
	p, ok, err := s.Provider(ctx, a.ProviderID)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, failGone
	}
	md, err := s.deps.Upstream.Discover(ctx, p.Issuer)
	if err != nil {
		return Result{}, failUnavailable
	}
	claims, err := s.deps.Upstream.Exchange(ctx, exchange(&p, md, a, cb.Code, s.RedirectURI()))
	switch {
	case errors.Is(err, domain.ErrUnavailable):
		return Result{}, failUnavailable
	case errors.Is(err, domain.ErrInvalidToken):
		return Result{}, failToken
	case err != nil:
		return Result{}, failExchange
	}
	who, f := s.checkIDToken(&p, md, a, claims)
	if f != nil {
		return Result{}, f
	}
	return s.resolve(ctx, &p, who)
}
