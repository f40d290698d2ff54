package http

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/scim"
)

func TestEveryKindHasAStatusInEachDialect(t *testing.T) {
	for _, k := range fault.Kinds() {
		assert.NotZero(t, restStatus[k], "the REST table has no status for %s", k)
		assert.NotZero(t, scimStatus[k].status, "the SCIM table has no status for %s", k)
	}
}

// errorWriter answers every request with err in the dialect write speaks.
func errorWriter(t *testing.T, write func(s *Server, c *fiber.Ctx, err error) error, err error) (int, string, string) {
	t.Helper()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error { return write(s, c, err) })
	resp, tErr := app.Test(httptest.NewRequest(fiber.MethodGet, "/", nil), -1)
	require.NoError(t, tErr)
	body, rErr := io.ReadAll(resp.Body)
	require.NoError(t, rErr)
	return resp.StatusCode, string(body), resp.Header.Get(fiber.HeaderWWWAuthenticate)
}

func TestSCIMErrorsTakeTheirStatusFromTheKind(t *testing.T) {
	for _, c := range []struct {
		name       string
		err        error
		status     int
		body       string
		challenged bool
	}{
		{"a SCIM error keeps its own scimType", &scim.Error{Kind: fault.Invalid, Type: scim.TypeInvalidFilter, Detail: "bad"}, 400,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad"}`, false},
		{"a stale version is 412 without a scimType", &scim.Error{Kind: fault.Stale, Detail: "changed"}, 412,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"412","detail":"changed"}`, false},
		{"a missing token is challenged", &scim.Error{Kind: fault.Unauthorized, Detail: "token"}, 401,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"token"}`, true},
		{"a directory error takes the kind's scimType", fault.New(fault.Invalid, "invalid_request", "no"), 400,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"no"}`, false},
		{"a directory conflict has no scimType", fault.New(fault.Conflict, "invalid_state", "no"), 409,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","detail":"no"}`, false},
		{"a value another holds is a uniqueness conflict", fault.New(fault.Taken, "email_taken", "taken"), 409,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"taken"}`, false},
		{"an edge refusal keeps its status", fiber.NewError(fiber.StatusNotImplemented, "not supported"), 501,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"501","detail":"not supported"}`, false},
		{"an internal error shows nothing of itself", errors.New("secret"), 500,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal error"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body, challenge := errorWriter(t, (*Server).scimError, c.err)
			assert.Equal(t, c.status, status)
			assert.JSONEq(t, c.body, body)
			assert.Equal(t, c.challenged, challenge != "", "WWW-Authenticate: %q", challenge)
		})
	}
}

// DPoP errors are 400 at the token endpoint and 401 with the DPoP challenge
// at a protected resource (RFC 9449 §5, §7.1, §8, §9).
func TestDPoPErrorsTakeTheirStatusFromWhereTheyHappen(t *testing.T) {
	const algs = `DPoP algs="RS256 PS256 ES256 EdDSA", `
	for _, c := range []struct {
		name      string
		err       *oidc.Error
		status    int
		challenge string
	}{
		{"a bad proof at the token endpoint is 400 without challenge", &oidc.Error{Code: oidc.CodeInvalidDPoPProof, Description: "d"}, 400, ""},
		{"a missing nonce at the token endpoint is 400 without challenge", &oidc.Error{Code: oidc.CodeUseDPoPNonce, Description: "d"}, 400, ""},
		{"a bad proof at a resource is 401 with the DPoP challenge", &oidc.Error{Code: oidc.CodeInvalidDPoPProof, Description: "d", Challenge: oidc.SchemeDPoP}, 401,
			algs + `error="invalid_dpop_proof", error_description="d"`},
		{"a missing nonce at a resource is 401 with the DPoP challenge", &oidc.Error{Code: oidc.CodeUseDPoPNonce, Description: "d", Challenge: oidc.SchemeDPoP}, 401,
			algs + `error="use_dpop_nonce", error_description="d"`},
		{"a bound token sent as bearer is 401 with the DPoP challenge", &oidc.Error{Code: oidc.CodeInvalidToken, Description: "d", Challenge: oidc.SchemeDPoP}, 401,
			algs + `error="invalid_token", error_description="d"`},
		{"a bearer token's error keeps the bearer challenge", &oidc.Error{Code: oidc.CodeInvalidToken, Description: "d", Challenge: oidc.SchemeBearer}, 401,
			`Bearer realm="calimatic", error="invalid_token", error_description="d"`},
		{"a DPoP request lacking scope is 403 with the DPoP challenge", &oidc.Error{Code: oidc.CodeInsufficientScope, Description: "d", Challenge: oidc.SchemeDPoP}, 403,
			algs + `error="insufficient_scope", error_description="d"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, challenge := errorWriter(t, (*Server).oauthError, c.err)
			assert.Equal(t, c.status, status)
			assert.Equal(t, c.challenge, challenge)
		})
	}
}
