package oidc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// LoginInput is a submitted login form.
type LoginInput struct {
	Interaction string
	CSRFToken   string
	Email       string
	Password    string
}

const badCredentials = "The email or password is incorrect."

// Login checks a submitted login form. On success it starts a session and
// continues the pending request to consent or to the client.
func (p *Provider) Login(ctx context.Context, in LoginInput, b Browser) (Outcome, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return Outcome{Page: page}, err
	}
	if !boundTo(r, b, in.CSRFToken) {
		return Outcome{Page: pageForeign}, nil
	}
	email := domain.NormalizeEmail(in.Email)
	if in.Password == "" && domain.ValidEmail(email) && utf8.ValidString(email) {
		// An email alone, of an organization that signs in upstream: there.
		if out, ok, err := p.homeRealm(ctx, r, email); ok || err != nil {
			return out, err
		}
	}
	if email == "" || in.Password == "" {
		return Outcome{LoginError: "Enter your email and password."}, nil
	}
	if len(email) > 254 || len(in.Password) > domain.MaxPasswordLen || !utf8.ValidString(email) || strings.ContainsRune(email, 0) {
		// No account has such an email; the limiter's key is text too.
		return Outcome{LoginError: badCredentials}, nil
	}
	if msg, err := p.throttleLogin(ctx, email, b.IP); err != nil || msg != "" {
		return Outcome{LoginError: msg, Throttled: true}, err
	}
	release, ok := p.hashSlot(ctx)
	if !ok {
		return Outcome{LoginError: "Calimatic is busy right now. Try again in a moment.", Throttled: true}, nil
	}
	user, msg, err := p.checkPassword(ctx, email, in.Password)
	release()
	if err != nil {
		return Outcome{}, err
	}
	if msg != "" {
		return p.loginFailed(ctx, r, msg)
	}
	need, err := p.needsFactor(ctx, r, user)
	if err != nil {
		return Outcome{}, err
	}
	if need {
		return p.owesFactor(ctx, r, user.ID, []string{"pwd"})
	}
	return p.signIn(ctx, r, user, []string{"pwd"}, b, true)
}

// signIn starts the session of a user who proved who they are by amr, and
// records it in the pending request; with proceed, the request goes on to
// consent or to the client.
func (p *Provider) signIn(ctx context.Context, r *domain.AuthRequest, user *domain.User, amr []string, b Browser, proceed bool) (Outcome, error) {
	// A new sign-in ends the browser's previous session, so a cookie stolen
	// earlier does not survive re-authentication.
	if b.SessionCookie != "" && len(b.SessionCookie) <= 128 {
		if err := p.endSession(ctx, domain.HashToken(b.SessionCookie)); err != nil {
			return Outcome{}, err
		}
	}
	sess, cookie, err := p.startSession(ctx, user, amr)
	if err != nil {
		return Outcome{}, err
	}
	r2, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.UserID, ar.AuthTime, ar.SessionID, ar.AMR = user.ID, sess.AuthTime, sess.SID, sess.AMR
		ar.FactorUserID = ""
		ar.Prompt = dropLoginPrompts(ar.Prompt)
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return Outcome{Page: pageExpired, Session: &cookie}, nil
	}
	if err != nil {
		return Outcome{}, fault.Store("update auth request", err)
	}
	if !proceed {
		return Outcome{Session: &cookie}, nil
	}
	out, err := p.afterLogin(ctx, &r2, user)
	out.Session = &cookie
	return out, err
}

// maxFailedLogins is how many wrong passwords one pending request takes
// before it is dropped and the user must start again from the app.
const maxFailedLogins = 5

// loginFailed counts a failed attempt on the pending request.
func (p *Provider) loginFailed(ctx context.Context, r *domain.AuthRequest, msg string) (Outcome, error) {
	updated, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.FailedLogins++
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return Outcome{Page: pageExpired}, nil
	}
	if err != nil {
		return Outcome{}, fault.Store("update auth request", err)
	}
	if updated.FailedLogins >= maxFailedLogins {
		if _, err := p.deps.AuthRequests.DeleteAuthRequest(ctx, r.ID); err != nil {
			return Outcome{}, fault.Store("delete auth request", err)
		}
		return Outcome{Page: oauthErr(CodeAccessDenied, "Too many failed sign-in attempts. Return to the application and try again.")}, nil
	}
	return Outcome{LoginError: msg}, nil
}

