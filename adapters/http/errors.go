package http

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/scim"
)

// This file is the one place where errors become wire responses. Each
// dialect has one table from the core's kinds to statuses: oauthStatus,
// restStatus and scimStatus. The core names no status.

// oauthStatus is the OAuth dialect's table: error codes to HTTP statuses
// (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2). OAuth's codes are its
// kinds: core/oidc answers with them, and the protocol fixes one status
// for each. Codes not listed are 400.
var oauthStatus = map[string]int{
	oidc.CodeInvalidClient:          fiber.StatusUnauthorized,
	oidc.CodeInvalidToken:           fiber.StatusUnauthorized,
	oidc.CodeInsufficientScope:      fiber.StatusForbidden,
	oidc.CodeAccessDenied:           fiber.StatusForbidden,
	oidc.CodeRateLimited:            fiber.StatusTooManyRequests,
	oidc.CodeServerError:            fiber.StatusInternalServerError,
	oidc.CodeTemporarilyUnavailable: fiber.StatusServiceUnavailable,
}

// challengeStatus overrides oauthStatus for the errors of a protected
// resource, which answer with a challenge: a proof that fails there is 401
// (RFC 9449 §7.1, §9), where the token endpoint answers 400 (§5, §8).
var challengeStatus = map[string]int{
	oidc.CodeInvalidDPoPProof: fiber.StatusUnauthorized,
	oidc.CodeUseDPoPNonce:     fiber.StatusUnauthorized,
}

// dpopChallenge is the DPoP challenge's algs parameter (RFC 9449 §7.1).
var dpopChallenge = `DPoP algs="` + strings.Join(oidc.DPoPAlgs, " ") + `"`

type oauthBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// classify turns any error into an OAuth error and its status. Errors from
// inside are never shown: outages become temporarily_unavailable, anything
// else server_error, and both are logged.
func (s *Server) classify(err error) (*oidc.Error, int) {
	if e, ok := oidc.AsError(err); ok {
		status, found := oauthStatus[e.Code]
		if st, ok := challengeStatus[e.Code]; ok && e.Challenge != "" {
			status, found = st, true
		}
		if !found {
			status = fiber.StatusBadRequest
		}
		return e, status
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fiberError(fe)
	}
	if errors.Is(err, domain.ErrUnavailable) {
		s.log.Warn("backend unavailable", slog.String("err", err.Error()))
		return &oidc.Error{Code: oidc.CodeTemporarilyUnavailable, Description: "the service is temporarily unavailable; retry later"}, fiber.StatusServiceUnavailable
	}
	s.log.Error("internal error", slog.String("err", err.Error()))
	return &oidc.Error{Code: oidc.CodeServerError, Description: "internal error"}, fiber.StatusInternalServerError
}

// fiberError maps Fiber's own errors (body too large, bad method, no route)
// to OAuth errors with their status.
func fiberError(fe *fiber.Error) (*oidc.Error, int) {
	code := oidc.CodeInvalidRequest
	switch {
	case fe.Code == fiber.StatusNotFound:
		code = "not_found"
	case fe.Code == fiber.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case fe.Code >= 500:
		code = oidc.CodeServerError
	}
	msg := fe.Message
	if fe.Code == fiber.StatusRequestEntityTooLarge {
		msg = "the request body is too large"
	}
	return &oidc.Error{Code: code, Description: msg}, fe.Code
}

// oauthError writes err as RFC 6749 §5.2 error JSON. invalid_client after
// Basic authentication carries WWW-Authenticate; so do bearer-token errors
// (RFC 6750 §3).
func (s *Server) oauthError(c *fiber.Ctx, err error) error {
	e, status := s.classify(err)
	return s.writeOAuthError(c, e, status)
}

// tokenError is oauthError at the token endpoint, where RFC 6749 §5.2
// answers every refusal 400 but invalid_client: access_denied (RFC 8628
// §3.5) is 400 there, not 403 as elsewhere.
func (s *Server) tokenError(c *fiber.Ctx, err error) error {
	e, status := s.classify(err)
	if status == fiber.StatusForbidden {
		status = fiber.StatusBadRequest
	}
	return s.writeOAuthError(c, e, status)
}

func (s *Server) writeOAuthError(c *fiber.Ctx, e *oidc.Error, status int) error {
	if e.RateLimit != nil {
		rateHeaders(c, *e.RateLimit)
	}
	switch {
	case e.Code == oidc.CodeInvalidClient && e.BasicAuth:
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="calimatic", charset="UTF-8"`)
	case e.Challenge == oidc.SchemeDPoP:
		c.Set(fiber.HeaderWWWAuthenticate, dpopChallenge+`, error="`+e.Code+`", error_description="`+headerSafe(e.Description)+`"`)
	case e.Code == oidc.CodeInvalidToken || e.Code == oidc.CodeInsufficientScope:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="calimatic", error="`+e.Code+`", error_description="`+headerSafe(e.Description)+`"`)
	case status == fiber.StatusServiceUnavailable:
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	noStore(c)
	return c.Status(status).JSON(oauthBody{Error: e.Code, Description: e.Description})
}

