package http

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

// The second step of a sign-in: a code from an authenticator app or a
// recovery code, or setting up an authenticator when the sign-in needs
// one and the user has none. Plain forms, no JavaScript.

const (
	pathLoginFactor   = "/login/factor"
	pathLoginContinue = "/login/continue"
)

// factorView is the data of the "factor" page.
type factorView struct {
	loginView
	TOTP          bool
	RecoveryCodes int
	// Passkeys offers the user's passkeys, through the script.
	Passkeys bool
	// Enrol is set while setting up an authenticator: the QR code as a
	// data URI, the key and the otpauth URI to type instead.
	Enrol       bool
	QR          template.URL
	Secret, URI string
}

// codesView is the data of the "recovery_codes" page.
type codesView struct {
	Action, InteractionID, CSRFToken string
	Codes                            []string
}

func (s *Server) factorRoutes() {
	s.app.Get(pathLoginFactor, s.factorPage)
	s.app.Post(pathLoginFactor, s.factorSubmit)
	s.app.Post(pathLoginContinue, s.continueSubmit)
}

// factorPage shows the second-factor form of a pending sign-in.
func (s *Server) factorPage(c *fiber.Ctx) error {
	return s.renderFactor(c, c.Query("interaction"), "")
}

func (s *Server) renderFactor(c *fiber.Ctx, id, msg string) error {
	fp, page, err := s.op.FactorPrompt(c.UserContext(), id, s.browser(c))
	if err != nil || page != nil {
		return s.pageError(c, firstErr(err, page))
	}
	v := factorView{
		loginView: loginView{
			Action: pathLoginFactor, InteractionID: fp.Interaction, CSRFToken: fp.CSRFToken,
			ClientName: fp.Client.Name, ClientURI: fp.Client.ClientURI, LogoURI: fp.Client.LogoURI, Error: msg,
		},
		TOTP: fp.TOTP, RecoveryCodes: fp.RecoveryCodes, Passkeys: fp.Passkeys && s.op.PasskeysOn(),
	}
	if fp.Enrol != nil {
		v.Enrol, v.Secret, v.URI = true, fp.Enrol.Secret, fp.Enrol.URI
		v.QR = qrDataURI(fp.Enrol.URI)
	}
	return s.renderPage(c, "factor", v)
}

// qrDataURI renders an otpauth URI as a PNG QR code in a data URI, which
// the page's CSP allows (img-src data:); "" if it cannot be drawn.
func qrDataURI(uri string) template.URL {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return ""
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	// A data URI the server made from its own bytes: safe to put in src,
	// which html/template would otherwise blank.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// factorSubmit checks a second factor.
func (s *Server) factorSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	in := oidc.FactorInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], Method: p["method"], Code: p["code"]}
	if in.Method == oidc.FactorPasskey {
		in.Code = p["credential"]
	}
	out, err := s.op.SubmitFactor(c.UserContext(), in, s.browser(c))
	if err != nil {
		return s.pageError(c, err)
	}
	if out.LoginError != "" {
		status := fiber.StatusUnauthorized
		if out.Throttled {
			status = fiber.StatusTooManyRequests
		}
		return s.renderFactor(c.Status(status), in.Interaction, out.LoginError)
	}
	if out.Step == oidc.StepRecoveryCodes {
		s.setCookie(c, s.cookies.session, out.Session.Cookie, out.Session.ExpiresAt)
		return s.renderPage(c, "recovery_codes", codesView{
			Action: pathLoginContinue, InteractionID: out.Interaction, CSRFToken: in.CSRFToken, Codes: out.RecoveryCodes,
		})
	}
	return s.follow(c, out)
}

// continueSubmit goes on with a sign-in once its recovery codes were shown.
func (s *Server) continueSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	out, err := s.op.Continue(c.UserContext(), p["interaction"], p["csrf_token"], s.browser(c))
	if err != nil {
		return s.pageError(c, err)
	}
	return s.follow(c, out)
}
