package oidc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// The device authorization grant (RFC 8628): the device authorization
// endpoint, and the page where the user enters the user code and approves.
// The token endpoint's side is token_device.go.

// DefaultDeviceCodeTTL is how long a device authorization waits for the
// user when the configuration says nothing.
const DefaultDeviceCodeTTL = 10 * time.Minute

// devicePollInterval is the least time between a device's polls at first
// (RFC 8628 §3.2 interval: 5 seconds is its default).
const devicePollInterval = 5 * time.Second

// StepDevice names the device approval page, shown for a pending request
// once its user is signed in.
const StepDevice = "device"

// DeviceAuthorizationRequest is a device authorization request (RFC 8628 §3.1).
type DeviceAuthorizationRequest struct {
	Scope  string
	Client ClientCredentials
}

// DeviceAuthorization is the device authorization response (RFC 8628 §3.2).
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// DeviceAuthorize handles the device authorization endpoint. The client
// authenticates as at the token endpoint (public clients send their id);
// the scopes are checked as at the authorization endpoint.
func (p *Provider) DeviceAuthorize(ctx context.Context, req DeviceAuthorizationRequest) (DeviceAuthorization, error) {
	client, err := p.authenticateClient(ctx, req.Client, PathDeviceAuthorization)
	if err != nil {
		return DeviceAuthorization{}, err
	}
	g, _ := grantFor(domain.GrantDeviceCode)
	if !client.AllowsGrant(g.typ) {
		return DeviceAuthorization{}, oauthErr(CodeUnauthorizedClient, "the client is not registered for the %s grant", g.typ)
	}
	if why := g.refuses(client); why != "" {
		return DeviceAuthorization{}, oauthErr(CodeUnauthorizedClient, "%s", why)
	}
	if len(req.Scope) > maxParamLen {
		return DeviceAuthorization{}, oauthErr(CodeInvalidRequest, "scope is too long")
	}
	scopes, serr := p.grantableScopes(client, req.Scope)
	if serr != nil {
		return DeviceAuthorization{}, serr
	}
	now := p.now()
	// A user code may collide with a live one (1 in 20^8 per live code):
	// draw again.
	for range 4 {
		userCode, ok := domain.UserCodeFrom(p.deps.Random.Bytes(32))
		if !ok {
			continue
		}
		deviceCode := p.deps.Random.Token(32)
		err := p.deps.Devices.CreateDeviceGrant(ctx, domain.DeviceGrant{
			DeviceCodeHash: domain.HashToken(deviceCode), UserCodeHash: domain.HashToken(userCode),
			ClientID: client.ID, Scopes: scopes, Status: domain.DevicePending, Interval: devicePollInterval,
			CreatedAt: now, ExpiresAt: now.Add(p.cfg.DeviceCodeTTL),
		})
		if errors.Is(err, domain.ErrAlreadyExists) {
			continue
		}
		if err != nil {
			return DeviceAuthorization{}, fault.Store("create device grant", err)
		}
		shown := domain.FormatUserCode(userCode)
		verify := p.cfg.Issuer + PathDevice
		return DeviceAuthorization{
			DeviceCode: deviceCode, UserCode: shown, VerificationURI: verify,
			VerificationURIComplete: verify + "?" + url.Values{"user_code": {shown}}.Encode(),
			ExpiresIn:               int64(p.cfg.DeviceCodeTTL / time.Second), Interval: int64(devicePollInterval / time.Second),
		}, nil
	}
	return DeviceAuthorization{}, fault.Store("create device grant", domain.ErrConflict)
}

// UserCodeOutcome is what follows an entered user code: the next step of
// Outcome, or the code form again with Retry's message (Throttled when it
// is about too many attempts).
type UserCodeOutcome struct {
	Outcome
	Retry     string
	Throttled bool
}

const (
	retryBadCode  = "That code is not valid or has expired. Check the code on your device and try again."
	retryUsedCode = "That code was already used. Start again on your device to get a new one."
)

