package upstream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/calimatic/calimatic-auth/ports"
)

// Exchange redeems x.Code at the token endpoint and returns the claims of
// the ID token it is answered with, once its signature is checked. Claims
// are as encoding/json decodes them: numbers (exp, iat) are float64. See
// ports.Upstream and the package's errors.
func (c *Client) Exchange(ctx context.Context, x ports.UpstreamExchange) (map[string]any, error) {
	// Both URLs are checked before the code is spent: a code redeemed
	// whose token cannot then be verified is lost.
	if err := c.checkURL("token_endpoint", x.Metadata.TokenEndpoint); err != nil {
		return nil, err
	}
	if err := c.checkURL("jwks_uri", x.Metadata.JWKSURI); err != nil {
		return nil, err
	}
	idToken, err := c.redeem(ctx, x)
	if err != nil {
		return nil, err
	}
	return c.verify(ctx, x.Metadata.JWKSURI, idToken)
}

// tokenResponse is the part of RFC 6749 §5.1 and §5.2, and of OIDC Core
// §3.1.3.3, read here: the ID token, or the refusal.
type tokenResponse struct {
	IDToken          string `json:"id_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// redeem posts the token request (RFC 6749 §4.1.3, RFC 7636 §4.5) and
// returns the ID token of the answer.
func (c *Client) redeem(ctx context.Context, x ports.UpstreamExchange) (string, error) {
	op := "redeem the code at " + x.Metadata.TokenEndpoint
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {x.Code},
		"redirect_uri": {x.RedirectURI},
	}
	if x.CodeVerifier != "" {
		form.Set("code_verifier", x.CodeVerifier)
	}
	post := usePost(x.Metadata.TokenEndpointAuthMethods)
	if post {
		form.Set("client_id", x.ClientID)
		form.Set("client_secret", x.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.Metadata.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !post {
		req.Header.Set("Authorization", basicAuth(x.ClientID, x.ClientSecret))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", unavailable(op, err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return "", unavailable(op, err)
	}
	var answer tokenResponse
	decodeErr := json.Unmarshal(body, &answer)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		if decodeErr != nil {
			return "", unavailable(op, fmt.Errorf("the token response is not JSON: %w", decodeErr))
		}
		if answer.IDToken == "" {
			// OIDC Core §3.1.3.3: an answer to an openid request has one.
			return "", unavailable(op, errors.New("the token response has no id_token"))
		}
		return answer.IDToken, nil
	case resp.StatusCode >= 400 && resp.StatusCode <= 499 && decodeErr == nil && answer.Error != "":
		// RFC 6749 §5.2: 400, or 401 for invalid_client.
		return "", &OAuthError{Code: answer.Error, Description: answer.ErrorDescription}
	default:
		return "", unavailable(op, fmt.Errorf("the token endpoint answered %d", resp.StatusCode))
	}
}

// usePost reports whether the client authenticates with
// client_secret_post: only when the upstream supports it and not
// client_secret_basic, which is the default (Discovery §3) and what every
// server must accept (RFC 6749 §2.3.1).
func usePost(methods []string) bool {
	return slices.Contains(methods, "client_secret_post") && !slices.Contains(methods, "client_secret_basic")
}

// basicAuth is the Authorization header of client_secret_basic. RFC 6749
// §2.3.1 form-urlencodes the id and the secret before base64, so that a
// colon in either survives; net/http's SetBasicAuth does not.
func basicAuth(id, secret string) string {
	pair := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
}
