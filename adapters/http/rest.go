package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// restBody is the REST APIs' error body: {"error": code, "message": text}.
type restBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// badRequest is a REST 400 made at the edge (malformed JSON and the like).
func badRequest(code, format string, args ...any) error {
	return fault.New(fault.Invalid, code, format, args...)
}

var errUnsupportedMedia = errors.New("unsupported media type")

// decodeJSON reads a request's JSON body into v strictly: the content type
// must be application/json, unknown fields and trailing data are refused,
// and type errors name the field.
func decodeJSON(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return errUnsupportedMedia
	}
	return decodeStrict(c.Body(), v)
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid_json", "the body must hold exactly one JSON object")
	}
	return nil
}

// jsonError explains a decoding failure without echoing the body.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return badRequest("invalid_request", "field %q must be %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badRequest("invalid_json", "the body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown_field", "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("invalid_json", "the body is not valid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// pageQuery reads the cursor and limit of a listing.
func pageQuery(c *fiber.Ctx) (cursor string, limit int, err error) {
	cursor = c.Query("cursor")
	if l := c.Query("limit"); l != "" {
		n, convErr := strconv.Atoi(l)
		if convErr != nil {
			return "", 0, badRequest("invalid_request", "limit must be a number")
		}
		if n <= 0 {
			return "", 0, badRequest("invalid_request", "limit must be between 1 and %d", directory.MaxPageSize)
		}
		limit = n
	}
	return cursor, limit, nil
}

// isRESTPath reports whether a path speaks the REST error format.
func isRESTPath(p string) bool {
	return strings.HasPrefix(p, "/api/v1/users") || strings.HasPrefix(p, "/api/v1/admin") ||
		strings.HasPrefix(p, "/api/v1/organizations")
}
