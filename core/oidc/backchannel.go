package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// OpenID Connect Back-Channel Logout 1.0: when a browser session ends, every
// client that was issued tokens in it and registered a
// backchannel_logout_uri is sent a logout token. The session records those
// clients as tokens are issued (recordSessionClient); whoever ends it
// publishes, in the same unit of work, the event that the webhook machinery
// turns into one durable, retried delivery per client (core/webhooks), whose
// token is signed here (LogoutToken) at each attempt.

// typLogoutToken is the logout token's JWS typ (Back-Channel Logout §2.4:
// explicit typing, so it can never pass for an ID token).
const typLogoutToken = "logout+jwt"

// eventBackchannelLogout is the logout token's one event (§2.4).
const eventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenTTL is how long a logout token is valid: short, to narrow
// replay, since it is signed afresh at each attempt and a retry never
// needs an old one.
const LogoutTokenTTL = 2 * time.Minute

// LogoutClaims are a logout token's claims (§2.4). It carries no nonce:
// §2.4 forbids one, so a logout token cannot pass for an ID token.
type LogoutClaims struct {
	Issuer    string                    `json:"iss"`
	Subject   string                    `json:"sub,omitempty"`
	Audience  string                    `json:"aud"`
	IssuedAt  int64                     `json:"iat"`
	ExpiresAt int64                     `json:"exp"`
	JTI       string                    `json:"jti"`
	Events    map[string]map[string]any `json:"events"`
	SID       string                    `json:"sid,omitempty"`
}

// LogoutToken signs the logout token of n, as ID tokens are signed (with
// the client's id_token_signed_response_alg when it registered one). Each
// call makes a new token, with its own jti, iat and exp. The sid is always
// included, which satisfies backchannel_logout_session_required (§2.2);
// sub is included too, as both identify the session's user.
func (p *Provider) LogoutToken(ctx context.Context, n domain.LogoutNotice) (string, error) {
	alg := p.cfg.IDTokenAlg
	c, err := p.deps.Clients.GetClient(ctx, n.ClientID)
	switch {
	case err == nil && c.IDTokenSignedResponseAlg != "":
		alg = c.IDTokenSignedResponseAlg
	case err != nil && !errors.Is(err, domain.ErrNotFound):
		return "", fault.Store("get client", err)
	}
	now := p.now()
	return p.signJWT(ctx, alg, typLogoutToken, LogoutClaims{
		Issuer: p.cfg.Issuer, Subject: n.Subject, Audience: n.ClientID,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(LogoutTokenTTL).Unix(), JTI: p.deps.Random.Token(16),
		Events: map[string]map[string]any{eventBackchannelLogout: {}}, SID: n.SID,
	})
}

// recordSessionClient records in the session whose sid is given that client
// is being issued tokens in it, when the client registered for back-channel
// logout (others are told nothing, so recording them would only cost a
// write per token). It reports false when the session has ended.
func (p *Provider) recordSessionClient(ctx context.Context, client *domain.Client, sid string, now time.Time) (bool, error) {
	if sid == "" || client.BackchannelLogoutURI == "" {
		return true, nil
	}
	err := p.deps.Sessions.AddSessionClient(ctx, sid, client.ID, now)
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fault.Store("add session client", err)
	}
	return true, nil
}

// endSession deletes the session with this hash and, in the same unit of
// work, publishes the event that tells its clients. A missing session is
// not an error.
func (p *Provider) endSession(ctx context.Context, hash []byte) error {
	return p.deps.Units.Atomically(ctx, func(ctx context.Context) error {
		s, err := p.deps.Sessions.DeleteSession(ctx, hash)
		if errors.Is(err, domain.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fault.Store("delete session", err)
		}
		e, ok := domain.LogoutEvent(p.deps.Random.UUID(), p.now(), s)
		if !ok {
			return nil
		}
		if err := p.deps.Events.Publish(ctx, e); err != nil {
			return fault.Store("publish logout", err)
		}
		return nil
	})
}