// dropLoginPrompts removes prompt=login once the user has signed in for this
// request, so the request does not loop back to the login page.
func dropLoginPrompts(prompt []string) []string {
	out := prompt[:0:0]
	for _, v := range prompt {
		if v != "login" && v != "select_account" {
			out = append(out, v)
		}
	}
	return out
}

func (p *Provider) afterLogin(ctx context.Context, r *domain.AuthRequest, user *domain.User) (Outcome, error) {
	if r.ReturnTo != "" {
		// A sign-in for the account page: back to it, signed in.
		return p.complete(ctx, r, func() (string, error) { return r.ReturnTo, nil })
	}
	if r.DeviceCodeHash != nil {
		// Signed in from the device page: back to it to approve (RFC 8628
		// §3.3), where the rules are checked as the user decides.
		return Outcome{Step: StepDevice, Interaction: r.ID}, nil
	}
	c, err := p.deps.Clients.GetClient(ctx, r.ClientID)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return Outcome{Page: pageExpired}, nil
		}
		return Outcome{}, fault.Store("get client", err)
	}
	if e := wrongSubject(r, user.ID); e != nil {
		return p.complete(ctx, r, func() (string, error) { return p.errorRedirect(r.RedirectURI, r.State, e), nil })
	}
	if err := p.requireLicense(ctx, &c, user.ID, CodeAccessDenied); err != nil {
		e, ok := AsError(err)
		if !ok {
			return Outcome{}, err
		}
		return p.complete(ctx, r, func() (string, error) { return p.errorRedirect(r.RedirectURI, r.State, e), nil })
	}
	need, err := p.needsConsent(ctx, &c, r, user.ID)
	if err != nil {
		return Outcome{}, err
	}
	if need {
		return Outcome{Step: StepConsent, Interaction: r.ID}, nil
	}
	return p.complete(ctx, r, func() (string, error) { return p.issueCode(ctx, r) })
}

// throttleLogin counts a sign-in attempt per account from this address and
// per address, and returns a message when either is over its limit. The
// account limit is per address so that nobody can lock a user out by
// failing on purpose from elsewhere; IPv6 clients count per /64, which one
// subscriber usually holds whole. A limiter outage fails closed
// (ports.RateLimiter): no password is checked while attempts can't be
// counted.
func (p *Provider) throttleLogin(ctx context.Context, email, ip string) (string, error) {
	now := p.now()
	network := domain.IPBucket(ip)
	if network == "" {
		return "", nil
	}
	for _, check := range []struct {
		key  string
		rule domain.RateRule
	}{{email + "|" + network, p.cfg.LoginAccount}, {network, p.cfg.LoginIP}} {
		d, err := ratelimit.Allow(ctx, p.deps.Limiter, check.key, check.rule, now)
		if err != nil {
			return "", err
		}
		if !d.Allowed {
			mins := int(math.Ceil(d.RetryAfter.Minutes()))
			return fmt.Sprintf("Too many sign-in attempts. Try again in %d minute(s).", max(mins, 1)), nil
		}
	}
	return "", nil
}

// checkPassword verifies a user's password with argon2id. An unknown email
// costs the same hashing work, so timing does not reveal which emails exist.
// The hash is upgraded when the parameters changed.
func (p *Provider) checkPassword(ctx context.Context, email, password string) (*domain.User, string, error) {
	u, err := p.deps.Users.GetUserByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) || err == nil && u.PasswordHash == "" {
		_, _, _ = domain.CheckPassword(password, p.dummyHash, p.cfg.Password)
		return nil, badCredentials, nil
	}
	if err != nil {
		return nil, "", fault.Store("get user", err)
	}
	ok, rehash, err := domain.CheckPassword(password, u.PasswordHash, p.cfg.Password)
	if err != nil || !ok {
		return nil, badCredentials, nil
	}
	if !u.CanSignIn() {
		return nil, "This account is not active. Contact your organization's administrator.", nil
	}
	if rehash {
		newHash := domain.HashPassword(password, p.deps.Random.Bytes(p.cfg.Password.SaltLen), p.cfg.Password)
		if _, err := p.deps.Users.UpdateUser(ctx, u.ID, func(x *domain.User) error {
			x.PasswordHash = newHash
			return nil
		}); err != nil {
			return nil, "", fault.Store("rehash password", err)
		}
	}
	return &u, "", nil
}
