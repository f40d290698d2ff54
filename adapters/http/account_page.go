package http

import (
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// The account page at /account, where the signed-in holder manages their
// own account: name, password, second factors. Plain forms that need no
// JavaScript; each carries a CSRF token derived from the session's secret
// (formCSRF), so it is void once the session ends. Changing how the
// account signs in wants a recent sign-in (oidc.RecentSignIn).

const pathAccount = "/account"

// accountView is the data of the "account" page.
type accountView struct {
	CSRFToken                    string
	Email, GivenName, FamilyName string
	Notice, Error, Policy        string
	SignOut                      string
	MinPassword                  int
	Recent, TOTP, HasFactor      bool
	TOTPSince                    string
	RecoveryLeft                 int
	PasskeysOn                   bool
	Passkeys                     []passkeyView
	Sessions                     []sessionItem
	OtherSessions                bool
	Apps                         []appItem
}

// totpView is the data of the "account_totp" page.
type totpView struct {
	CSRFToken, Error string
	QR               template.URL
	Secret, URI      string
}

// holder is the signed-in account holder of a request.
type holder struct {
	b    oidc.Browser
	sess *domain.Session
	user *domain.User
	form map[string]string
}

// notices are what a change's redirect (?done=) shows: fixed texts, so a
// link cannot put words on the page.
var notices = map[string]string{
	"name":            "Your name was saved.",
	"password":        "Your password was changed.",
	"totp_on":         "Two-step verification is on: signing in asks for a code from your authenticator app.",
	"totp_off":        "The authenticator app was removed.",
	"passkey_added":   "The passkey was added. You can sign in with it, without your password.",
	"passkey_removed": "The passkey was removed.",
	"sessions":        "You were signed out everywhere else. Other browsers and devices must sign in again.",
	"app_revoked":     "The app's access was revoked. It must ask you again before it can use your account.",
}

func (s *Server) accountPageRoutes() {
	a := s.app
	a.Get(pathAccount, s.accountHome)
	a.Post(pathAccount+"/name", s.holderForm(s.accountName))
	// Each answer checks a password, so it is rate-limited per IP.
	a.Post(pathAccount+"/password", s.limit(s.opts.Rules.Account, s.ipKey), s.holderForm(s.accountPassword))
	a.Get(pathAccount+"/totp", s.accountTOTPPage)
	a.Post(pathAccount+"/totp", s.holderForm(s.recent(s.accountTOTPConfirm)))
	a.Post(pathAccount+"/totp/remove", s.holderForm(s.recent(s.accountTOTPRemove)))
	a.Post(pathAccount+"/recovery-codes", s.holderForm(s.recent(s.accountRecoveryCodes)))
	a.Post(pathAccount+"/reauth", s.holderForm(s.accountReauth))
	s.passkeyRoutes()
	s.accountSessionRoutes()
}

// signedIn returns the request's account holder, or nil after answering
// with the sign-in that comes back to the account page.
func (s *Server) signedIn(c *fiber.Ctx) (*holder, error) {
	b := s.browser(c)
	sess, user, err := s.op.AccountSession(c.UserContext(), b)
	if err != nil {
		return nil, s.pageError(c, err)
	}
	if sess == nil {
		// Each sign-in stores a pending request, as the authorization
		// endpoint's do: it counts against the same limit per address.
		if limited, err := s.limitSignInStart(c); limited {
			return nil, err
		}
		out, err := s.op.AccountSignIn(c.UserContext(), b, pathAccount, "", false)
		if err != nil {
			return nil, s.pageError(c, err)
		}
		return nil, s.follow(c, out)
	}
	return &holder{b: b, sess: sess, user: user}, nil
}

// limitSignInStart counts a sign-in the account page starts under the
// authorization endpoint's rule. Past it, it answers 429 and reports true
// with the answer's error (nil once written): the caller stops there.
func (s *Server) limitSignInStart(c *fiber.Ctx) (bool, error) {
	rule := s.opts.Rules.Authorize
	if !s.opts.RateLimitsEnabled || !rule.Enabled() {
		return false, nil
	}
	d, err := ratelimit.Allow(c.UserContext(), s.limiter, s.ipKey(c), rule, s.clock.Now())
	if err != nil {
		return true, s.pageError(c, err)
	}
	if !d.Allowed {
		rateHeaders(c, d)
		return true, s.pageError(c, &oidc.Error{Code: oidc.CodeRateLimited, Description: "Too many sign-ins were started from your network. Try again in a minute.", RateLimit: &d})
	}
	return false, nil
}

// holderForm checks a POST's session and CSRF token before h.
func (s *Server) holderForm(h func(c *fiber.Ctx, a *holder) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := params(c)
		if err != nil {
			return s.pageError(c, err)
		}
		a, err := s.signedIn(c)
		if a == nil {
			return err
		}
		if !s.checkCSRF(c, p["csrf_token"], pathAccount, "") {
			return s.pageError(c, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "This form has expired or was opened in another browser. Open your account page again."})
		}
		a.form = p
		c.SetUserContext(domain.WithActor(c.UserContext(), domain.Actor{Kind: domain.ActorUser, ID: a.user.ID, Name: a.user.Email}))
		return h(c, a)
	}
}

