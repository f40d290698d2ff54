package oidcflow

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

var userinfoChecks = []check{
	{"userinfo releases exactly the claims of the requested scopes", userinfoClaimsPerScope},
	{"the profile and address claims come from the home organization's profile", userinfoProfileClaims},
	{"userinfo's sub is a UUID, updated_at a number and email_verified a boolean", userinfoTypes},
	{"userinfo agrees with go-oidc's UserInfo and the ID token", userinfoGoOIDC},
	{"userinfo accepts POST with the token in the form", userinfoPost},
	{"the claims parameter releases single claims where they were asked for (OIDC Core §5.5)", userinfoClaimsParameter},
	{"userinfo refuses a bad token with 401 and a Bearer invalid_token challenge", userinfoBadToken},
	{"userinfo refuses an ID token as an access token", userinfoIDToken},
	{"userinfo without a token is 401 with a Bearer challenge", userinfoNoToken},
}

// Claims per scope: the guide's §2 table, plus phone_number_verified with
// phone (OIDC Core §5.4). picture is released only when the user has one.
var scopeClaims = map[string][]string{
	"openid":  {"sub"},
	"profile": {"name", "given_name", "family_name", "updated_at"},
	"email":   {"email", "email_verified"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// The home organization's profile feeds the other OIDC Core §5.1 claims
// where the user has them (homeProfile).
var optionalClaims = map[string]string{
	"picture": "profile", "middle_name": "profile", "nickname": "profile", "profile": "profile",
	"zoneinfo": "profile", "locale": "profile", "address": "address",
}

// homeProfile is what the suite's user's school keeps about them.
var homeProfile = domain.OrgProfile{
	MiddleName: "Quinn", NickName: "Jay", ProfileURL: "https://school.example/~jane",
	Timezone: "America/Chicago", Locale: "en-US",
	Addresses: []domain.Address{
		{Type: "home", StreetAddress: "9 Elm St", Locality: "Shelbyville", Country: "US"},
		{Type: "work", Primary: true, StreetAddress: "100 Main St", Locality: "Springfield", Region: "IL",
			PostalCode: "62701", Country: "US", Formatted: "100 Main St\nSpringfield, IL 62701\nUS"},
	},
}

// userinfoProfileClaims: the §5.1 claims the account holds come from its
// home organization's profile, and the address scope releases the primary
// address (OIDC Core §5.1.1).
func userinfoProfileClaims(t *testing.T, s *suite) {
	require.NotNil(t, s.env.SetHomeProfile, "Env.SetHomeProfile is required")
	c := s.register(t, func(m metadata) { m["scope"] = "openid profile address" })
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile", "address"))
	got := s.userinfo(t, tok.AccessToken).JSON(t)
	assert.Equal(t, "Quinn", got["middle_name"])
	assert.Equal(t, "Jay", got["nickname"])
	assert.Equal(t, "https://school.example/~jane", got["profile"])
	assert.Equal(t, "America/Chicago", got["zoneinfo"])
	assert.Equal(t, "en-US", got["locale"])
	assert.Equal(t, map[string]any{
		"formatted": "100 Main St\nSpringfield, IL 62701\nUS", "street_address": "100 Main St",
		"locality": "Springfield", "region": "IL", "postal_code": "62701", "country": "US",
	}, got["address"], "the primary address")
	id := idClaims(t, tok)
	assert.Equal(t, got["address"], id["address"], "the ID token carries the same address")

	tok = s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile"))
	assert.NotContains(t, s.userinfo(t, tok.AccessToken).JSON(t), "address", "no address without its scope")
}

func userinfoClaimsPerScope(t *testing.T, s *suite) {
	c := s.register(t, nil)
	for _, scopes := range [][]string{
		{"openid"},
		{"openid", "email"},
		{"openid", "profile"},
		{"openid", "profile", "email"},
		{"openid", "phone"},
		{"openid", "profile", "email", "phone"},
	} {
		t.Run(strings.Join(scopes, " "), func(t *testing.T) {
			tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, scopes...))
			resp := s.userinfo(t, tok.AccessToken)
			require.Equal(t, http.StatusOK, resp.Status, "body %q", resp.Body)
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			got := resp.JSON(t)
			var want []string
			for _, sc := range scopes {
				want = append(want, scopeClaims[sc]...)
			}
			keys := slices.Collect(maps.Keys(got))
			for k, scope := range optionalClaims {
				if slices.Contains(scopes, scope) {
					keys = slices.DeleteFunc(keys, func(x string) bool { return x == k })
				}
			}
			assert.ElementsMatch(t, want, keys, "exactly the scopes' claims")
			if !slices.Contains(scopes, "phone") {
				assert.NotContains(t, got, "phone_number", "no phone without the phone scope")
			}
		})
	}
}

