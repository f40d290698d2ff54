// Package upstream is the driven adapter that speaks to upstream OpenID
// providers (Google Workspace, Microsoft Entra ID, another Calimatic) for
// federated sign-in: Client implements ports.Upstream over net/http. It
// reads an issuer's discovery document, redeems an authorization code at
// its token endpoint and checks the ID token's signature against the keys
// the upstream publishes, following its key rotations. What the claims say
// (iss, aud, exp, nonce, azp) is the core's to check.
//
// It sits on the outer ring of the hexagon: app wires it through Module;
// core sees only ports.Upstream.
//
// Errors, as ports.Upstream has them:
//   - domain.ErrUnavailable: the upstream cannot be reached, answers a
//     5xx or a status it should not, or answers garbage (a discovery
//     document naming another issuer or lacking an endpoint, a token
//     response without an ID token); its keys cannot be fetched.
//   - domain.ErrInvalidToken: the ID token cannot be parsed, is not signed
//     with an allowed algorithm, or its signature does not verify against
//     the upstream's published keys.
//   - *OAuthError: the token endpoint refused the code (RFC 6749 §5.2),
//     invalid_grant most often.
//   - anything else, ErrInsecure among them, is the configuration: an
//     issuer or endpoint that is no http(s) URL, or plain http where
//     Options.RequireHTTPS forbids it. Trying again will not help.
//
// Redirects are never followed. Providers answer discovery and token
// requests directly, and a redirected token request would carry the client
// secret and the code wherever it was sent.
//
// Nothing here logs or returns a token, a code or a secret.
package upstream
