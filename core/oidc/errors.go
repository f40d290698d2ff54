package oidc

import (
	"errors"
	"fmt"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// OAuth 2.0 and OIDC error codes (RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2,
// RFC 6750 §3.1, OIDC Core §3.1.2.6, RFC 8628 §3.5).
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeServerError             = "server_error"
	CodeTemporarilyUnavailable  = "temporarily_unavailable"
	CodeInvalidToken            = "invalid_token"
	CodeInsufficientScope       = "insufficient_scope"
	CodeInvalidRedirectURI      = "invalid_redirect_uri"
	CodeInvalidClientMetadata   = "invalid_client_metadata"
	CodeLoginRequired           = "login_required"
	CodeConsentRequired         = "consent_required"
	CodeInteractionRequired     = "interaction_required"
	CodeRequestNotSupported     = "request_not_supported"
	CodeRequestURINotSupported  = "request_uri_not_supported"
	CodeUnsupportedTokenType    = "unsupported_token_type"
	CodeRateLimited             = "rate_limited"
	CodeAuthorizationPending    = "authorization_pending"
	CodeSlowDown                = "slow_down"
	CodeExpiredToken            = "expired_token"
	// RFC 9449 §5, §7.1, §8, §9.
	CodeInvalidDPoPProof = "invalid_dpop_proof"
	CodeUseDPoPNonce     = "use_dpop_nonce"
)

// Authentication schemes of a protected resource's challenge (RFC 6750 §3,
// RFC 9449 §7.1).
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = "DPoP"
)

// Error is an OAuth error: a code from the list above and a description safe
// to show the client. The HTTP adapter chooses the status from the code.
type Error struct {
	Code        string
	Description string
	// BasicAuth is set on invalid_client when the client used HTTP Basic, so
	// the answer carries WWW-Authenticate (RFC 6749 §5.2).
	BasicAuth bool
	// RateLimit is set on rate_limited, for Retry-After and X-RateLimit-*.
	RateLimit *domain.RateDecision
	// Challenge is set on the errors of a protected resource (userinfo):
	// the scheme, SchemeBearer or SchemeDPoP, whose WWW-Authenticate
	// challenge the answer carries (RFC 6750 §3, RFC 9449 §7.1).
	Challenge string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// The account page's refusals (account_apps.go), compared with errors.Is.
var (
	// ErrNotSignedIn is a browser with no live session: it ended between
	// the page and the form, and the adapter sends the browser to sign in.
	ErrNotSignedIn = &Error{Code: CodeLoginRequired, Description: "Sign in to your account first."}
	// ErrAppNotConnected is an app the signed-in user gave no access to:
	// revoked already, never connected, or not an app at all.
	ErrAppNotConnected = &Error{Code: CodeInvalidRequest, Description: "That app has no access to your account: it may have been removed already."}
)