// recent lets h run only after a recent sign-in.
func (s *Server) recent(h func(c *fiber.Ctx, a *holder) error) func(c *fiber.Ctx, a *holder) error {
	return func(c *fiber.Ctx, a *holder) error {
		if !s.op.Recent(a.sess) {
			return s.renderAccount(c.Status(fiber.StatusForbidden), a, "", "To change how you sign in, sign in again first.")
		}
		return h(c, a)
	}
}

// accountHome shows the account page, or signs the browser in first.
func (s *Server) accountHome(c *fiber.Ctx) error {
	a, err := s.signedIn(c)
	if a == nil {
		return err
	}
	return s.renderAccount(c, a, notices[c.Query("done")], "")
}

func (s *Server) renderAccount(c *fiber.Ctx, a *holder, notice, msg string) error {
	ctx := c.UserContext()
	f, err := s.mfa.Factors(ctx, a.user.ID)
	if err != nil {
		return s.pageError(c, err)
	}
	required, invited, err := s.mfa.Policy(ctx, a.user.ID)
	if err != nil {
		return s.pageError(c, err)
	}
	v := accountView{
		CSRFToken: formCSRF(a.b, pathAccount, ""), Email: a.user.Email,
		GivenName: a.user.GivenName, FamilyName: a.user.FamilyName, Notice: notice, Error: msg,
		SignOut: oidc.PathEndSession, MinPassword: directory.MinPasswordLen, Recent: s.op.Recent(a.sess),
		TOTP: f.TOTP != nil, HasFactor: f.HasSecondFactor(), RecoveryLeft: f.UnusedRecoveryCodes(),
	}
	if f.TOTP != nil {
		v.TOTPSince = f.TOTP.CreatedAt.UTC().Format("2 January 2006")
	}
	v.PasskeysOn = s.mfa.PasskeysOn()
	for _, pk := range f.Passkeys {
		pv := passkeyView{
			ID: base64.RawURLEncoding.EncodeToString(pk.ID), Name: pk.Name,
			Created: pk.CreatedAt.UTC().Format("2 January 2006"), LastUsed: "never", Synced: pk.BackupEligible,
		}
		if !pk.LastUsedAt.IsZero() {
			pv.LastUsed = pk.LastUsedAt.UTC().Format("2 January 2006")
		}
		v.Passkeys = append(v.Passkeys, pv)
	}
	switch {
	case required:
		v.Policy = "Your school requires two-step verification. Without a second factor, your next sign-in asks you to set one up."
	case invited && !f.HasSecondFactor():
		v.Policy = "Your school recommends two-step verification: add an authenticator app or a passkey, so a stolen password is not enough to sign in as you."
	}
	if err := s.accountActivity(ctx, a.b, &v); err != nil {
		return s.pageError(c, err)
	}
	return s.renderPage(c, "account", v)
}

// done redirects back to the account page with a notice.
func (s *Server) done(c *fiber.Ctx, what string) error {
	return s.seeOther(c, pathAccount+"?done="+what)
}

// formError shows a change's refusal on the account page: a fault's
// description with its status, or the failure's own page.
func (s *Server) formError(c *fiber.Ctx, a *holder, err error) error {
	if f, ok := fault.As(err); ok && f.Kind == fault.Invalid {
		return s.renderAccount(c.Status(fiber.StatusBadRequest), a, "", sentence(f.Message))
	}
	return s.pageError(c, err)
}

