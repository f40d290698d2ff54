package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sort"
)

// RequestedClaims is an authorization request's claims parameter (OIDC
// Core §5.5): individual claims asked for in the UserInfo response and in
// the ID token, beyond what the scopes release. It travels from the
// authorization request to the code and the refresh family as its
// normalized JSON (String), the same on every backend.
type RequestedClaims struct {
	UserInfo map[string]*ClaimRequest `json:"userinfo,omitempty"`
	IDToken  map[string]*ClaimRequest `json:"id_token,omitempty"`
}

// ClaimRequest is how one claim is asked for (OIDC Core §5.5.1); nil (the
// JSON null) asks for it in the default manner.
type ClaimRequest struct {
	Essential bool              `json:"essential,omitempty"`
	Value     json.RawMessage   `json:"value,omitempty"`
	Values    []json.RawMessage `json:"values,omitempty"`
}

// Bounds on a claims parameter.
const (
	maxClaimsParamLen = 4096
	maxClaimsAsked    = 40
)

// ParseRequestedClaims reads a claims parameter. "" is no request. Members
// other than userinfo and id_token are ignored, as §5.5 allows; a member
// that is not an object, or a claim whose request is neither null nor an
// object of essential (a boolean), value and values (an array), is an
// error.
func ParseRequestedClaims(raw string) (RequestedClaims, error) {
	var rc RequestedClaims
	if raw == "" {
		return rc, nil
	}
	if len(raw) > maxClaimsParamLen {
		return rc, errors.New("claims is longer than 4096 bytes")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil || top == nil {
		return rc, errors.New("claims must be a JSON object (OIDC Core §5.5)")
	}
	var err error
	if rc.UserInfo, err = parseClaimMember(top["userinfo"]); err != nil {
		return rc, errors.New("claims.userinfo " + err.Error())
	}
	if rc.IDToken, err = parseClaimMember(top["id_token"]); err != nil {
		return rc, errors.New("claims.id_token " + err.Error())
	}
	if len(rc.UserInfo)+len(rc.IDToken) > maxClaimsAsked {
		return rc, errors.New("claims asks for more than 40 claims")
	}
	return rc, nil
}

func parseClaimMember(raw json.RawMessage) (map[string]*ClaimRequest, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, errors.New("must be an object of claim names")
	}
	out := make(map[string]*ClaimRequest, len(m))
	for name, v := range m {
		if name == "" || len(name) > 100 {
			return nil, errors.New("has an empty or overlong claim name")
		}
		if bytes.Equal(v, []byte("null")) {
			out[name] = nil
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(v, &fields) != nil {
			return nil, errors.New("asks for " + name + " with neither null nor an object")
		}
		var r ClaimRequest
		if e, ok := fields["essential"]; ok && json.Unmarshal(e, &r.Essential) != nil {
			return nil, errors.New("asks for " + name + " with an essential that is not a boolean")
		}
		if vs, ok := fields["values"]; ok && json.Unmarshal(vs, &r.Values) != nil {
			return nil, errors.New("asks for " + name + " with values that are not an array")
		}
		r.Value = fields["value"]
		out[name] = &r
	}
	return out, nil
}

// String is the normalized JSON of rc, "" when it asks for nothing.
func (rc RequestedClaims) String() string {
	if len(rc.UserInfo) == 0 && len(rc.IDToken) == 0 {
		return ""
	}
	b, _ := json.Marshal(rc) // maps marshal in key order: one form per request
	return string(b)
}

// Names lists the claims asked for in m, sorted.
func Names(m map[string]*ClaimRequest) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// StandardClaimScope returns the standard scope (OIDC Core §5.4) that
// releases claim, "" for a claim no standard scope releases (sub, which
// is always there, and the extended scopes' claims, which need an
// administrator's approval and are never released by name).
func StandardClaimScope(claim string) string {
	for _, s := range []string{ScopeProfile, ScopeEmail, ScopeAddress, ScopePhone} {
		if slices.Contains(ScopeClaims[s], claim) {
			return s
		}
	}
	return ""
}
