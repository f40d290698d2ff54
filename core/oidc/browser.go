package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
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
		return nil, nil, storeErr("get session", err)
	}
	u, err := p.deps.Users.GetUser(ctx, s.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, storeErr("get user", err)
	}
	if !u.CanSignIn() || s.AuthTime.Before(u.NotBefore) {
		return nil, nil, nil
	}
	return &s, &u, nil
}

// Sessions slide: each use moves the expiry to SessionTTL from now, at
// most once per touchEvery (to spare the store a write per request), and
// never past maxSessionAge from sign-in.
const (
	touchEvery    = time.Minute
	maxSessionAge = 30 * 24 * time.Hour
)

// touchSession extends a used session and returns the cookie to set again
// with its new expiry, or nil when no touch was due.
func (p *Provider) touchSession(ctx context.Context, s *domain.Session, b Browser) (*NewSession, error) {
	now := p.now()
	if now.Sub(s.LastSeen) < touchEvery {
		return nil, nil
	}
	exp := now.Add(p.cfg.SessionTTL)
	if limit := s.CreatedAt.Add(maxSessionAge); exp.After(limit) {
		exp = limit
	}
	err := p.deps.Sessions.TouchSession(ctx, s.Hash, now, exp)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeErr("touch session", err)
	}
	return &NewSession{Cookie: b.SessionCookie, ExpiresAt: exp}, nil
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
		return nil, NewSession{}, storeErr("create session", err)
	}
	return &s, NewSession{Cookie: cookie, ExpiresAt: s.ExpiresAt}, nil
}

// boundTo reports whether the pending request belongs to this browser and
// the form carried the request's CSRF token; both compared in constant time.
func boundTo(r *domain.AuthRequest, b Browser, csrf string) bool {
	okBinding := b.Binding != "" && subtle.ConstantTimeCompare(domain.HashToken(b.Binding), r.BindingHash) == 1
	okCSRF := subtle.ConstantTimeCompare([]byte(csrf), []byte(r.CSRFToken)) == 1
	return okBinding && okCSRF
}

// LogoutCSRF is the CSRF token of the sign-out form for a browser. It is
// derived from the binding secret, which other sites cannot read.
func LogoutCSRF(b Browser) string {
	sum := sha256.Sum256([]byte("calimatic-logout:" + b.Binding))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
