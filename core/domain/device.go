package domain

import (
	"slices"
	"strings"
	"time"
)

// DeviceStatus is where a device grant is in its life.
type DeviceStatus string

// A device grant is pending until the user decides; an approved grant is
// redeemed by the first poll that sees it approved.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
	DeviceRedeemed DeviceStatus = "redeemed"
)

// DeviceGrant is a device authorization request (RFC 8628 §3.1–3.5): a
// device polls with the device code while the user approves or denies it
// in a browser, where they typed the user code. Only the hashes of both
// codes are stored.
type DeviceGrant struct {
	DeviceCodeHash []byte
	UserCodeHash   []byte
	ClientID       string
	Scopes         []string
	Status         DeviceStatus
	// Interval is the least time between two polls; a poll sooner is told
	// slow_down and the interval grows (RFC 8628 §3.5).
	Interval     time.Duration
	LastPolledAt time.Time // zero before the first poll
	// UserID, AuthTime, SessionID (the public sid of the browser session
	// that approved), AMR and GrantID are set at approval: what the tokens
	// are issued from, as an authorization code carries them.
	UserID    string
	AuthTime  time.Time
	SessionID string
	AMR       []string
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// DevicePoll is what a poll of the token endpoint finds (RFC 8628 §3.5).
type DevicePoll int

const (
	// PollPending: the user has not decided yet (authorization_pending).
	PollPending DevicePoll = iota
	// PollSlowDown: the device polled before its interval was up (slow_down).
	PollSlowDown
	// PollDenied: the user denied the request (access_denied).
	PollDenied
	// PollExpired: the device code expired (expired_token).
	PollExpired
	// PollUsed: the device code was redeemed before (invalid_grant).
	PollUsed
	// PollIssue: the user approved and this poll redeems the grant.
	PollIssue
)

// SlowDownStep is how much a slow_down adds to the interval (RFC 8628 §3.5).
const SlowDownStep = 5 * time.Second

// Poll applies one poll at now and says what it found. It changes the
// grant as the poll must be stored: the poll time while pending (and a
// longer interval after slow_down), the redemption when approved.
func (g *DeviceGrant) Poll(now time.Time) DevicePoll {
	switch {
	case g.Status == DeviceRedeemed:
		return PollUsed
	case !now.Before(g.ExpiresAt):
		return PollExpired
	case g.Status == DeviceDenied:
		return PollDenied
	case g.Status == DeviceApproved:
		g.Status = DeviceRedeemed
		g.LastPolledAt = now
		return PollIssue
	}
	early := !g.LastPolledAt.IsZero() && now.Sub(g.LastPolledAt) < g.Interval
	g.LastPolledAt = now
	if early {
		g.Interval += SlowDownStep
		return PollSlowDown
	}
	return PollPending
}

// Decidable reports whether the user may still approve or deny the grant at now.
func (g *DeviceGrant) Decidable(now time.Time) bool {
	return g.Status == DevicePending && now.Before(g.ExpiresAt)
}

// CloneDeviceGrant returns g with its slices copied.
func CloneDeviceGrant(g DeviceGrant) DeviceGrant {
	g.DeviceCodeHash = slices.Clone(g.DeviceCodeHash)
	g.UserCodeHash = slices.Clone(g.UserCodeHash)
	g.Scopes = slices.Clone(g.Scopes)
	g.AMR = slices.Clone(g.AMR)
	return g
}

// UserCodeAlphabet is what user codes are made of: consonants only, so that
// no word is spelled and nothing reads as another character (no 0/O, 1/I),
// as RFC 8628 §6.1 suggests. 20 letters: 20^8 codes of 8 letters, about
// 34.6 bits.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLen is how many letters a user code has.
const UserCodeLen = 8

// NormalizeUserCode reads a user code as typed: case, dashes and spaces
// do not matter (RFC 8628 §6.1). It returns the code's letters and whether
// they can be a user code at all.
func NormalizeUserCode(typed string) (string, bool) {
	if len(typed) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r < 128 && strings.IndexByte(UserCodeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != UserCodeLen {
		return "", false
	}
	return b.String(), true
}

// FormatUserCode shows normalized code letters as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// UserCodeFrom turns random bytes into user code letters, dropping the
// bytes that would bias the choice (rejection sampling: 240 is the largest
// multiple of 20 under 256). It returns false when the bytes ran out first.
func UserCodeFrom(random []byte) (string, bool) {
	const n = byte(len(UserCodeAlphabet))
	limit := 256 - 256%int(n)
	var b strings.Builder
	for _, x := range random {
		if int(x) >= limit {
			continue
		}
		b.WriteByte(UserCodeAlphabet[x%n])
		if b.Len() == UserCodeLen {
			return b.String(), true
		}
	}
	return "", false
}
