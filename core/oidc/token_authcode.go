package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// exchangeCode runs the authorization_code grant (RFC 6749 §4.1.3). The
// order of its steps is part of its security: the code is spent before the
// request is checked against it, so a replay is caught even in a request
// that would fail anyway.
func (p *Provider) exchangeCode(ctx context.Context, client *domain.Client, req TokenRequest) (TokenResponse, error) {
	if req.Code == "" || len(req.Code) > 512 {
		return TokenResponse{}, oauthErr(CodeInvalidRequest, "code is required")
	}
	if req.CodeVerifier == "" && client.NeedsPKCE(p.cfg.PKCE) {
		return TokenResponse{}, oauthErr(CodeInvalidRequest, "code_verifier is required (PKCE)")
	}
	now := p.now()
	code, err := p.redeemCode(ctx, client, req.Code, now)
	if err != nil {
		return TokenResponse{}, err
	}
	if err := p.checkCodeBinding(client, req, code); err != nil {
		return TokenResponse{}, err
	}
	return p.issueForUser(ctx, client, code, req.dpopJKT, now)
}

// redeemCode spends the authorization code whose plain text is raw. A code
// spent before is a replay: it revokes the grant the code issued, when the
// replaying client is the code's own.
func (p *Provider) redeemCode(ctx context.Context, client *domain.Client, raw string, now time.Time) (domain.AuthCode, error) {
	code, err := p.deps.Grants.RedeemAuthCode(ctx, domain.HashToken(raw), client.ID, now)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.AuthCode{}, oauthErr(CodeInvalidGrant, "the authorization code is invalid or expired")
	case errors.Is(err, domain.ErrAlreadyUsed):
		// RFC 6749 §4.1.2: a replayed code revokes what it issued. Only its
		// own client gets here: another client's attempt is ErrNotFound, so
		// a leaked code lets nobody sign the user out of an app.
		if err := p.revokeGrant(ctx, code.GrantID, now); err != nil {
			return domain.AuthCode{}, err
		}
		return domain.AuthCode{}, oauthErr(CodeInvalidGrant, "the authorization code was already used")
	case err != nil:
		return domain.AuthCode{}, fault.Store("redeem code", err)
	}
	return code, nil
}

