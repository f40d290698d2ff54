package oidc

import (
	"encoding/json"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Discovery returns the prepared discovery document (OIDC Discovery §3, RFC
// 8414 §2). It advertises exactly what is implemented. Both well-known paths
// serve the same document.
func (p *Provider) Discovery() []byte { return p.discovery }

func (p *Provider) buildDiscovery() ([]byte, error) {
	iss := p.cfg.Issuer
	var claims []string
	for _, s := range []string{domain.ScopeOpenID, domain.ScopeProfile, domain.ScopeEmail, domain.ScopeAddress, domain.ScopePhone, domain.ScopeOrganization, domain.ScopePermissions} {
		claims = append(claims, domain.ScopeClaims[s]...)
	}
	claims = append(claims, "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "azp", "amr", "acr")
	scopes := slices.Concat(domain.StandardScopes, domain.ExtendedScopes)
	confidential := slices.DeleteFunc(slices.Clone(authMethods), func(m string) bool { return m == domain.AuthMethodNone })
	doc := map[string]any{
		"issuer":                                                   iss,
		"authorization_endpoint":                                   iss + PathAuthorize,
		"token_endpoint":                                           iss + PathToken,
		"userinfo_endpoint":                                        iss + PathUserInfo,
		"jwks_uri":                                                 iss + PathJWKS,
		"end_session_endpoint":                                     iss + PathEndSession,
		"introspection_endpoint":                                   iss + PathIntrospect,
		"revocation_endpoint":                                      iss + PathRevoke,
		"pushed_authorization_request_endpoint":                    iss + PathPAR,
		"require_pushed_authorization_requests":                    p.cfg.RequirePAR,
		"device_authorization_endpoint":                            iss + PathDeviceAuthorization,
		"scopes_supported":                                         scopes,
		"response_types_supported":                                 []string{domain.ResponseTypeCode},
		"response_modes_supported":                                 []string{"query"},
		"grant_types_supported":                                    advertisedGrants(),
		"subject_types_supported":                                  []string{"public"},
		"id_token_signing_alg_values_supported":                    p.cfg.Algorithms,
		"token_endpoint_auth_methods_supported":                    authMethods,
		"introspection_endpoint_auth_methods_supported":            confidential,
		"revocation_endpoint_auth_methods_supported":               authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         domain.ClientSigningAlgs,
		"introspection_endpoint_auth_signing_alg_values_supported": domain.ClientSigningAlgs,
		"revocation_endpoint_auth_signing_alg_values_supported":    domain.ClientSigningAlgs,
		"code_challenge_methods_supported":                         []string{domain.PKCEMethodS256},
		"dpop_signing_alg_values_supported":                        DPoPAlgs,
		"claims_supported":                                         claims,
		"claims_parameter_supported":                               true,
		"acr_values_supported":                                     acrValuesSupported,
		"request_parameter_supported":                              false,
		"request_uri_parameter_supported":                          false,
		"prompt_values_supported":                                  []string{"none", "login", "consent", "select_account"},
		"authorization_response_iss_parameter_supported":           true,
		"frontchannel_logout_supported":                            false,
		"backchannel_logout_supported":                             true,
		"backchannel_logout_session_supported":                     true,
		"ui_locales_supported":                                     []string{"en"},
		"claim_types_supported":                                    []string{"normal"},
	}
	if p.cfg.RegistrationEnabled {
		doc["registration_endpoint"] = iss + PathRegister
	}
	return json.Marshal(doc)
}
