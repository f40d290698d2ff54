package upstream

import "errors"

// ErrInsecure: an issuer or endpoint is plain http and Options.RequireHTTPS
// forbids it. The provider's configuration is at fault, not the upstream's
// availability.
var ErrInsecure = errors.New("upstream: https is required")

// OAuthError is the token endpoint's refusal (RFC 6749 §5.2): the code was
// already redeemed or has expired (invalid_grant), the client credentials
// are wrong (invalid_client), and the like. Description is the upstream's
// own text, for the operator's log.
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	if e.Description == "" {
		return "upstream refused the code: " + e.Code
	}
	return "upstream refused the code: " + e.Code + ": " + e.Description
}
