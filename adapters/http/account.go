package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// The account pages: accept an invitation, ask for a password reset, and
// reset. They are plain HTML forms that need no JavaScript, like the login
// page, and they carry a CSRF token bound to the browser's session and to
// the link (formCSRF).

// passwordView is the data of the "password" page (invitation and reset).
type passwordView struct {
	Title, Lede, Button string
	Action              string
	Token, CSRFToken    string
	Error               string
}

// forgotView is the data of the "forgot" page.
type forgotView struct {
	Action, CSRFToken string
	Email             string
	Sent              bool
	Error             string
}

// doneView is the data of the "account_done" page.
type doneView struct{ Title, Message string }

func (s *Server) accountRoutes() {
	a := s.app
	a.Get(directory.PathAcceptInvite, s.passwordPage(invitePage))
	a.Post(directory.PathAcceptInvite, s.passwordSubmit(invitePage))
	a.Get(directory.PathResetPassword, s.passwordPage(resetPage))
	a.Post(directory.PathResetPassword, s.passwordSubmit(resetPage))
	a.Get(directory.PathForgotPassword, s.forgotPage)
	a.Post(directory.PathForgotPassword, s.limit(s.opts.Rules.Account, s.ipKey), s.forgotSubmit)
	a.Get(directory.PathJoin, s.joinPage)
	// Each answer checks a password, so it is rate-limited per IP.
	a.Post(directory.PathJoin, s.limit(s.opts.Rules.Account, s.ipKey), s.joinSubmit)
}

// accountPaths serve HTML, errors included.
var accountPaths = []string{directory.PathAcceptInvite, directory.PathResetPassword, directory.PathForgotPassword, directory.PathJoin}

// joinView is the data of the "join" page.
type joinView struct {
	Action, Token, CSRFToken, Error string
}

// joinPage shows the invitation to join. Like the password pages it does
// not touch the token: only the form's POST spends it.
func (s *Server) joinPage(c *fiber.Ctx) error {
	token := c.Query("token")
	if token == "" || len(token) > 128 {
		return s.pageError(c, &oidc.Error{Code: "invalid_link", Description: "This link is incomplete. Open the link from your email again."})
	}
	return s.renderPage(c, "join", joinView{Action: directory.PathJoin, Token: token, CSRFToken: formCSRF(s.browser(c), directory.PathJoin, token)})
}

// joinSubmit accepts or declines, once the password proves the account.
func (s *Server) joinSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	if !s.checkCSRF(c, p["csrf_token"], directory.PathJoin, p["token"]) {
		return s.pageError(c, errStaleForm)
	}
	accept := p["answer"] != "decline"
	j, err := s.dir.AnswerJoin(c.UserContext(), p["token"], p["password"], accept)
	if e, ok := fault.As(err); ok {
		if e.Code == "invalid_password" {
			v := joinView{Action: directory.PathJoin, Token: p["token"], CSRFToken: p["csrf_token"], Error: sentence(e.Message)}
			return s.renderPage(c.Status(fiber.StatusBadRequest), "join", v)
		}
		return s.pageError(c, &oidc.Error{Code: e.Code, Description: sentence(e.Message)})
	}
	if err != nil {
		return s.pageError(c, err)
	}
	if !j.Accepted {
		return s.renderPage(c, "account_done", doneView{Title: "Invitation declined", Message: j.Organization.Name + " was told nothing about your account."})
	}
	return s.renderPage(c, "account_done", doneView{Title: "You joined " + j.Organization.Name, Message: "Its apps now see you as a member. You sign in as before."})
}

// formCSRF is the CSRF token of an account form: a hash of the browser's
// sign-in session secret, or without one of its binding secret (a
// browser-session cookie), of the form (its path) and of the mailed link
// the form spends. Other sites can neither read nor set those cookies
// (__Host- when Secure), and a token that leaks is good for one form of
// one link, in one browser session.
func formCSRF(b oidc.Browser, form, link string) string {
	secret := "binding\x00" + b.Binding
	if b.SessionCookie != "" {
		secret = "session\x00" + b.SessionCookie
	}
	sum := sha256.Sum256([]byte("calimatic account form\x00" + secret + "\x00" + form + "\x00" + link))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCSRF compares a posted token with the browser's, in constant time.
func (s *Server) checkCSRF(c *fiber.Ctx, posted, form, link string) bool {
	b := oidc.Browser{SessionCookie: c.Cookies(s.cookies.session), Binding: c.Cookies(s.cookies.binding)}
	if len(b.Binding) < 32 || len(b.Binding) > 128 || len(b.SessionCookie) > 128 || posted == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(posted), []byte(formCSRF(b, form, link))) == 1
}

var errStaleForm = &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "This form has expired or was opened in another browser. Open the link from your email again."}

// passwordFlow is what differs between accepting an invitation and resetting.
type passwordFlow struct {
	action, title, lede, button, doneTitle, doneMessage string
	spend                                               func(s *Server, c *fiber.Ctx, token, password string) error
}