func userinfoTypes(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile", "email", "phone"))
	got := s.userinfo(t, tok.AccessToken).JSON(t)
	sub, _ := got["sub"].(string)
	assert.True(t, uuidPattern.MatchString(sub), "sub %q is a UUID", sub)
	assert.IsType(t, float64(0), got["updated_at"], "updated_at is a JSON number")
	assert.Greater(t, got["updated_at"], float64(1_000_000_000), "updated_at is in seconds since the epoch")
	assert.IsType(t, true, got["email_verified"])
	assert.IsType(t, true, got["phone_number_verified"])
	assert.Equal(t, s.env.Email, got["email"])
	phone, _ := got["phone_number"].(string)
	assert.True(t, strings.HasPrefix(phone, "+"), "phone_number %q is E.164", phone)
	assert.Equal(t, tok.IDToken.Subject, sub, "userinfo and the ID token name the same subject")
}

func userinfoGoOIDC(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile", "email"))
	info, err := s.provider.UserInfo(s.ctx, oauth2.StaticTokenSource(tok.Token))
	require.NoError(t, err)
	assert.Equal(t, tok.IDToken.Subject, info.Subject)
	assert.Equal(t, s.env.Email, info.Email)
	assert.True(t, info.EmailVerified)
	var idClaims, uiClaims map[string]any
	require.NoError(t, tok.IDToken.Claims(&idClaims))
	require.NoError(t, info.Claims(&uiClaims))
	for k, v := range uiClaims {
		assert.Equal(t, v, idClaims[k], "the ID token carries the same %s", k)
	}
}

func userinfoPost(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "email"))
	resp := s.postForm(t, pathUserInfo, url.Values{"access_token": {tok.AccessToken}}, nil)
	require.Equal(t, http.StatusOK, resp.Status, "body %q", resp.Body)
	assert.Equal(t, s.env.Email, resp.JSON(t)["email"])

	req := s.newRequest(t, http.MethodPost, pathUserInfo, "", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp = s.send(t, req)
	require.Equal(t, http.StatusOK, resp.Status, "POST with the header")
}

func userinfoBadToken(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	parts := strings.Split(tok.AccessToken, ".")
	require.Len(t, parts, 3)
	tampered := parts[0] + "." + parts[1] + "." + flipMiddle(parts[2])
	for name, bad := range map[string]string{
		"garbage":              "not-a-token",
		"a tampered signature": tampered,
		"an unsigned token":    parts[0] + "." + parts[1] + ".",
		"a very long token":    strings.Repeat("a", 9000),
	} {
		t.Run(name, func(t *testing.T) {
			requireInvalidToken(t, s.userinfo(t, bad))
		})
	}
}

// flipMiddle changes a base64url character in the middle of s. (The last
// one may carry only padding bits, which decoders ignore.)
func flipMiddle(s string) string {
	if s == "" {
		return "A"
	}
	i := len(s) / 2
	repl := byte('A')
	if s[i] == 'A' {
		repl = 'B'
	}
	return s[:i] + string(repl) + s[i+1:]
}

func userinfoIDToken(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	requireInvalidToken(t, s.userinfo(t, tok.RawID))
	s.requireInactive(t, c, tok.RawID, "an ID token")
}

func userinfoNoToken(t *testing.T, s *suite) {
	resp := s.get(t, pathUserInfo)
	assert.Equal(t, http.StatusUnauthorized, resp.Status)
	assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"), "RFC 6750 §3")
}

// userinfoClaimsParameter: with scope openid alone, email asked for at
// UserInfo and name asked for in the ID token come there and only there;
// the access token's scope stays openid.
func userinfoClaimsParameter(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c, "openid")
	r.Extra["claims"] = `{"userinfo":{"email":{"essential":true}},"id_token":{"name":null}}`
	tok := s.signInTokens(t, s.signedInAgent(t), r)
	got := s.userinfo(t, tok.AccessToken).JSON(t)
	assert.NotEmpty(t, got["email"], "asked for at UserInfo")
	assert.NotContains(t, got, "name", "asked for in the ID token only")
	id := idClaims(t, tok)
	assert.NotEmpty(t, id["name"], "asked for in the ID token")
	assert.NotContains(t, id, "email", "asked for at UserInfo only")
	assert.Equal(t, "openid", tok.Extra("scope"), "the claims parameter grants no scope")

	bad := validAuthorizeParams(c)
	bad.Set("claims", `{"userinfo":"email"}`)
	s.requireErrorRedirect(t, bad, "invalid_request")
}
