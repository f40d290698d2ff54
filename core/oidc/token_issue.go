package oidc

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// issueForUser issues the tokens of an authorization a user gave and the
// client just spent: a redeemed authorization code, or an approved device
// grant, which carries the same facts in the same shape (RFC 8628 §3.5:
// the device gets the token response of RFC 6749 §5.1). Both grants
// answer alike: the user must still be active and licensed, the sign-in
// session that gave the authorization must still be live, a refresh token
// comes with the refresh_token grant (the grant is recorded either way, to
// be revocable), and a grant revoked meanwhile issues nothing.
//
// jkt is the thumbprint of the request's DPoP proof key, "" without one:
// the access token, and a public client's refresh family, are bound to it
// (RFC 9449 §5).
func (p *Provider) issueForUser(ctx context.Context, client *domain.Client, code domain.AuthCode, jkt string, now time.Time) (TokenResponse, error) {
	user, err := p.activeUser(ctx, code.UserID, code.AuthTime)
	if err != nil {
		return TokenResponse{}, err
	}
	if err := p.requireLicense(ctx, client, user.ID, CodeInvalidGrant); err != nil {
		return TokenResponse{}, err
	}
	if err := p.requireCodeSession(ctx, client, code, now); err != nil {
		return TokenResponse{}, err
	}
	is := issuance{
		client: client, user: user, scopes: code.Scopes, grantID: code.GrantID,
		authTime: code.AuthTime, sid: code.SessionID, amr: code.AMR, nonce: code.Nonce, dpopJKT: jkt,
		claims: storedClaims(code.Claims),
	}
	if is.refresh, err = p.createCodeFamily(ctx, client, user, code, jkt, now); err != nil {
		return TokenResponse{}, err
	}
	if err := p.refuseRevokedCodeGrant(ctx, code.GrantID, now); err != nil {
		return TokenResponse{}, err
	}
	return p.mint(ctx, is)
}
