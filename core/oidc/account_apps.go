package oidc

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/ports"
)

// The account page's "Active sessions" and "Connected apps": the signed-in
// user's own browser sessions and the apps they gave access to, listed and
// ended. Each use case finds its user through the browser's session
// (signedIn) and takes no user id, so none of them can reach another
// user's sessions or consents.

// SessionView is one of the user's live sessions, as the account page
// lists it.
type SessionView struct {
	SID                           string
	AuthTime, LastSeen, ExpiresAt time.Time
	// AMR says how the user signed in: pwd, otp, hwk or swk (a passkey),
	// and mfa for two factors (RFC 8176).
	AMR []string
	// Apps are the names of the apps that got tokens in the session as the
	// session recorded them: only apps registered for back-channel logout
	// are (Session.ClientIDs). Apps deleted since are left out.
	Apps []string
	// Current marks this browser's own session.
	Current bool
}

// AppView is an app the user gave access to: a consent, with its client.
type AppView struct {
	ClientID, Name     string
	ClientURI, LogoURI string
	Scopes             []ScopeView
	GrantedAt          time.Time
}

// ScopeView is a granted scope and its plain words, "" when it has none.
type ScopeView struct{ Name, Description string }

// maxEndRounds bounds EndOtherSessions: a round ends the sessions one
// listing returns (ports.MaxUserSessions at most). Every live session is a
// sign-in within the session lifetime, and sign-ins are throttled, so ten
// rounds (about a thousand sessions) is far beyond any real user; a user
// with more sees the rest still listed, and the button ends the next ones.
const maxEndRounds = 10

// accountHolder returns the browser's session and its user, or
// ErrNotSignedIn.
func (p *Provider) accountHolder(ctx context.Context, b Browser) (*domain.Session, *domain.User, error) {
	sess, user, err := p.signedIn(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	if sess == nil {
		return nil, nil, ErrNotSignedIn
	}
	return sess, user, nil
}

// AccountSessions lists the signed-in user's live sessions, newest sign-in
// first, this browser's marked Current.
func (p *Provider) AccountSessions(ctx context.Context, b Browser) ([]SessionView, error) {
	cur, user, err := p.accountHolder(ctx, b)
	if err != nil {
		return nil, err
	}
	list, err := p.deps.Sessions.ListUserSessions(ctx, user.ID, p.now())
	if err != nil {
		return nil, fault.Store("list user sessions", err)
	}
	clients := clientLookup{}
	out := make([]SessionView, 0, len(list))
	for _, s := range list {
		v := SessionView{
			SID: s.SID, AuthTime: s.AuthTime, LastSeen: s.LastSeen, ExpiresAt: s.ExpiresAt,
			AMR: s.AMR, Current: bytes.Equal(s.Hash, cur.Hash),
		}
		for _, id := range s.ClientIDs {
			c, err := clients.get(ctx, p, id)
			if err != nil {
				return nil, err
			}
			if c != nil {
				v.Apps = append(v.Apps, appName(c))
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// EndOtherSessions ends every session of the signed-in user but this
// browser's, each as any sign-out does (endSession), so the apps
// registered for back-channel logout are told of each. It returns how many
// it ended.
func (p *Provider) EndOtherSessions(ctx context.Context, b Browser) (int, error) {
	cur, user, err := p.accountHolder(ctx, b)
	if err != nil {
		return 0, err
	}
	ended := 0
	for range maxEndRounds {
		list, err := p.deps.Sessions.ListUserSessions(ctx, user.ID, p.now())
		if err != nil {
			return ended, fault.Store("list user sessions", err)
		}
		for _, s := range list {
			if bytes.Equal(s.Hash, cur.Hash) {
				continue
			}
			if err := p.endSession(ctx, s.Hash); err != nil {
				return ended, err
			}
			ended++
		}
		// A short listing held every live session: none is left to end.
		if len(list) < ports.MaxUserSessions {
			break
		}
	}
	return ended, nil
}

// AccountApps lists the apps the signed-in user gave access to, by name.
// The consents of apps deleted since are left out: their tokens died with
// them (RFC 7592 §2.3).
func (p *Provider) AccountApps(ctx context.Context, b Browser) ([]AppView, error) {
	_, user, err := p.accountHolder(ctx, b)
	if err != nil {
		return nil, err
	}
	consents, err := p.deps.Grants.ListUserConsents(ctx, user.ID)
	if err != nil {
		return nil, fault.Store("list user consents", err)
	}
	clients := clientLookup{}
	out := make([]AppView, 0, len(consents))
	for _, cons := range consents {
		c, err := clients.get(ctx, p, cons.ClientID)
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		v := AppView{ClientID: c.ID, Name: appName(c), ClientURI: c.ClientURI, LogoURI: c.LogoURI, GrantedAt: cons.CreatedAt}
		for _, sc := range cons.Scopes {
			v.Scopes = append(v.Scopes, ScopeView{Name: sc, Description: domain.ScopeDescriptions[sc]})
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b AppView) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out, nil
}

// RevokeApp withdraws the signed-in user's consent to clientID and, in the
// same unit, revokes every grant the user gave it: its refresh tokens, and
// the access tokens they issued (recorded as revoked grants, checked by
// validAccessToken). The app must ask for consent again. It ends no
// session. ErrAppNotConnected when the user gave the app no access.
//
// A code issued to the app just before, and redeemed after, still issues
// tokens: codes are found by hash alone, and live for CodeTTL.
func (p *Provider) RevokeApp(ctx context.Context, b Browser, clientID string) error {
	_, user, err := p.accountHolder(ctx, b)
	if err != nil {
		return err
	}
	if clientID == "" || len(clientID) > maxIDLen {
		return ErrAppNotConnected
	}
	now := p.now()
	// As revokeGrant does: the grant records outlive every access token and
	// code the families could have issued.
	until := now.Add(max(p.cfg.AccessTokenTTL, p.cfg.CodeTTL))
	return p.deps.Units.Atomically(ctx, func(ctx context.Context) error {
		err := p.deps.Grants.DeleteConsent(ctx, user.ID, clientID)
		if errors.Is(err, domain.ErrNotFound) {
			return ErrAppNotConnected
		}
		if err != nil {
			return fault.Store("delete consent", err)
		}
		ids, err := p.deps.Grants.RevokeUserClientRefreshFamilies(ctx, user.ID, clientID, now)
		if err != nil {
			return fault.Store("revoke user client refresh families", err)
		}
		for _, id := range ids {
			if err := p.deps.Grants.RevokeGrant(ctx, id, until); err != nil {
				return fault.Store("revoke grant", err)
			}
		}
		return nil
	})
}

// clientLookup reads each client once per call; a missing client is nil.
type clientLookup map[string]*domain.Client

func (l clientLookup) get(ctx context.Context, p *Provider, id string) (*domain.Client, error) {
	if c, ok := l[id]; ok {
		return c, nil
	}
	c, err := p.deps.Clients.GetClient(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		l[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fault.Store("get client", err)
	}
	l[id] = &c
	return &c, nil
}

// appName is what the account page calls a client: its name, or its id
// when it registered none.
func appName(c *domain.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}
