package http

import (
	"encoding/base64"
	"mime"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

// maxParams bounds how many parameters a request may carry.
const maxParams = 64

// params reads a request's parameters: the query of a GET, the
// application/x-www-form-urlencoded body of a POST (RFC 6749 §3.2). A
// parameter sent twice is an error (RFC 6749 §3.1), and so is a body of
// another content type.
func params(c *fiber.Ctx) (map[string]string, error) {
	var args *fasthttp.Args
	if c.Method() == fiber.MethodPost {
		if len(c.Body()) > 0 || c.Get(fiber.HeaderContentType) != "" {
			mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
			if err != nil || mt != fiber.MIMEApplicationForm {
				return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "the body must be application/x-www-form-urlencoded"}
			}
		}
		args = c.Request().PostArgs()
	} else {
		args = c.Request().URI().QueryArgs()
	}
	if args.Len() > maxParams {
		return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "too many parameters"}
	}
	out := make(map[string]string, args.Len())
	var dup string
	args.VisitAll(func(k, v []byte) {
		key := string(k)
		if _, seen := out[key]; seen && dup == "" {
			dup = key
		}
		out[key] = string(v)
	})
	if dup != "" {
		return nil, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "parameter " + quoteClip(dup) + " was sent more than once"}
	}
	return out, nil
}

func quoteClip(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return `"` + strings.ToValidUTF8(s, "") + `"`
}

// basicAuth decodes an HTTP Basic header. RFC 6749 §2.3.1: the client id
// and secret are form-urlencoded before being joined.
func basicAuth(c *fiber.Ctx) (id, secret string, ok bool) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return "", "", true
	}
	id, secret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", true
	}
	id, err1 := url.QueryUnescape(id)
	secret, err2 := url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return "", "", true
	}
	return id, secret, true
}

// clientCredentials reads how a client authenticates: Basic or the form,
// never both (RFC 6749 §2.3).
func clientCredentials(c *fiber.Ctx, p map[string]string) (oidc.ClientCredentials, error) {
	id, secret, basic := basicAuth(c)
	_, assertion := p["client_assertion"]
	_, assertionType := p["client_assertion_type"]
	if assertion || assertionType {
		if _, withSecret := p["client_secret"]; basic || withSecret {
			return oidc.ClientCredentials{}, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "use one client authentication method, not both"}
		}
		return oidc.ClientCredentials{ClientID: p["client_id"], AssertionType: p["client_assertion_type"], Assertion: p["client_assertion"]}, nil
	}
	if basic {
		if _, both := p["client_secret"]; both {
			return oidc.ClientCredentials{}, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "use one client authentication method, not both"}
		}
		if formID := p["client_id"]; formID != "" && formID != id {
			return oidc.ClientCredentials{}, &oidc.Error{Code: oidc.CodeInvalidClient, Description: "client authentication failed", BasicAuth: true}
		}
		return oidc.ClientCredentials{ClientID: id, Secret: secret, Basic: true}, nil
	}
	return oidc.ClientCredentials{ClientID: p["client_id"], Secret: p["client_secret"]}, nil
}
