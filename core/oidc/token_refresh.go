package oidc

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// refresh runs the refresh_token grant (RFC 6749 §6) with rotation: every use
// spends the token and returns a new one; replaying a spent token revokes the
// whole family (RFC 9700 §4.14.2).
func (p *Provider) refresh(ctx context.Context, client *domain.Client, req TokenRequest) (TokenResponse, error) {
	if req.RefreshToken == "" || len(req.RefreshToken) > 512 {
		return TokenResponse{}, oauthErr(CodeInvalidRequest, "refresh_token is required")
	}
	now := p.now()
	hash := domain.HashToken(req.RefreshToken)
	// Check everything that can fail before spending the token, so a client
	// that sent a bad scope keeps a usable token.
	fam, err := p.liveRefreshFamily(ctx, client, hash, now)
	if err != nil {
		return TokenResponse{}, err
	}
	if fam.DPoPJKT != "" && fam.DPoPJKT != req.dpopJKT {
		// RFC 9449 §5: a bound refresh token is used with its key only.
		return TokenResponse{}, oauthErr(CodeInvalidDPoPProof, "the refresh token is bound to a DPoP key: send a proof signed with that key")
	}
	sess, ended, err := p.issuingSession(ctx, client, &fam, now)
	if err != nil {
		return TokenResponse{}, err
	}
	if ended {
		// Final: a later registration of offline_access does not revive it.
		if err := p.deps.Grants.RevokeRefreshFamily(ctx, fam.ID, now); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return TokenResponse{}, fault.Store("revoke refresh family", err)
		}
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the refresh token ended with the sign-in session that issued it; without offline_access it does not outlive it")
	}
	scopes, err := refreshScopes(client, &fam, req.Scope)
	if err != nil {
		return TokenResponse{}, err
	}
	user, err := p.activeUser(ctx, fam.UserID, fam.AuthTime)
	if err != nil {
		return TokenResponse{}, err
	}
	// A license-bound app loses a user the moment the license is revoked.
	if err := p.requireLicense(ctx, client, user.ID, CodeInvalidGrant); err != nil {
		return TokenResponse{}, err
	}

	tok, fam, err := p.spendRefreshToken(ctx, hash, fam.ID, now)
	if err != nil {
		return TokenResponse{}, err
	}
	if sess != nil {
		// The app's use keeps the session alive, as the browser's does.
		if err := p.touchSession(ctx, sess); err != nil {
			return TokenResponse{}, err
		}
	}
	// Tokens issued in a session are reported when it ends (Back-Channel
	// Logout §2.3); the code exchange recorded this client already, unless
	// it registered its backchannel_logout_uri since. An offline family
	// whose session ended has no one to tell.
	if _, err := p.recordSessionClient(ctx, client, fam.SessionID, now); err != nil {
		return TokenResponse{}, err
	}
	return p.mint(ctx, issuance{
		client: client, user: user, scopes: scopes, grantID: fam.ID,
		authTime: fam.AuthTime, sid: fam.SessionID, amr: fam.AMR, refresh: tok, dpopJKT: req.dpopJKT,
		claims: storedClaims(fam.Claims),
	})
}

// liveRefreshFamily looks up the family of the refresh token whose hash is
// given, without spending the token, and checks that it belongs to this
// client and is neither revoked nor expired.
func (p *Provider) liveRefreshFamily(ctx context.Context, client *domain.Client, hash []byte, now time.Time) (domain.RefreshFamily, error) {
	_, fam, err := p.deps.Grants.GetRefreshToken(ctx, hash)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.RefreshFamily{}, oauthErr(CodeInvalidGrant, "the refresh token is invalid")
	}
	if err != nil {
		return domain.RefreshFamily{}, fault.Store("get refresh token", err)
	}
	if fam.ClientID != client.ID {
		return domain.RefreshFamily{}, oauthErr(CodeInvalidGrant, "the refresh token was issued to another client")
	}
	if !fam.Active(now) {
		return domain.RefreshFamily{}, oauthErr(CodeInvalidGrant, "the refresh token is revoked or expired")
	}
	return fam, nil
}

// refreshScopes is the scope a refresh asks for: the family's, or the
// narrower one the request names.
func refreshScopes(client *domain.Client, fam *domain.RefreshFamily, scope string) ([]string, error) {
	scopes := fam.Scopes
	if scope != "" {
		// RFC 6749 §6: a refresh may narrow the scope, never widen it.
		scopes = domain.ParseScope(scope)
		for _, s := range scopes {
			if !slices.Contains(fam.Scopes, s) {
				return nil, oauthErr(CodeInvalidScope, "scope %q was not granted", clip(s))
			}
		}
	}
	if scope != "" && len(grantedNow(client, scopes)) == 0 {
		// Nothing asked for is the client's any more: answering 200 with
		// no scope would read as "granted as requested" (RFC 6749 §5.1).
		return nil, oauthErr(CodeInvalidScope, "none of the requested scopes is registered for this client any more")
	}
	return scopes, nil
}

// spendRefreshToken spends the refresh token whose hash is given and returns
// its successor with the family as the rotation left it. A token spent before
// (past the grace period) is a replay, which revokes the whole grant.
func (p *Provider) spendRefreshToken(ctx context.Context, hash []byte, familyID string, now time.Time) (string, domain.RefreshFamily, error) {
	tok, next := p.newRefreshToken(familyID, now)
	fam, outcome, err := p.deps.Grants.RotateRefreshToken(ctx, hash, next, now, p.cfg.RefreshGrace)
	if errors.Is(err, domain.ErrNotFound) {
		return "", domain.RefreshFamily{}, oauthErr(CodeInvalidGrant, "the refresh token is revoked or expired")
	}
	if err != nil {
		return "", domain.RefreshFamily{}, fault.Store("rotate refresh token", err)
	}
	if outcome == domain.Replayed {
		if err := p.revokeGrant(ctx, fam.ID, now); err != nil {
			return "", domain.RefreshFamily{}, err
		}
		return "", domain.RefreshFamily{}, oauthErr(CodeInvalidGrant, "the refresh token was already used; its grant is revoked")
	}
	return tok, fam, nil
}

// boundToSession reports whether a refresh family ends with the browser
// session that signed the user in: every family but one granted
// offline_access, which outlives it (OIDC Core §11), as long as the client
// is still registered for it. Families from before sessions were recorded
// have no sid and are not bound.
func boundToSession(client *domain.Client, fam *domain.RefreshFamily) bool {
	return fam.SessionID != "" && !slices.Contains(grantedNow(client, fam.Scopes), domain.ScopeOfflineAccess)
}

// issuingSession returns the live browser session a session-bound family
// depends on, or ended when that session is over: signed out, expired, or
// ended by "sign out everywhere". An unbound family has neither.
func (p *Provider) issuingSession(ctx context.Context, client *domain.Client, fam *domain.RefreshFamily, now time.Time) (*domain.Session, bool, error) {
	if !boundToSession(client, fam) {
		return nil, false, nil
	}
	s, err := p.deps.Sessions.GetSessionBySID(ctx, fam.SessionID, now)
	if errors.Is(err, domain.ErrNotFound) || err == nil && s.UserID != fam.UserID {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fault.Store("get session by sid", err)
	}
	return &s, false, nil
}