var pageDeviceGone = oauthErr(CodeInvalidGrant, "This code has expired or was already used. Start again on your device to get a new one.")

// EnterUserCode looks up the user code typed on the device page (RFC 8628
// §3.3) and starts a pending request for its grant: to the login page when
// the browser is not signed in, then to the approval page. Lookups are
// throttled per IP and in all, as user codes are short enough to guess.
func (p *Provider) EnterUserCode(ctx context.Context, typed string, b Browser) (UserCodeOutcome, error) {
	code, ok := domain.NormalizeUserCode(typed)
	if !ok {
		return UserCodeOutcome{Retry: "Enter the 8-letter code shown on your device."}, nil
	}
	if msg, err := p.throttleUserCode(ctx, b.IP); err != nil || msg != "" {
		return UserCodeOutcome{Retry: msg, Throttled: true}, err
	}
	now := p.now()
	g, err := p.deps.Devices.GetDeviceGrantByUserCode(ctx, domain.HashToken(code), now)
	if errors.Is(err, domain.ErrNotFound) {
		return UserCodeOutcome{Retry: retryBadCode}, nil
	}
	if err != nil {
		return UserCodeOutcome{}, fault.Store("get device grant by user code", err)
	}
	if !g.Decidable(now) {
		return UserCodeOutcome{Retry: retryUsedCode}, nil
	}
	r := domain.AuthRequest{ClientID: g.ClientID, Scopes: g.Scopes, MaxAge: -1, DeviceCodeHash: g.DeviceCodeHash}
	sess, user, err := p.signedIn(ctx, b)
	if err != nil {
		return UserCodeOutcome{}, err
	}
	if sess == nil {
		out, err := p.pend(ctx, r, b, StepLogin)
		return UserCodeOutcome{Outcome: out}, err
	}
	r.UserID, r.AuthTime, r.SessionID, r.AMR = user.ID, sess.AuthTime, sess.SID, sess.AMR
	if err := p.touchSession(ctx, sess); err != nil {
		return UserCodeOutcome{}, err
	}
	out, err := p.pend(ctx, r, b, StepDevice)
	return UserCodeOutcome{Outcome: out}, err
}

// throttleUserCode counts a user code lookup per address and in all, and
// returns a message when either is over its limit. A limiter outage fails
// closed (ports.RateLimiter).
func (p *Provider) throttleUserCode(ctx context.Context, ip string) (string, error) {
	now := p.now()
	type check struct {
		key  string
		rule domain.RateRule
	}
	// The address first: a guess it refuses is not counted against
	// everyone's allowance, so one address cannot spend it and lock every
	// user out.
	var checks []check
	if network := domain.IPBucket(ip); network != "" {
		checks = append(checks, check{network, p.cfg.UserCodeIP})
	}
	checks = append(checks, check{"all", p.cfg.UserCodeGlobal})
	for _, check := range checks {
		d, err := ratelimit.Allow(ctx, p.deps.Limiter, check.key, check.rule, now)
		if err != nil {
			return "", err
		}
		if !d.Allowed {
			mins := int(math.Ceil(d.RetryAfter.Minutes()))
			return fmt.Sprintf("Too many codes were tried. Try again in %d minute(s).", max(mins, 1)), nil
		}
	}
	return "", nil
}

// deviceUser returns the signed-in user a pending device request was
// completed with; a page instead when r is not a device request, or the
// browser's session is not the one it was completed with.
func (p *Provider) deviceUser(ctx context.Context, r *domain.AuthRequest, b Browser) (*domain.User, *Error, error) {
	if r.DeviceCodeHash == nil {
		return nil, pageExpired, nil
	}
	user, err := p.requestUser(ctx, r, b)
	if err != nil || user == nil {
		return nil, pageExpired, err
	}
	return user, nil, nil
}

