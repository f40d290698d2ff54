package domain

import (
	"encoding/json"
	"time"
)

// EventBackchannelLogout reports that a browser session ended while clients
// registered for back-channel logout held tokens from it. It is not one of
// the guide's webhook events: no subscription can ask for it. The webhook
// dispatcher turns it into one DeliveryBackchannelLogout per client. It
// travels through the outbox so that it is stored in the unit of work that
// ended the session, and survives a crash right after.
const EventBackchannelLogout = "oidc.backchannel_logout"

// Keys of a back-channel logout event's data.
const (
	logoutKeySID     = "sid"
	logoutKeySubject = "sub"
	logoutKeyClients = "clientIds"
)

// LogoutEvent is the event that reports the end of session s, or false when
// no client is to be told (none registered for back-channel logout got
// tokens in it).
func LogoutEvent(id string, at time.Time, s Session) (Event, bool) {
	if len(s.ClientIDs) == 0 {
		return Event{}, false
	}
	return Event{
		ID: id, Type: EventBackchannelLogout, OccurredAt: at, UserID: s.UserID,
		Data: []Field{
			{Key: logoutKeySID, Value: s.SID},
			{Key: logoutKeySubject, Value: s.UserID},
			{Key: logoutKeyClients, Value: append([]string(nil), s.ClientIDs...)},
		},
	}, true
}

// LogoutNotice is what one client is told of one ended session: the claims
// its logout token is made from (OIDC Back-Channel Logout 1.0 §2.4). The
// token itself is signed at each attempt, so that a retry carries a fresh
// iat and exp.
type LogoutNotice struct {
	ClientID string `json:"client_id"`
	Subject  string `json:"sub"`
	SID      string `json:"sid"`
}

// LogoutNotices reads a back-channel logout event: one notice per client it
// names. The lists come back from an outbox as []string or as []any,
// depending on the backend.
func LogoutNotices(e Event) []LogoutNotice {
	var sid, sub string
	var clients []string
	for _, f := range e.Data {
		switch f.Key {
		case logoutKeySID:
			sid, _ = f.Value.(string)
		case logoutKeySubject:
			sub, _ = f.Value.(string)
		case logoutKeyClients:
			clients = stringList(f.Value)
		}
	}
	out := make([]LogoutNotice, 0, len(clients))
	for _, c := range clients {
		out = append(out, LogoutNotice{ClientID: c, Subject: sub, SID: sid})
	}
	return out
}

func stringList(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Encode is the notice as a delivery's payload.
func (n LogoutNotice) Encode() []byte {
	b, _ := json.Marshal(n) // three strings: cannot fail
	return b
}

// DecodeLogoutNotice reads a delivery's payload back.
func DecodeLogoutNotice(b []byte) (LogoutNotice, error) {
	var n LogoutNotice
	err := json.Unmarshal(b, &n)
	return n, err
}