// pageError shows err as an HTML error page: used where a redirect is not
// safe (unknown client, unregistered redirect URI) and for the browser pages.
func (s *Server) pageError(c *fiber.Ctx, err error) error {
	e, status := s.classify(err)
	title := "Something went wrong"
	switch {
	case status == fiber.StatusServiceUnavailable:
		title = "Calimatic is temporarily unavailable"
	case status >= 500:
		title = "Something went wrong on our side"
	case status < 500 && status != fiber.StatusTooManyRequests:
		title = "This request can't be completed"
		if status == fiber.StatusUnauthorized || status == fiber.StatusForbidden {
			status = fiber.StatusBadRequest
		}
	}
	return s.renderPage(c.Status(status), "error", errorView{Title: title, Message: e.Description, Status: status})
}

// headerSafe keeps a description fit for a quoted header parameter.
func headerSafe(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' {
			out = append(out, ch)
		}
	}
	return string(out)
}

// errorHandler is Fiber's last resort: it answers errors no handler wrote,
// in the format the route speaks, and never with a stack or internal text.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	switch p := c.Path(); {
	case isPagePath(p):
		return s.pageError(c, err)
	case isRESTPath(p):
		return s.restError(c, err)
	case isSCIMPath(p):
		return s.scimError(c, err)
	}
	return s.oauthError(c, err)
}

func retryAfterSeconds(d int64) string { return strconv.FormatInt(max(d, 1), 10) }

// restStatus is the REST dialect's table: error kinds to HTTP statuses.
var restStatus = map[fault.Kind]int{
	fault.Invalid:      fiber.StatusBadRequest,
	fault.Unauthorized: fiber.StatusUnauthorized,
	fault.Forbidden:    fiber.StatusForbidden,
	fault.NotFound:     fiber.StatusNotFound,
	fault.Conflict:     fiber.StatusConflict,
	fault.Taken:        fiber.StatusConflict,
	fault.Stale:        fiber.StatusPreconditionFailed,
}

// restError writes err as the REST APIs' {"error", "message"} JSON. As with
// OAuth errors, nothing from inside is shown: outages are 503
// temporarily_unavailable and anything else 500, both logged.
func (s *Server) restError(c *fiber.Ctx, err error) error {
	noStore(c)
	if e, ok := fault.As(err); ok {
		if e.Kind == fault.Unauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="calimatic"`)
		}
		return c.Status(restStatus[e.Kind]).JSON(restBody{Error: e.Code, Message: e.Message})
	}
	if errors.Is(err, directory.ErrMailNotSent) {
		s.log.Warn("mail not sent", slog.String("err", err.Error()))
		return c.Status(fiber.StatusBadGateway).JSON(restBody{Error: "mail_failed", Message: "the email could not be sent; retry later"})
	}
	if errors.Is(err, errUnsupportedMedia) {
		return c.Status(fiber.StatusUnsupportedMediaType).JSON(restBody{Error: "unsupported_media_type", Message: "the body must be application/json"})
	}
	if o, ok := oidc.AsError(err); ok && o.Code == oidc.CodeRateLimited {
		if o.RateLimit != nil {
			rateHeaders(c, *o.RateLimit)
		}
		return c.Status(fiber.StatusTooManyRequests).JSON(restBody{Error: "rate_limited", Message: o.Description})
	}
	e, status := s.classify(err) // fiber errors, outages, internal errors
	if status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	return c.Status(status).JSON(restBody{Error: e.Code, Message: e.Description})
}

// scimStatus is the SCIM dialect's table: error kinds to HTTP statuses
// and, for errors that do not name their own (the directory's), the
// scimType RFC 7644 §3.12 gives the kind.
var scimStatus = map[fault.Kind]struct {
	status int
	typ    string
}{
	fault.Invalid:      {fiber.StatusBadRequest, scim.TypeInvalidValue},
	fault.Unauthorized: {fiber.StatusUnauthorized, ""},
	fault.Forbidden:    {fiber.StatusForbidden, ""},
	fault.NotFound:     {fiber.StatusNotFound, ""},
	fault.Conflict:     {fiber.StatusConflict, ""},
	fault.Taken:        {fiber.StatusConflict, scim.TypeUniqueness},
	fault.Stale:        {fiber.StatusPreconditionFailed, ""}, // RFC 7644 §3.14
}

// scimError writes err as a SCIM error (RFC 7644 section 3.12): the Error
// schema, status as a string, and scimType where one applies. Outages and
// internal errors are shown as the REST errors are: 503 or 500, logged,
// without their text.
func (s *Server) scimError(c *fiber.Ctx, err error) error {
	noStore(c)
	var body scimErrorBody
	var status int
	var e *scim.Error
	switch d, isFault := fault.As(err); {
	case errors.As(err, &e):
		status, body.ScimType, body.Detail = scimStatus[e.Kind].status, e.Type, e.Detail
		if e.Kind == fault.Unauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="calimatic-scim"`)
		}
	case isFault:
		st := scimStatus[d.Kind]
		status, body.ScimType, body.Detail = st.status, st.typ, d.Message
	case errors.Is(err, errUnsupportedMedia):
		status, body.Detail = fiber.StatusUnsupportedMediaType, "the body must be application/scim+json or application/json"
	default:
		o, st := s.classify(err) // fiber errors, outages, internal errors
		if st == fiber.StatusServiceUnavailable {
			c.Set(fiber.HeaderRetryAfter, "5")
		}
		status, body.Detail = st, o.Description
		if st == fiber.StatusNotFound {
			body.Detail = "no such resource"
		}
	}
	body.Schemas, body.Status = []string{scim.SchemaError}, strconv.Itoa(status)
	c.Set(fiber.HeaderContentType, scimContentTypeHeader)
	b, _ := json.Marshal(body) // strings only: cannot fail
	return c.Status(status).Send(b)
}

type scimErrorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}
