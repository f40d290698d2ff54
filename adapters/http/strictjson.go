package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/scim"
)

// strictJSON refuses, on every JSON API (REST, admin, registration, SCIM),
// the bodies that encoding/json would read in a way the sender may not
// mean, before any handler sees them:
//   - a key that appears twice in one object, compared as encoding/json and
//     SCIM (RFC 7643 §2.1) compare names, case-insensitively: Go keeps
//     the last, another parser the first, so a proxy and this server could
//     disagree on what was asked;
//   - bytes that are not UTF-8, and escapes of unpaired surrogates, which
//     Go would silently turn into U+FFFD.
//
// Syntax errors are left to the handlers, which name them in their dialect.
func (s *Server) strictJSON(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch:
	default:
		return c.Next()
	}
	if !isJSONType(c.Get(fiber.HeaderContentType)) {
		return c.Next()
	}
	if msg := checkJSON(c.Request().Body()); msg != "" { // as sent: limitBody refused any Content-Encoding
		return jsonRefusal(c.Path(), msg)
	}
	return c.Next()
}

// isJSONType reports whether a content type is JSON: application/json or
// any +json type (application/scim+json).
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == fiber.MIMEApplicationJSON || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// jsonRefusal is a 400 in the dialect of the path.
func jsonRefusal(path, msg string) error {
	switch {
	case isSCIMPath(path):
		return &scim.Error{Kind: fault.Invalid, Type: scim.TypeInvalidSyntax, Detail: msg}
	case isRESTPath(path):
		return badRequest("invalid_json", "%s", msg)
	case strings.HasPrefix(path, oidc.PathRegister):
		return &oidc.Error{Code: oidc.CodeInvalidClientMetadata, Description: msg}
	}
	return &oidc.Error{Code: oidc.CodeInvalidRequest, Description: msg}
}

// checkJSON returns what is wrong with body, or "" when it is acceptable
// or not JSON at all (the handler reports that).
func checkJSON(body []byte) string {
	if !utf8.Valid(body) {
		return "the body is not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type container struct {
		keys    map[string]bool // an object's folded keys; nil for an array
		wantKey bool            // an object's next token is a key
	}
	var stack []*container
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return "" // malformed: the handler's decoder says so in its dialect
		}
		var top *container
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.keys != nil && top.wantKey
		if top != nil && top.keys != nil {
			// After a key comes its value; after a value, the next key.
			top.wantKey = !isKey
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &container{keys: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, &container{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].keys != nil {
					stack[len(stack)-1].wantKey = true
				}
			}
		case string:
			if strings.ContainsRune(v, utf8.RuneError) {
				return fmt.Sprintf("%s holds an invalid character (U+FFFD or an unpaired surrogate escape)", describe(isKey))
			}
			if isKey {
				k := foldKey(v)
				if top.keys[k] {
					return fmt.Sprintf("key %s appears twice in one object (keys are compared case-insensitively)", quoteClip(v))
				}
				top.keys[k] = true
			}
		}
	}
}

func describe(isKey bool) string {
	if isKey {
		return "a key"
	}
	return "a string"
}

// foldKey maps each rune of a key to the smallest rune of its Unicode
// simple case-folding orbit, so keys equal under encoding/json's and
// strings.EqualFold's matching (K, k and the Kelvin sign; s and ſ) fold to
// one string.
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}
