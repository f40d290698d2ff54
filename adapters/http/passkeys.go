package http

import (
	"encoding/base64"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// Passkeys in the browser pages. The WebAuthn calls need the small script
// at jsPath; the server's part is two steps each: options as JSON for the
// script, then an ordinary form post carrying the browser's answer.

const (
	pathLoginPasskey         = "/login/passkey"
	pathLoginPasskeyOptions  = "/login/passkey/options"
	pathFactorPasskeyOptions = "/login/factor/passkey/options"
	pathAccountPasskeys      = pathAccount + "/passkeys"
)

// passkeyView is one passkey on the account page.
type passkeyView struct {
	ID, Name, Created, LastUsed string
	Synced                      bool
}

func (s *Server) passkeyRoutes() {
	a := s.app
	a.Post(pathLoginPasskeyOptions, s.loginPasskeyOptions(false))
	a.Post(pathFactorPasskeyOptions, s.loginPasskeyOptions(true))
	a.Post(pathLoginPasskey, s.loginPasskeySubmit)
	a.Post(pathAccountPasskeys+"/options", s.holderForm(s.recent(s.accountPasskeyOptions)))
	a.Post(pathAccountPasskeys, s.holderForm(s.recent(s.accountPasskeyAdd)))
	a.Post(pathAccountPasskeys+"/remove", s.holderForm(s.recent(s.accountPasskeyRemove)))
}

// passkeyJSONError answers the script's options request with a message it
// shows.
func passkeyJSONError(c *fiber.Ctx, status int, msg string) error {
	noStore(c)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Status(status).JSON(restBody{Error: "passkey_unavailable", Message: msg})
}

// loginPasskeyOptions begins a passkey sign-in (or second factor) for a
// pending request.
func (s *Server) loginPasskeyOptions(second bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := params(c)
		if err != nil {
			return passkeyJSONError(c, fiber.StatusBadRequest, "The request could not be read.")
		}
		options, page, err := s.op.PasskeyOptions(c.UserContext(), p["interaction"], p["csrf_token"], s.browser(c), second)
		if err != nil {
			return s.restError(c, err)
		}
		if page != nil {
			return passkeyJSONError(c, fiber.StatusBadRequest, page.Description)
		}
		return sendOptions(c, options)
	}
}

// sendOptions answers the script with WebAuthn options.
func sendOptions(c *fiber.Ctx, options []byte) error {
	noStore(c)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(options)
}

// loginPasskeySubmit signs in with a passkey alone.
func (s *Server) loginPasskeySubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	b := s.browser(c)
	in := oidc.PasskeyInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], Credential: p["credential"]}
	out, err := s.op.PasskeySignIn(c.UserContext(), in, b)
	if err != nil {
		return s.pageError(c, err)
	}
	if out.LoginError != "" {
		pr, page, err := s.op.LoginPrompt(c.UserContext(), in.Interaction, b)
		if err != nil || page != nil {
			return s.pageError(c, firstErr(err, page))
		}
		return s.renderLogin(c.Status(fiber.StatusUnauthorized), pr, "", out.LoginError)
	}
	return s.follow(c, out)
}

func (s *Server) accountPasskeyOptions(c *fiber.Ctx, a *holder) error {
	options, err := s.mfa.BeginPasskeyRegistration(c.UserContext(), a.user.ID)
	switch {
	case errors.Is(err, mfa.ErrTooManyPasskeys):
		return passkeyJSONError(c, fiber.StatusBadRequest, "This account has as many passkeys as it may have. Remove one first.")
	case errors.Is(err, mfa.ErrPasskeysOff):
		return passkeyJSONError(c, fiber.StatusBadRequest, "Passkeys are not available on this server.")
	case err != nil:
		return s.restError(c, err)
	}
	return sendOptions(c, options)
}

// passkeyMessages are what the account page says when adding a passkey
// fails.
var passkeyMessages = []struct {
	err error
	msg string
}{
	{mfa.ErrBadName, "Give the passkey a name of 1 to 64 characters."},
	{mfa.ErrTooManyPasskeys, "This account has as many passkeys as it may have. Remove one first."},
	{mfa.ErrPasskeyExists, "That passkey is on your account already."},
	{mfa.ErrNoEnrolment, "The passkey request expired. Try again."},
	{mfa.ErrWrongCode, "The passkey could not be added. Try again."},
	{mfa.ErrPasskeysOff, "Passkeys are not available on this server."},
}

func (s *Server) accountPasskeyAdd(c *fiber.Ctx, a *holder) error {
	credential := a.form["credential"]
	if credential == "" || len(credential) > 16<<10 {
		return s.renderAccount(c.Status(fiber.StatusBadRequest), a, "", "The passkey's answer was not received. Adding a passkey needs JavaScript.")
	}
	codes, err := s.mfa.FinishPasskeyRegistration(c.UserContext(), a.user.ID, a.form["name"], []byte(credential))
	for _, m := range passkeyMessages {
		if errors.Is(err, m.err) {
			return s.renderAccount(c.Status(fiber.StatusBadRequest), a, "", m.msg)
		}
	}
	if err != nil {
		return s.pageError(c, err)
	}
	if codes != nil {
		return s.renderPage(c, "recovery_codes", codesView{Action: pathAccount + "?done=passkey_added", Codes: codes})
	}
	return s.done(c, "passkey_added")
}

func (s *Server) accountPasskeyRemove(c *fiber.Ctx, a *holder) error {
	id, err := base64.RawURLEncoding.DecodeString(a.form["id"])
	if err != nil || len(id) == 0 || len(id) > 1024 {
		return s.renderAccount(c.Status(fiber.StatusBadRequest), a, "", "That passkey is not on your account.")
	}
	err = s.mfa.RemovePasskey(c.UserContext(), a.user.ID, id)
	if errors.Is(err, mfa.ErrNoFactor) {
		return s.renderAccount(c.Status(fiber.StatusBadRequest), a, "", "That passkey is not on your account.")
	}
	if err != nil {
		return s.pageError(c, err)
	}
	return s.done(c, "passkey_removed")
}
