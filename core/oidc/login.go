package oidc

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/calimatic/calimatic-auth/core/domain"
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
	if email == "" || in.Password == "" {
		return Outcome{LoginError: "Enter your email and password."}, nil
	}
	if len(email) > 254 || len(in.Password) > domain.MaxPasswordLen {
		return Outcome{LoginError: badCredentials}, nil
	}
	if msg, err := p.throttleLogin(ctx, email, b.IP); err != nil || msg != "" {
		return Outcome{LoginError: msg, Throttled: true}, err
	}
	user, msg, err := p.checkPassword(ctx, email, in.Password)
	if err != nil || msg != "" {
		return Outcome{LoginError: msg}, err
	}
	sess, cookie, err := p.startSession(ctx, user, []string{"pwd"})
	if err != nil {
		return Outcome{}, err
	}
	r2, err := p.deps.AuthRequests.UpdateAuthRequest(ctx, r.ID, p.now(), func(ar *domain.AuthRequest) error {
		ar.UserID, ar.AuthTime, ar.SessionID, ar.AMR = user.ID, sess.AuthTime, sess.SID, sess.AMR
		ar.Prompt = dropLoginPrompts(ar.Prompt)
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return Outcome{Page: pageExpired, Session: &cookie}, nil
	}
	if err != nil {
		return Outcome{}, storeErr("update auth request", err)
	}
	out, err := p.afterLogin(ctx, &r2, user)
	out.Session = &cookie
	return out, err
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
	c, err := p.deps.Clients.GetClient(ctx, r.ClientID)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return Outcome{Page: pageExpired}, nil
		}
		return Outcome{}, storeErr("get client", err)
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

// throttleLogin counts a sign-in attempt per account and per IP, and returns
// a message when either is over its limit.
func (p *Provider) throttleLogin(ctx context.Context, email, ip string) (string, error) {
	now := p.now()
	for _, check := range []struct {
		key  string
		rule domain.RateRule
	}{{email, p.cfg.LoginAccount}, {ip, p.cfg.LoginIP}} {
		if !check.rule.Enabled() || check.key == "" {
			continue
		}
		d, err := p.deps.Limiter.Allow(ctx, check.key, check.rule, now)
		if err != nil {
			return "", storeErr("login throttle", err)
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
		return nil, "", storeErr("get user", err)
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
			return nil, "", storeErr("rehash password", err)
		}
	}
	return &u, "", nil
}