func (s *Server) accountName(c *fiber.Ctx, a *holder) error {
	if _, err := s.dir.UpdateOwnName(c.UserContext(), a.user.ID, a.form["given_name"], a.form["family_name"]); err != nil {
		return s.formError(c, a, err)
	}
	return s.done(c, "name")
}

func (s *Server) accountPassword(c *fiber.Ctx, a *holder) error {
	err := s.dir.ChangeOwnPassword(c.UserContext(), a.user.ID, a.form["current_password"], a.form["new_password"])
	if errors.Is(err, directory.ErrMailNotSent) {
		s.log.Warn("mail not sent", slog.String("err", err.Error()))
	} else if err != nil {
		return s.formError(c, a, err)
	}
	return s.done(c, "password")
}

// accountTOTPPage shows the authenticator to set up.
func (s *Server) accountTOTPPage(c *fiber.Ctx) error {
	a, err := s.signedIn(c)
	if a == nil {
		return err
	}
	if !s.op.Recent(a.sess) {
		return s.renderAccount(c.Status(fiber.StatusForbidden), a, "", "To change how you sign in, sign in again first.")
	}
	return s.renderTOTP(c, a, "")
}

func (s *Server) renderTOTP(c *fiber.Ctx, a *holder, msg string) error {
	en, err := s.mfa.StartTOTP(c.UserContext(), a.user.ID, mfa.SessionOwner(a.sess.SID))
	if err != nil {
		return s.pageError(c, err)
	}
	return s.renderPage(c, "account_totp", totpView{
		CSRFToken: formCSRF(a.b, pathAccount, ""), Error: msg, QR: qrDataURI(en.URI), Secret: en.Secret, URI: en.URI,
	})
}

func (s *Server) accountTOTPConfirm(c *fiber.Ctx, a *holder) error {
	codes, err := s.mfa.ConfirmTOTP(c.UserContext(), a.user.ID, mfa.SessionOwner(a.sess.SID), a.form["code"])
	switch {
	case errors.Is(err, mfa.ErrThrottled):
		return s.renderTOTP(c.Status(fiber.StatusTooManyRequests), a, "Too many codes were tried for this account. Wait a few minutes and try again.")
	case errors.Is(err, mfa.ErrWrongCode):
		return s.renderTOTP(c.Status(fiber.StatusBadRequest), a, "That code is not right. Try again.")
	case errors.Is(err, mfa.ErrNoEnrolment):
		return s.renderTOTP(c.Status(fiber.StatusBadRequest), a, "The setup expired. Scan the new code and try again.")
	case err != nil:
		return s.pageError(c, err)
	}
	if codes != nil {
		return s.renderPage(c, "recovery_codes", codesView{Action: pathAccount + "?done=totp_on", Codes: codes})
	}
	return s.done(c, "totp_on")
}

func (s *Server) accountTOTPRemove(c *fiber.Ctx, a *holder) error {
	err := s.mfa.RemoveTOTP(c.UserContext(), a.user.ID)
	if err != nil && !errors.Is(err, mfa.ErrNoFactor) {
		return s.pageError(c, err)
	}
	return s.done(c, "totp_off")
}

func (s *Server) accountRecoveryCodes(c *fiber.Ctx, a *holder) error {
	codes, err := s.mfa.RegenerateRecoveryCodes(c.UserContext(), a.user.ID)
	if errors.Is(err, mfa.ErrNoFactor) {
		return s.renderAccount(c.Status(fiber.StatusBadRequest), a, "", "Recovery codes come with a second factor. Set one up first.")
	}
	if err != nil {
		return s.pageError(c, err)
	}
	return s.renderPage(c, "recovery_codes", codesView{Action: pathAccount, Codes: codes})
}

// accountReauth signs the holder in again, for a sensitive change.
func (s *Server) accountReauth(c *fiber.Ctx, a *holder) error {
	out, err := s.op.AccountSignIn(c.UserContext(), a.b, pathAccount, a.user.Email, true)
	if err != nil {
		return s.pageError(c, err)
	}
	return s.follow(c, out)
}
