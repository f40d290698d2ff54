package domain

import "time"

// Session is a browser login session. The cookie holds a random secret; the
// store keys the session by that secret's hash, so a database leak does not
// leak usable cookies. SID is the public identifier put in ID tokens' sid.
type Session struct {
	Hash      []byte
	SID       string
	UserID    string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	// ClientIDs are the clients registered for back-channel logout that
	// were issued tokens in this session, each once: when the session ends,
	// each is sent a logout token (OIDC Back-Channel Logout 1.0 §2.3).
	ClientIDs []string
}

// AuthRequest is a validated authorization request waiting for the user to
// sign in or consent. The browser carries a binding secret in a cookie whose
// hash must match BindingHash, so a request id leaked or planted by another
// party cannot be completed in this browser (login CSRF, RFC 6749 §10.12).
type AuthRequest struct {
	ID                  string
	BindingHash         []byte
	CSRFToken           string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              int // -1 when absent
	LoginHint           string
	ResponseMode        string
	// UserID, AuthTime, SessionID (the public sid) and AMR name the signed-in
	// user once known: from the browser session, or from a login made during
	// this request.
	UserID    string
	AuthTime  time.Time
	SessionID string
	AMR       []string
	// DeviceCodeHash names the device grant (RFC 8628) this request asks
	// the user to approve, by the hash of its device code; nil for an
	// authorization request. Such a request has no redirect URI: once the
	// user is signed in it goes on to the device approval page.
	DeviceCodeHash []byte
	// DPoPJKT is the dpop_jkt of the request (RFC 9449 §10), passed on to
	// its code; "" for none.
	DPoPJKT string
	// Claims is the request's claims parameter (OIDC Core §5.5), as
	// RequestedClaims.String; "" for none.
	Claims string
	// ACRValues are the request's acr_values (OIDC Core §3.1.2.1), those
	// this provider knows, in the client's order; nil for none.
	ACRValues []string
	// FactorUserID names the user who gave the right password and still
	// owes a second factor (or must enrol one) before the sign-in counts;
	// "" otherwise. No session exists for them until they do.
	FactorUserID string
	// Ceremony is a WebAuthn sign-in under way for this request: the
	// library's session data, opaque here.
	Ceremony []byte
	// ReturnTo is a path of this provider (the account page) that a
	// sign-in for Calimatic itself goes back to; such a request has no
	// client and no redirect URI. "" for a client's request.
	ReturnTo string
	// Upstream is the sign-in sent to an organization's upstream provider
	// and not yet back; nil when none.
	Upstream *UpstreamAttempt
	// FailedLogins counts wrong passwords and second factors entered for
	// this request; past a few the request is dropped, so one request can't be replayed forever.
	FailedLogins int
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// HasPrompt reports whether the request carries prompt value p.
func (r *AuthRequest) HasPrompt(p string) bool {
	for _, v := range r.Prompt {
		if v == p {
			return true
		}
	}
	return false
}
