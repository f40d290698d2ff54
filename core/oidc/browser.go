package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Browser is what the user agent brings to the browser-facing endpoints.
type Browser struct {
	// SessionCookie is the login session cookie's value; empty without one.
	SessionCookie string
	// Binding is a long-lived random value in its own cookie that ties
	// pending authorization requests and forms to this browser. The HTTP
	// adapter makes one when the browser has none.
	Binding string
	// IP is the client address, for login throttling.
	IP string
}

// NewSession is a login session the adapter must set as a cookie.
type NewSession struct {
	Cookie    string
	ExpiresAt time.Time
}

// currentSession returns the browser's live session and its active user, or
// nils when there is none.
func (p *Provider) currentSession(ctx context.Context, b Browser) (*domain.Session, *domain.User, error) {
	if b.SessionCookie == "" || len(b.SessionCookie) > 128 {
		return nil, nil, nil
	}
	now := p.now()
	s, err := p.deps.Sessions.GetSession(ctx, domain.HashToken(b.SessionCookie), now)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fault.Store("get session", err)
	}
	u, err := p.deps.Users.GetUser(ctx, s.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fault.Store("get user", err)
	}
	if !u.CanSignIn() || s.AuthTime.Before(u.NotBefore) {
		return nil, nil, nil
	}
	return &s, &u, nil
}

// signedIn is currentSession for signing in to something (an app, a
// device, the account page): a session of one factor no longer counts for
// a user whom an organization's policy has since come to ask a second
// factor of. A policy raised after a sign-in thus applies at the
// session's next use, not at its end, up to 30 days later.
func (p *Provider) signedIn(ctx context.Context, b Browser) (*domain.Session, *domain.User, error) {
	s, u, err := p.currentSession(ctx, b)
	if err != nil || s == nil || slices.Contains(s.AMR, "mfa") {
		return s, u, err
	}
	required, err := p.deps.MFA.Required(ctx, u.ID)
	if err != nil || required {
		return nil, nil, err
	}
	return s, u, nil
}

// Sessions slide: each use moves the expiry to SessionTTL from now, at
// most once per touchEvery (to spare the store a write per request), and
// never past maxSessionAge from sign-in. A use is the browser coming back,
// or an app refreshing a token bound to the session. The store decides
// when a session ends; the cookie lives until the session's latest
// possible end, so the browser never drops a session the store still holds.
const (
	touchEvery    = time.Minute
	maxSessionAge = 30 * 24 * time.Hour
)

// touchSession extends a used session. A session that ended meanwhile stays
// ended.
func (p *Provider) touchSession(ctx context.Context, s *domain.Session) error {
	now := p.now()
	if now.Sub(s.LastSeen) < touchEvery {
		return nil
	}
	exp := now.Add(p.cfg.SessionTTL)
	if limit := s.CreatedAt.Add(maxSessionAge); exp.After(limit) {
		exp = limit
	}
	err := p.deps.Sessions.TouchSession(ctx, s.Hash, now, exp)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return fault.Store("touch session", err)
	}
	return nil
}

// startSession creates a login session for user.
func (p *Provider) startSession(ctx context.Context, user *domain.User, amr []string) (*domain.Session, NewSession, error) {
	now := p.now()
	cookie := p.deps.Random.Token(32)
	s := domain.Session{
		Hash: domain.HashToken(cookie), SID: p.deps.Random.Token(16), UserID: user.ID,
		AuthTime: now, AMR: amr, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(p.cfg.SessionTTL),
	}
	if err := p.deps.Sessions.CreateSession(ctx, s); err != nil {
		return nil, NewSession{}, fault.Store("create session", err)
	}
	return &s, NewSession{Cookie: cookie, ExpiresAt: s.CreatedAt.Add(maxSessionAge)}, nil
}

// boundTo reports whether the pending request belongs to this browser and
// the form carried the request's CSRF token; both compared in constant time.
func boundTo(r *domain.AuthRequest, b Browser, csrf string) bool {
	okBinding := b.Binding != "" && subtle.ConstantTimeCompare(domain.HashToken(b.Binding), r.BindingHash) == 1
	okCSRF := subtle.ConstantTimeCompare([]byte(csrf), []byte(r.CSRFToken)) == 1
	return okBinding && okCSRF
}

// logoutCSRF is the CSRF token of the sign-out form for a browser. It is
// derived from the session's secret, so it changes at every sign-in and
// is void once the session ends; a browser without a session (which can
// only be sent on to an app) uses its binding secret. Other sites can read
// neither.
func logoutCSRF(b Browser) string {
	secret := "binding\x00" + b.Binding
	if b.SessionCookie != "" {
		secret = "session\x00" + b.SessionCookie
	}
	sum := sha256.Sum256([]byte("calimatic-logout\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
