package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

var (
	// errForeignDevice: the device code was issued to another client.
	errForeignDevice = errors.New("device code of another client")
	// errPollSettled: the poll found the grant denied, expired or used, and
	// has nothing to store.
	errPollSettled = errors.New("device grant settled")
)

// exchangeDevice runs the device_code grant (RFC 8628 §3.4–3.5). One poll
// is one atomic update of the grant: it records the poll time (slow_down
// needs the last one), and redeems an approved grant, so of concurrent
// polls of an approved grant exactly one gets tokens.
func (p *Provider) exchangeDevice(ctx context.Context, client *domain.Client, req TokenRequest) (TokenResponse, error) {
	if req.DeviceCode == "" || len(req.DeviceCode) > 512 {
		return TokenResponse{}, oauthErr(CodeInvalidRequest, "device_code is required")
	}
	now := p.now()
	hash := domain.HashToken(req.DeviceCode)
	// Polls of one device code have an allowance of their own (the
	// interval and slow_down pace an honest device well within it); a code
	// that is unknown or another client's is counted against the client's
	// allowance as well, below, so made-up codes stay bounded.
	limit, err := p.throttleClient(ctx, p.cfg.TokenLimit, client.ID+" device "+base64.RawURLEncoding.EncodeToString(hash[:12]))
	if err != nil {
		return TokenResponse{}, err
	}
	resp, err := p.pollDevice(ctx, client, req, hash, now)
	if e, ok := AsError(err); ok && e.Code == CodeInvalidGrant && e.Description == descUnknownDevice {
		if _, lerr := p.throttleClient(ctx, p.cfg.TokenLimit, client.ID); lerr != nil {
			return TokenResponse{}, lerr
		}
	}
	resp.RateLimit = limit
	return resp, err
}

// descUnknownDevice describes a device code that is unknown, expired away,
// or another client's: the caller learns nothing about which.
const descUnknownDevice = "the device code is invalid or expired"

// pollDevice is one poll of the device code whose hash is hash.
func (p *Provider) pollDevice(ctx context.Context, client *domain.Client, req TokenRequest, hash []byte, now time.Time) (TokenResponse, error) {
	var poll domain.DevicePoll
	g, err := p.deps.Devices.UpdateDeviceGrant(ctx, hash, func(g *domain.DeviceGrant) error {
		// RFC 6749 §5.2 invalid_grant: a device code is bound to its client.
		// Another client's poll changes nothing, so it cannot slow the
		// device down or spend its grant.
		if g.ClientID != client.ID {
			return errForeignDevice
		}
		poll = g.Poll(now)
		if poll == domain.PollDenied || poll == domain.PollExpired || poll == domain.PollUsed {
			return errPollSettled
		}
		return nil
	})
	switch {
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, errForeignDevice):
		return TokenResponse{}, oauthErr(CodeInvalidGrant, descUnknownDevice)
	case err != nil && !errors.Is(err, errPollSettled):
		return TokenResponse{}, fault.Store("poll device grant", err)
	}
	switch poll {
	case domain.PollPending:
		return TokenResponse{}, oauthErr(CodeAuthorizationPending, "the user has not yet approved the request")
	case domain.PollSlowDown:
		return TokenResponse{}, oauthErr(CodeSlowDown, "polling too fast; wait at least %d seconds between requests", int64(g.Interval.Seconds()))
	case domain.PollDenied:
		return TokenResponse{}, oauthErr(CodeAccessDenied, "the user denied the request")
	case domain.PollExpired:
		return TokenResponse{}, oauthErr(CodeExpiredToken, "the device code has expired; start a new device authorization")
	case domain.PollUsed:
		return TokenResponse{}, oauthErr(CodeInvalidGrant, "the device code was already used")
	}
	return p.issueForUser(ctx, client, domain.AuthCode{
		ClientID: g.ClientID, UserID: g.UserID, Scopes: g.Scopes, AuthTime: g.AuthTime,
		SessionID: g.SessionID, AMR: g.AMR, GrantID: g.GrantID,
	}, req.dpopJKT, now)
}