// DevicePrompt returns what the device approval page shows: the client,
// the scopes and the signed-in user.
func (p *Provider) DevicePrompt(ctx context.Context, id string, b Browser) (Prompt, *Error, error) {
	r, pr, page, err := p.pendingPrompt(ctx, id, b)
	if err != nil || page != nil {
		return Prompt{}, page, err
	}
	user, page, err := p.deviceUser(ctx, r, b)
	if err != nil || page != nil {
		return Prompt{}, page, err
	}
	now := p.now()
	g, err := p.deps.Devices.GetDeviceGrant(ctx, r.DeviceCodeHash, now)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !g.Decidable(now) {
		return Prompt{}, pageDeviceGone, nil
	}
	if err != nil {
		return Prompt{}, nil, fault.Store("get device grant", err)
	}
	pr.UserEmail = user.Email
	return pr, nil, nil
}

// DeviceResult is how a decision on the device page ended. Page, when set,
// is an error to show; otherwise Approved says what the user chose.
type DeviceResult struct {
	Approved   bool
	ClientName string
	Page       *Error
}

var errDeviceDecided = errors.New("device grant no longer pending")

// DecideDevice records the user's decision on a pending device request.
// Approval is held to the rules of the authorization endpoint: the user
// is signed in and active (requestUser), and licensed for a client that
// requires it (requireLicense); a refusal by a rule denies the grant, so
// the device hears access_denied as an app would on its redirect URI.
// Deciding is the grant's one atomic step from pending, so a form posted
// twice, or the same code approved in two browsers, decides once.
func (p *Provider) DecideDevice(ctx context.Context, in ConsentInput, b Browser) (DeviceResult, error) {
	r, page, err := p.loadPending(ctx, in.Interaction, b)
	if err != nil || page != nil {
		return DeviceResult{Page: page}, err
	}
	if !boundTo(r, b, in.CSRFToken) {
		return DeviceResult{Page: pageForeign}, nil
	}
	user, page, err := p.deviceUser(ctx, r, b)
	if err != nil || page != nil {
		return DeviceResult{Page: page}, err
	}
	client, err := p.deps.Clients.GetClient(ctx, r.ClientID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !client.Active() {
		return DeviceResult{Page: pageExpired}, nil
	}
	if err != nil {
		return DeviceResult{}, fault.Store("get client", err)
	}
	allow, refusal := in.Allow, (*Error)(nil)
	if allow {
		if err := p.requireLicense(ctx, &client, user.ID, CodeAccessDenied); err != nil {
			e, ok := AsError(err)
			if !ok {
				return DeviceResult{}, err
			}
			allow, refusal = false, e
		}
	}
	now := p.now()
	if allow {
		err := p.deps.Grants.PutConsent(ctx, domain.Consent{
			UserID: user.ID, ClientID: client.ID, Scopes: r.Scopes, CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			return DeviceResult{}, fault.Store("put consent", err)
		}
	}
	grantID := p.deps.Random.Token(16)
	_, err = p.deps.Devices.UpdateDeviceGrant(ctx, r.DeviceCodeHash, func(g *domain.DeviceGrant) error {
		if !g.Decidable(now) {
			return errDeviceDecided
		}
		g.Status = domain.DeviceDenied
		if allow {
			g.Status = domain.DeviceApproved
			g.UserID, g.AuthTime, g.SessionID, g.AMR, g.GrantID = r.UserID, r.AuthTime, r.SessionID, r.AMR, grantID
		}
		return nil
	})
	if _, derr := p.deps.AuthRequests.DeleteAuthRequest(ctx, r.ID); derr != nil {
		return DeviceResult{}, fault.Store("delete auth request", derr)
	}
	switch {
	case errors.Is(err, errDeviceDecided) || errors.Is(err, domain.ErrNotFound):
		return DeviceResult{Page: pageDeviceGone}, nil
	case err != nil:
		return DeviceResult{}, fault.Store("decide device grant", err)
	case refusal != nil:
		return DeviceResult{Page: refusal}, nil
	}
	return DeviceResult{Approved: allow, ClientName: client.Name}, nil
}
