package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// AccessClaims are the claims of a JWT access token (RFC 9068 §2.2).
// GrantID ties the token to its authorization grant, so revoking the grant
// (a replayed code, a revoked refresh family) makes introspection report it
// inactive.
type AccessClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	JTI       string `json:"jti"`
	AuthTime  int64  `json:"auth_time,omitempty"`
	// ACR and AMR say how the user signed in (RFC 9068 §2.2.1), so a
	// resource server can ask for a second factor.
	ACR     string   `json:"acr,omitempty"`
	AMR     []string `json:"amr,omitempty"`
	GrantID string   `json:"grant_id,omitempty"`
	// Confirmation binds a DPoP token to its key (RFC 9449 §6.1).
	Confirmation *Confirmation `json:"cnf,omitempty"`
	// UserInfoClaims are the claims the authorization asked UserInfo for
	// by name (OIDC Core §5.5), beyond the scopes.
	UserInfoClaims []string `json:"userinfo_claims,omitempty"`
}

// TokenResponse is the token endpoint's success body (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// RateLimit is the client's allowance after this request, for the
	// X-RateLimit-* headers.
	RateLimit domain.RateDecision `json:"-"`
}

// issuance is what one successful grant mints tokens from.
type issuance struct {
	client   *domain.Client
	user     *domain.User // nil for client_credentials
	scopes   []string
	grantID  string
	authTime time.Time
	sid      string
	amr      []string
	nonce    string
	refresh  string                 // the refresh token to hand out, if any
	dpopJKT  string                 // the DPoP key the access token is bound to, if any
	claims   domain.RequestedClaims // the claims parameter (claims.go)
}

func (p *Provider) mint(ctx context.Context, is issuance) (TokenResponse, error) {
	now := p.now()
	is.scopes = grantedNow(is.client, is.scopes)
	sub := is.client.ID // RFC 9068 §2.2: a client acting for itself is the subject
	if is.user != nil {
		sub = is.user.ID
	}
	at := AccessClaims{
		Issuer: p.cfg.Issuer, Subject: sub, Audience: is.client.ID, ClientID: is.client.ID,
		Scope: domain.JoinScope(is.scopes), IssuedAt: now.Unix(),
		ExpiresAt: now.Add(p.cfg.AccessTokenTTL).Unix(), JTI: p.deps.Random.Token(16),
		GrantID: is.grantID,
	}
	if is.user != nil {
		at.AuthTime = is.authTime.Unix()
		at.ACR, at.AMR = acrOf(is.amr), is.amr
		at.UserInfoClaims = domain.Names(is.claims.UserInfo)
	}
	tokenType := "Bearer"
	if is.dpopJKT != "" {
		// RFC 9449 §5, §6.1: a bound token says so, and names its key.
		at.Confirmation, tokenType = &Confirmation{JKT: is.dpopJKT}, SchemeDPoP
	}
	access, err := p.signJWT(ctx, p.cfg.AccessTokenAlg, typAccessToken, at)
	if err != nil {
		return TokenResponse{}, err
	}
	resp := TokenResponse{
		AccessToken: access, TokenType: tokenType, ExpiresIn: int64(p.cfg.AccessTokenTTL / time.Second),
		RefreshToken: is.refresh, Scope: at.Scope,
	}
	if is.user != nil && slices.Contains(is.scopes, domain.ScopeOpenID) {
		if resp.IDToken, err = p.mintIDToken(ctx, is, access, now); err != nil {
			return TokenResponse{}, err
		}
	}
	return resp, nil
}

// mintIDToken makes the ID token (OIDC Core §2, §3.1.3.6) with the claims the
// granted scopes release.
func (p *Provider) mintIDToken(ctx context.Context, is issuance, accessToken string, now time.Time) (string, error) {
	alg := p.cfg.IDTokenAlg
	if is.client.IDTokenSignedResponseAlg != "" {
		alg = is.client.IDTokenSignedResponseAlg
	}
	claims := userClaims(is.user, is.scopes)
	addRequestedClaims(claims, is.user, is.client, domain.Names(is.claims.IDToken))
	if err := p.directoryClaims(ctx, is.user, is.scopes, claims); err != nil {
		return "", err
	}
	claims["iss"] = p.cfg.Issuer
	claims["aud"] = is.client.ID
	claims["azp"] = is.client.ID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(p.cfg.IDTokenTTL).Unix()
	claims["auth_time"] = is.authTime.Unix()
	claims["at_hash"] = halfHash(accessToken)
	if is.nonce != "" {
		claims["nonce"] = is.nonce
	}
	if is.sid != "" {
		claims["sid"] = is.sid
	}
	if len(is.amr) > 0 {
		claims["amr"] = is.amr
	}
	claims["acr"] = acrOf(is.amr)
	return p.signJWT(ctx, alg, typIDToken, claims)
}