// checkCodeBinding checks that a redeemed code was issued to this client, for
// this redirect URI, and that the request's PKCE verifier answers the code's
// challenge.
func (p *Provider) checkCodeBinding(client *domain.Client, req TokenRequest, code domain.AuthCode) error {
	// RFC 6749 §4.1.3: the code must belong to this client and redirect URI.
	if code.ClientID != client.ID {
		return oauthErr(CodeInvalidGrant, "the authorization code was issued to another client")
	}
	if req.RedirectURI != code.RedirectURI {
		return oauthErr(CodeInvalidGrant, "redirect_uri does not match the authorization request")
	}
	if code.DPoPJKT != "" && req.dpopJKT != code.DPoPJKT {
		// RFC 9449 §10: the code is bound to the key the authorization
		// request named; a stolen code is useless without it.
		return oauthErr(CodeInvalidDPoPProof, "the authorization code is bound to a DPoP key (dpop_jkt): send a proof made with it")
	}
	// RFC 7636 §4.6. A code issued without a challenge takes no verifier:
	// one sent anyway is a PKCE downgrade (RFC 9700 §4.8.2).
	switch {
	case code.CodeChallenge == "" && req.CodeVerifier != "":
		return oauthErr(CodeInvalidGrant, "code_verifier sent for a code issued without code_challenge")
	case code.CodeChallenge == "" && client.NeedsPKCE(p.cfg.PKCE):
		return oauthErr(CodeInvalidGrant, "the authorization code was issued without PKCE, which this client needs")
	case code.CodeChallenge != "" && req.CodeVerifier == "":
		return oauthErr(CodeInvalidRequest, "code_verifier is required: the authorization request sent a code_challenge")
	case code.CodeChallenge != "" && !domain.VerifyPKCE(req.CodeVerifier, code.CodeChallenge):
		return oauthErr(CodeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// requireCodeSession refuses a code whose sign-in session has ended. A code
// is the sign-in session's word: once that session has ended (the user
// signed out in the minute since), it issues nothing, as in Keycloak. A
// client registered for back-channel logout is recorded in the session,
// to be told when it ends.
func (p *Provider) requireCodeSession(ctx context.Context, client *domain.Client, code domain.AuthCode, now time.Time) error {
	if code.SessionID == "" {
		return nil
	}
	if client.BackchannelLogoutURI != "" {
		// One write both checks the session and records the client in it,
		// so the session cannot end between the two without telling it.
		live, err := p.recordSessionClient(ctx, client, code.SessionID, now)
		if err != nil || live {
			return err
		}
		return oauthErr(CodeInvalidGrant, "the sign-in session that issued the authorization code has ended")
	}
	_, err := p.deps.Sessions.GetSessionBySID(ctx, code.SessionID, now)
	if errors.Is(err, domain.ErrNotFound) {
		return oauthErr(CodeInvalidGrant, "the sign-in session that issued the authorization code has ended")
	}
	if err != nil {
		return fault.Store("get session by sid", err)
	}
	return nil
}

// createCodeFamily stores the refresh family a code's grant starts and
// returns its first refresh token. A public client's family is bound to
// the DPoP key jkt, when the request had a proof (RFC 9449 §5); a
// confidential client's is not, as it authenticates each refresh anyway.
//
// A client not registered for the refresh_token grant gets no token (""),
// but its grant still gets a family, with no token, that outlives the
// access token by a minute (for clocks a little apart): revoking the
// user's access for the client (RevokeApp) finds the grant there, and its
// access token with it. One write per code exchange is the price.
func (p *Provider) createCodeFamily(ctx context.Context, client *domain.Client, user *domain.User, code domain.AuthCode, jkt string, now time.Time) (string, error) {
	fam := domain.RefreshFamily{
		ID: code.GrantID, ClientID: client.ID, UserID: user.ID, Scopes: code.Scopes,
		AuthTime: code.AuthTime, SessionID: code.SessionID, AMR: code.AMR, Claims: code.Claims,
		CreatedAt: now, ExpiresAt: now.Add(p.cfg.RefreshTokenTTL),
	}
	if client.Public() {
		fam.DPoPJKT = jkt
	}
	var tok string
	var first domain.RefreshToken
	if client.AllowsGrant(domain.GrantRefreshToken) {
		tok, first = p.newRefreshToken(code.GrantID, now)
	} else {
		fam.ExpiresAt = now.Add(p.cfg.AccessTokenTTL + time.Minute)
	}
	if err := p.deps.Grants.CreateRefreshFamily(ctx, fam, first); err != nil {
		return "", fault.Store("create refresh family", err)
	}
	return tok, nil
}

// refuseRevokedCodeGrant refuses a code whose grant was revoked while it was
// being redeemed. A replay racing this redemption may have revoked the grant
// before the family existed; revokeGrant records the grant first, so looking
// after the family is created closes that window, and revoking again takes
// the new family with it.
func (p *Provider) refuseRevokedCodeGrant(ctx context.Context, grantID string, now time.Time) error {
	revoked, err := p.deps.Grants.IsRevoked(ctx, "", grantID)
	if err != nil {
		return fault.Store("is revoked", err)
	}
	if revoked {
		if err := p.revokeGrant(ctx, grantID, now); err != nil {
			return err
		}
		return oauthErr(CodeInvalidGrant, "the authorization code was already used")
	}
	return nil
}

// activeUser loads a user who may still hold tokens from a sign-in at
// authTime; anyone else, or a sign-in before the user's NotBefore, makes the
// grant invalid.
func (p *Provider) activeUser(ctx context.Context, id string, authTime time.Time) (*domain.User, error) {
	u, err := p.deps.Users.GetUser(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, oauthErr(CodeInvalidGrant, "the user no longer exists")
	}
	if err != nil {
		return nil, fault.Store("get user", err)
	}
	if !u.CanSignIn() {
		return nil, oauthErr(CodeInvalidGrant, "the user's account is not active")
	}
	if authTime.Before(u.NotBefore) {
		return nil, oauthErr(CodeInvalidGrant, "the sign-in behind this grant was ended (password reset)")
	}
	return &u, nil
}

// revokeGrant revokes a grant's refresh family and every access token it
// issued (they carry its grant_id).
func (p *Provider) revokeGrant(ctx context.Context, grantID string, now time.Time) error {
	if grantID == "" {
		return nil
	}
	// The grant record goes first: a redemption in flight checks it after
	// creating its family (see refuseRevokedCodeGrant). It outlives the
	// family so a late check still sees it.
	if err := p.deps.Grants.RevokeGrant(ctx, grantID, now.Add(max(p.cfg.AccessTokenTTL, p.cfg.CodeTTL))); err != nil {
		return fault.Store("revoke grant", err)
	}
	if err := p.deps.Grants.RevokeRefreshFamily(ctx, grantID, now); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return fault.Store("revoke family", err)
	}
	return nil
}