var invitePage = passwordFlow{
	action: directory.PathAcceptInvite, title: "Accept your invitation",
	lede: "Choose a password for your new Calimatic account.", button: "Set password",
	doneTitle: "Your account is ready", doneMessage: "Your password is set. You can now sign in to your apps with your email and this password.",
	spend: func(s *Server, c *fiber.Ctx, token, pw string) error {
		_, err := s.dir.AcceptInvite(c.UserContext(), token, pw)
		return err
	},
}

var resetPage = passwordFlow{
	action: directory.PathResetPassword, title: "Choose a new password",
	lede: "Enter a new password for your Calimatic account.", button: "Reset password",
	doneTitle: "Your password is reset", doneMessage: "You have been signed out everywhere. Sign in again with your new password.",
	spend: func(s *Server, c *fiber.Ctx, token, pw string) error {
		_, err := s.dir.ResetPassword(c.UserContext(), token, pw)
		return err
	},
}

func (f passwordFlow) view(token, csrf, msg string) passwordView {
	return passwordView{Title: f.title, Lede: f.lede, Button: f.button, Action: f.action, Token: token, CSRFToken: csrf, Error: msg}
}

// passwordPage shows the form. It does not check or spend the token: mail
// scanners open links, and only the form's POST may use one.
func (s *Server) passwordPage(f passwordFlow) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := c.Query("token")
		if token == "" || len(token) > 128 {
			return s.pageError(c, &oidc.Error{Code: "invalid_link", Description: "This link is incomplete. Open the link from your email again."})
		}
		return s.renderPage(c, "password", f.view(token, formCSRF(s.browser(c), f.action, token), ""))
	}
}

func (s *Server) passwordSubmit(f passwordFlow) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := params(c)
		if err != nil {
			return s.pageError(c, err)
		}
		if !s.checkCSRF(c, p["csrf_token"], f.action, p["token"]) {
			return s.pageError(c, errStaleForm)
		}
		csrf := p["csrf_token"]
		if p["password"] != p["password_confirm"] {
			return s.renderPage(c.Status(fiber.StatusBadRequest), "password", f.view(p["token"], csrf, "The two passwords do not match."))
		}
		err = f.spend(s, c, p["token"], p["password"])
		if e, ok := fault.As(err); ok {
			if e.Code == "invalid_password" {
				return s.renderPage(c.Status(fiber.StatusBadRequest), "password", f.view(p["token"], csrf, sentence(e.Message)))
			}
			return s.pageError(c, &oidc.Error{Code: e.Code, Description: sentence(e.Message)})
		}
		if err != nil {
			return s.pageError(c, err)
		}
		return s.renderPage(c, "account_done", doneView{Title: f.doneTitle, Message: f.doneMessage})
	}
}

func (s *Server) forgotPage(c *fiber.Ctx) error {
	return s.renderPage(c, "forgot", forgotView{Action: directory.PathForgotPassword, CSRFToken: formCSRF(s.browser(c), directory.PathForgotPassword, "")})
}

// forgotSubmit always answers "sent" for a valid address, so the page tells
// no one whether an account exists.
func (s *Server) forgotSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	if !s.checkCSRF(c, p["csrf_token"], directory.PathForgotPassword, "") {
		return s.pageError(c, errStaleForm)
	}
	v := forgotView{Action: directory.PathForgotPassword, CSRFToken: p["csrf_token"], Email: p["email"]}
	if err := directory.CheckEmail(v.Email); err != nil {
		e, _ := fault.As(err)
		v.Error = sentence(e.Message)
		return s.renderPage(c.Status(fiber.StatusBadRequest), "forgot", v)
	}
	allowed, err := s.allowReset(c, v.Email)
	if err != nil {
		return s.pageError(c, err)
	}
	if allowed {
		s.forgotAsync(c.UserContext(), v.Email)
	}
	v.Sent = true
	return s.renderPage(c, "forgot", v)
}

// allowReset counts a reset request against its address, so that requests
// from many IPs cannot flood one inbox. Over the limit the page still says
// "sent": it must not tell anything about the address. A limiter outage
// fails closed (ports.RateLimiter) with an error, which says nothing about
// the address either: every address asks the limiter.
func (s *Server) allowReset(c *fiber.Ctx, email string) (bool, error) {
	if !s.opts.RateLimitsEnabled {
		return true, nil
	}
	rule := s.opts.Rules.Account
	sum := sha256.Sum256([]byte(domain.NormalizeEmail(email)))
	rule.Name += "_email"
	d, err := ratelimit.Allow(c.UserContext(), s.limiter, base64.RawURLEncoding.EncodeToString(sum[:]), rule, s.clock.Now())
	return d.Allowed, err
}

// resetWork bounds the background work of one forgot-password request.
const resetWork = 30 * time.Second

// forgotAsync looks the address up and mails the link after the answer has
// gone, so the answer takes as long whether or not an account exists.
// Failures are logged; the page said "sent" either way.
func (s *Server) forgotAsync(parent context.Context, email string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), resetWork)
	go func() {
		defer cancel()
		if err := s.dir.ForgotPassword(ctx, email); err != nil {
			s.log.Warn("password reset not sent", slog.String("err", err.Error()))
		}
	}()
}

// sentence makes an API message read as a sentence on a page.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	r, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[size:] + "."
}