// halfHash is at_hash: the base64url of the left half of the SHA-256 of the
// token (OIDC Core §3.1.3.6; RS256 and ES256 both use SHA-256).
func halfHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// userClaims returns the claims the scopes release about u: the
// integration guide's §2 table (sub is always present), and the other OIDC
// Core §5.1 claims the account holds. Those come from the profile its home
// organization keeps (SCIM's attributes); other organizations' profiles
// are theirs and are never released.
func userClaims(u *domain.User, scopes []string) map[string]any {
	c := map[string]any{"sub": u.ID}
	var home domain.OrgProfile
	if u.HomeOrganizationID != "" {
		home = u.Profiles[u.HomeOrganizationID]
	}
	for _, s := range scopes {
		switch s {
		case domain.ScopeProfile:
			putNonEmpty(c, "name", u.Name())
			putNonEmpty(c, "given_name", u.GivenName)
			putNonEmpty(c, "family_name", u.FamilyName)
			putNonEmpty(c, "middle_name", home.MiddleName)
			putNonEmpty(c, "nickname", home.NickName)
			if httpsURL(home.ProfileURL) {
				// SCIM takes any text; an app may render this as a link.
				putNonEmpty(c, "profile", home.ProfileURL)
			}
			putNonEmpty(c, "picture", u.Picture)
			if zoneName.MatchString(home.Timezone) {
				putNonEmpty(c, "zoneinfo", home.Timezone)
			}
			putNonEmpty(c, "locale", home.Locale)
			c["updated_at"] = u.UpdatedAt.Unix()
		case domain.ScopeAddress:
			if a := addressClaim(home.Addresses); a != nil {
				c["address"] = a
			}
		case domain.ScopeEmail:
			c["email"] = u.Email
			c["email_verified"] = u.EmailVerified
		case domain.ScopePhone:
			if u.PhoneNumber != "" {
				c["phone_number"] = u.PhoneNumber
				c["phone_number_verified"] = u.PhoneNumberVerified
			}
		}
	}
	return c
}

func putNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// newRefreshToken makes a 256-bit opaque refresh token and its stored form.
func (p *Provider) newRefreshToken(familyID string, now time.Time) (string, domain.RefreshToken) {
	tok := p.deps.Random.Token(32)
	return tok, domain.RefreshToken{Hash: domain.HashToken(tok), FamilyID: familyID, CreatedAt: now}
}

// addressClaim is OIDC Core §5.1.1's address of the primary address, else
// the work one, else the first; nil without one.
func addressClaim(as []domain.Address) map[string]any {
	if len(as) == 0 {
		return nil
	}
	pick := as[0]
	for _, a := range as {
		if a.Primary {
			pick = a
			break
		}
		if a.Type == "work" && pick.Type != "work" {
			pick = a
		}
	}
	c := map[string]any{}
	putNonEmpty(c, "formatted", pick.Formatted)
	putNonEmpty(c, "street_address", pick.StreetAddress)
	putNonEmpty(c, "locality", pick.Locality)
	putNonEmpty(c, "region", pick.Region)
	putNonEmpty(c, "postal_code", pick.PostalCode)
	putNonEmpty(c, "country", pick.Country)
	if len(c) == 0 {
		return nil
	}
	return c
}

// Authentication context classes (the acr claim, OIDC Core §2). A
// password alone is one factor: level "1", as Keycloak counts it. "mfa" is
// a sign-in with two factors (a password and a code or a passkey), or with
// a passkey that verified its user. A client asks for "mfa" with
// acr_values or an essential acr claim, and the sign-in then asks for a
// second factor, enrolling one if the user has none.
const (
	acrNone     = "0" // no authentication this provider can vouch for
	acrPassword = "1" // one factor: a password
	acrMFA      = "mfa"
)

// acrValuesSupported are the classes a client may ask for, weakest first.
var acrValuesSupported = []string{acrPassword, acrMFA}

// acrOf is the class of an authentication by its methods (amr).
func acrOf(amr []string) string {
	switch {
	case slices.Contains(amr, "mfa"):
		return acrMFA
	case slices.Contains(amr, "pwd"):
		return acrPassword
	}
	return acrNone
}

// zoneName is the shape of an IANA time zone name ("Europe/Paris",
// "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"): what zoneinfo
// holds (OIDC Core §5.1).
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z_]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*$`)

// httpsURL reports whether s is an absolute https URL in printable ASCII
// with no user information.
func httpsURL(s string) bool {
	return strings.HasPrefix(s, "https://") && domain.ValidateRedirectURI(s) == nil
}
