package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/gofiber/fiber/v2"
)

// The web console: a first-party app of this provider. It signs in
// through the provider's own authorization endpoint, with PKCE, like any
// app, so the sign-in page, its throttles and the MFA policies apply; no
// admin key ever reaches a browser. Its session is the access token it
// was issued, in an HttpOnly cookie scoped to /console, checked on every
// request as a resource server would (Provider.TokenUser).
const (
	pathConsole         = "/console"
	pathConsoleCallback = console.PathCallback
	pathConsoleOrgs     = "/console/organizations"
	pathConsoleOrg      = "/console/organizations/:id"
	pathConsoleSignOut  = "/console/sign-out"
	// consoleCookie holds the console's access token; consoleLoginCookie
	// the state, PKCE verifier and return path of a sign-in under way.
	consoleCookie      = "calimatic_console"
	consoleLoginCookie = "calimatic_console_login"
	consoleLoginTTL    = 10 * time.Minute
	consolePageSize    = 50
)

func (s *Server) consoleRoutes() {
	a := s.app
	a.Get(pathConsoleCallback, s.consoleCallback)
	a.Get(pathConsole, s.consolePage(s.consoleHome))
	a.Post(pathConsoleOrgs, s.consolePage(s.consoleCreateOrg))
	a.Get(pathConsoleOrg, s.consolePage(s.consoleOrg))
	a.Post(pathConsoleOrg, s.consolePage(s.consoleRenameOrg))
	a.Post(pathConsoleOrg+"/members", s.consolePage(s.consoleInvite))
	a.Post(pathConsoleOrg+"/members/:userId/suspend", s.consolePage(s.consoleMemberStatus(directory.Suspend)))
	a.Post(pathConsoleOrg+"/members/:userId/reactivate", s.consolePage(s.consoleMemberStatus(directory.Reactivate)))
	a.Post(pathConsoleOrg+"/members/:userId/role", s.consolePage(s.consoleChangeRole))
	a.Post(pathConsoleOrg+"/scim-tokens", s.consolePage(s.consoleCreateSCIMToken))
	a.Post(pathConsoleOrg+"/scim-tokens/:tokenId/revoke", s.consolePage(s.consoleRevokeSCIMToken))
	a.Post(pathConsoleSignOut, s.consolePage(s.consoleSignOut))
	s.consoleRoutesMember()
	s.consoleRoutesActivity()
	s.consoleRoutesApp()
	s.consoleRoutesWebhook()
	s.consoleRoutesKeys()
}

// consoleHandler is a console page for a signed-in viewer; csrf is the
// token its forms carry.
type consoleHandler func(c *fiber.Ctx, v *console.Viewer, csrf string) error

// consolePage signs the browser in first when its console session is
// missing or no longer good, answers 403 to an account the console shows
// nothing, and checks the CSRF token of every form.
func (s *Server) consolePage(h consoleHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := c.Cookies(consoleCookie)
		user, err := s.op.TokenUser(c.UserContext(), token, console.ClientID)
		if err != nil {
			return s.pageError(c, err)
		}
		if user == nil {
			if c.Method() != fiber.MethodGet {
				return s.pageError(c, pageErr(oidc.CodeInvalidRequest, "Your console session ended. Go back to the console and sign in again."))
			}
			return s.consoleSignIn(c, false)
		}
		v, err := s.console.ViewerOf(c.UserContext(), *user)
		if console.IsForbidden(err) {
			return s.consoleForbidden(c)
		}
		if err != nil {
			return s.pageError(c, err)
		}
		c.SetUserContext(domain.WithActor(c.UserContext(), console.ActorOf(v, c.Params("id"))))
		csrf := consoleCSRF(token)
		if c.Method() == fiber.MethodPost {
			p, err := params(c)
			if err != nil {
				return s.pageError(c, err)
			}
			if subtle.ConstantTimeCompare([]byte(p["csrf_token"]), []byte(csrf)) != 1 {
				return s.pageError(c, pageErr(oidc.CodeInvalidRequest, "This form is stale or was not sent from the console. Go back, reload the page and try again."))
			}
		}
		return h(c, v, csrf)
	}
}

// consoleCSRF derives the forms' token from the session's token, which
// other sites can't read: it changes at every sign-in.
func consoleCSRF(token string) string {
	sum := sha256.Sum256([]byte("calimatic console form\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

func (s *Server) consoleCookieOf(name, value string, expires time.Time) *fiber.Cookie {
	return &fiber.Cookie{
		Name: name, Value: value, Path: pathConsole, Expires: expires,
		HTTPOnly: true, Secure: s.opts.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	}
}

// consoleSignIn sends the browser to the authorization endpoint as the
// console's client, with a fresh state and PKCE verifier kept in a
// short-lived cookie, and the page it asked for to come back to.
// fresh asks the provider for a new sign-in (prompt=login) rather than its
// session's.
func (s *Server) consoleSignIn(c *fiber.Ctx, fresh bool) error {
	if err := s.console.Register(c.UserContext()); err != nil {
		return s.pageError(c, err)
	}
	state, verifier := s.random.Token(24), s.random.Token(32)
	back := c.Path()
	if !strings.HasPrefix(back, pathConsole) || strings.HasPrefix(back, pathConsoleCallback) {
		back = pathConsole
	}
	c.Cookie(s.consoleCookieOf(consoleLoginCookie, state+"."+verifier+"."+base64.RawURLEncoding.EncodeToString([]byte(back)), s.clock.Now().Add(consoleLoginTTL)))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {console.ClientID}, "redirect_uri": {s.opts.Issuer + pathConsoleCallback},
		"scope": {"openid profile email"}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	if fresh {
		q.Set("prompt", "login")
	}
	return s.seeOther(c, oidc.PathAuthorize+"?"+q.Encode())
}

// consoleCallback redeems the code, in process, with the verifier of the
// sign-in this browser started, and keeps the access token as the
// console's session.
func (s *Server) consoleCallback(c *fiber.Ctx) error {
	parts := strings.Split(c.Cookies(consoleLoginCookie), ".")
	c.Cookie(s.consoleCookieOf(consoleLoginCookie, "", time.Unix(0, 0)))
	if len(parts) != 3 || c.Query("state") == "" || subtle.ConstantTimeCompare([]byte(c.Query("state")), []byte(parts[0])) != 1 {
		return s.pageError(c, pageErr(oidc.CodeInvalidRequest, "This sign-in to the console was not started in this browser, or has expired. Go to the console and sign in again."))
	}
	if e := c.Query("error"); e != "" {
		return s.pageError(c, pageErr(oidc.CodeAccessDenied, "You were not signed in to the console."))
	}
	resp, err := s.op.Token(c.UserContext(), oidc.TokenRequest{
		GrantType: "authorization_code", Code: c.Query("code"), RedirectURI: s.opts.Issuer + pathConsoleCallback,
		CodeVerifier: parts[1], Client: oidc.ClientCredentials{ClientID: console.ClientID},
	})
	if err != nil {
		if _, ok := oidc.AsError(err); ok {
			return s.pageError(c, pageErr(oidc.CodeInvalidRequest, "The console could not finish signing you in. Go to the console and sign in again."))
		}
		return s.pageError(c, err)
	}
	// A token the console would refuse at once (a sign-in from the very
	// second the account's sign-ins were reset: auth_time has whole
	// seconds) would send the browser round again and again through the
	// provider's session: ask for a new sign-in instead.
	if user, err := s.op.TokenUser(c.UserContext(), resp.AccessToken, console.ClientID); err != nil {
		return s.pageError(c, err)
	} else if user == nil {
		return s.consoleSignIn(c, true)
	}
	c.Cookie(s.consoleCookieOf(consoleCookie, resp.AccessToken, s.clock.Now().Add(time.Duration(resp.ExpiresIn)*time.Second)))
	back := pathConsole
	if raw, err := base64.RawURLEncoding.DecodeString(parts[2]); err == nil && strings.HasPrefix(string(raw), pathConsole) && !strings.HasPrefix(string(raw), "//") {
		back = string(raw)
	}
	return s.seeOther(c, back)
}

// consoleSignOut ends the console's session (not the provider's: the
// account page's "Sign out" does that). The token is revoked, so a copy
// of the cookie is void too.
func (s *Server) consoleSignOut(c *fiber.Ctx, _ *console.Viewer, _ string) error {
	err := s.op.Revoke(c.UserContext(), oidc.ClientCredentials{ClientID: console.ClientID}, c.Cookies(consoleCookie), "access_token")
	if err != nil {
		return s.pageError(c, err)
	}
	c.Cookie(s.consoleCookieOf(consoleCookie, "", time.Unix(0, 0)))
	return s.renderPage(c, "signed_out", signedOutView{ClientName: "the Calimatic console"})
}

func (s *Server) consoleForbidden(c *fiber.Ctx) error {
	return s.renderPage(c.Status(fiber.StatusForbidden), "error", errorView{
		Title: "You can't use the console", Status: fiber.StatusForbidden,
		Message: "The console is for platform administrators and for the owners and administrators of an organization. Ask your organization's administrator if you need access.",
	})
}

// consoleView is the data of the console's pages.
type consoleView struct {
	CSRFToken string
	Viewer    *console.Viewer
	Orgs      []domain.Organization
	Org       domain.Organization
	Members   []domain.Member
	Next      string // the next page's link, "" on the last
	Query     string // the search (organizations or members), "" for the whole list
	Error     string
	// SCIM is set when the viewer keeps the organization's SCIM tokens;
	// NewSCIMToken is one just made, shown this once.
	SCIM         bool
	SCIMTokens   []domain.SCIMToken
	NewSCIMToken string
	// LastSCIMSync is the newest change the SCIM connection made (nil:
	// none in the log), shown with the tokens.
	LastSCIMSync *console.SCIMSync
}

func (s *Server) consoleHome(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	return s.renderConsoleHome(c, v, csrf, "")
}

func (s *Server) renderConsoleHome(c *fiber.Ctx, v *console.Viewer, csrf, msg string) error {
	cursor := c.Query("cursor")
	if len(cursor) > 256 {
		cursor = ""
	}
	q := strings.TrimSpace(c.Query("q"))
	var p directory.Page[domain.Organization]
	var err error
	if q == "" {
		p, err = s.console.Organizations(c.UserContext(), v, cursor, consolePageSize)
	} else {
		p, err = s.console.SearchOrganizations(c.UserContext(), v, q, cursor, consolePageSize)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	view := consoleView{CSRFToken: csrf, Viewer: v, Orgs: p.Items, Error: msg, Query: q}
	if p.NextCursor != "" {
		view.Next = pathConsole + "?cursor=" + url.QueryEscape(p.NextCursor)
		if q != "" {
			view.Next += "&q=" + url.QueryEscape(q)
		}
	}
	return s.renderPage(c, "console", view)
}

func (s *Server) consoleCreateOrg(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	o, err := s.console.CreateOrganization(c.UserContext(), v, strings.TrimSpace(p["name"]))
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) {
		return s.renderConsoleHome(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(o.ID))
}

func (s *Server) consoleOrg(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	return s.renderConsoleOrg(c, v, csrf, "")
}

func (s *Server) renderConsoleOrg(c *fiber.Ctx, v *console.Viewer, csrf, msg string) error {
	return s.renderConsoleOrgWith(c, v, csrf, msg, "")
}

// renderConsoleOrgWith shows an organization's page, with a SCIM token
// just made when newToken is set.
func (s *Server) renderConsoleOrgWith(c *fiber.Ctx, v *console.Viewer, csrf, msg, newToken string) error {
	id := c.Params("id")
	o, err := s.console.Organization(c.UserContext(), v, id)
	if err != nil {
		return s.consoleError(c, err)
	}
	cursor := c.Query("cursor")
	if len(cursor) > 256 {
		cursor = ""
	}
	p, err := s.consoleMembers(c, v, id, cursor)
	if err != nil {
		return s.consoleError(c, err)
	}
	view := consoleView{CSRFToken: csrf, Viewer: v, Org: o, Members: p.Items, Error: msg, NewSCIMToken: newToken, Query: c.Query("q")}
	if p.NextCursor != "" {
		view.Next = pathConsoleOrgs + "/" + url.PathEscape(id) + "?" + consoleMembersNext(c, p.NextCursor)
	}
	if v.ManagesSCIM(id) {
		view.SCIM = true
		if view.SCIMTokens, err = s.console.SCIMTokens(c.UserContext(), v, id); err != nil {
			return s.consoleError(c, err)
		}
		sync, ok, err := s.console.LastSCIMSync(c.UserContext(), v, id)
		if err != nil {
			return s.consoleError(c, err)
		}
		if ok {
			view.LastSCIMSync = &sync
		}
	}
	return s.renderPage(c, "console_org", view)
}

func (s *Server) consoleRenameOrg(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	_, err := s.console.RenameOrganization(c.UserContext(), v, c.Params("id"), strings.TrimSpace(p["name"]))
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) {
		return s.renderConsoleOrg(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(c.Params("id")))
}

// consoleError answers a use case's failure: 403 for what the viewer may
// not see (an organization that does not exist included, so the answer
// tells nothing), the error page with the rule's status and words for
// another refusal (a bad cursor, say), the error page otherwise.
func (s *Server) consoleError(c *fiber.Ctx, err error) error {
	e, ok := fault.As(err)
	switch {
	case ok && (console.IsForbidden(err) || restStatus[e.Kind] == fiber.StatusNotFound):
		return s.renderPage(c.Status(fiber.StatusForbidden), "error", errorView{
			Title: "You can't see this", Status: fiber.StatusForbidden,
			Message: "This isn't something your account can see or change in the console: it belongs to another organization, needs another role, or doesn't exist.",
		})
	case ok:
		status := restStatus[e.Kind]
		return s.renderPage(c.Status(status), "error", errorView{Title: "This request can't be completed", Message: e.Message, Status: status})
	}
	return s.pageError(c, err)
}

// pageErr is an error page's error, with a message for the person.
func pageErr(code, msg string) error { return &oidc.Error{Code: code, Description: msg} }

// consoleInvite provisions a member and mails them an invitation.
func (s *Server) consoleInvite(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	_, err := s.console.Invite(c.UserContext(), v, c.Params("id"), console.Invitation{
		Email: strings.TrimSpace(p["email"]), FirstName: strings.TrimSpace(p["first_name"]),
		LastName: strings.TrimSpace(p["last_name"]), Role: p["role"],
	})
	if errors.Is(err, directory.ErrMailNotSent) {
		s.log.Warn("console invitation not mailed", slog.String("err", err.Error()))
		err = nil // the member is provisioned; the mail is the mailer's problem, logged
	}
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) && restStatus[e.Kind] != fiber.StatusNotFound {
		return s.renderConsoleOrg(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(c.Params("id")))
}

// consoleMemberStatus suspends or reactivates a member.
func (s *Server) consoleMemberStatus(l directory.Lifecycle) consoleHandler {
	return func(c *fiber.Ctx, v *console.Viewer, csrf string) error {
		_, err := s.console.SetMemberStatus(c.UserContext(), v, c.Params("id"), c.Params("userId"), l)
		if e, ok := fault.As(err); ok && !console.IsForbidden(err) && restStatus[e.Kind] != fiber.StatusNotFound {
			return s.renderConsoleOrg(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
		}
		if err != nil {
			return s.consoleError(c, err)
		}
		return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(c.Params("id")))
	}
}

// consoleCreateSCIMToken makes a SCIM token and shows it, this once, on the
// organization's page (no redirect: the token must not be kept anywhere).
func (s *Server) consoleCreateSCIMToken(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	token, _, err := s.console.CreateSCIMToken(c.UserContext(), v, c.Params("id"), p["name"])
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) && restStatus[e.Kind] != fiber.StatusNotFound {
		return s.renderConsoleOrg(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	noStore(c)
	return s.renderConsoleOrgWith(c.Status(fiber.StatusCreated), v, csrf, "", token)
}

// consoleRevokeSCIMToken deletes a SCIM token; it stops working at once.
func (s *Server) consoleRevokeSCIMToken(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	if err := s.console.RevokeSCIMToken(c.UserContext(), v, c.Params("id"), c.Params("tokenId")); err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(c.Params("id")))
}

// consoleChangeRole gives a member another role (platform administrators, and owners between member and admin).
func (s *Server) consoleChangeRole(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	_, err := s.console.ChangeMemberRole(c.UserContext(), v, c.Params("id"), c.Params("userId"), p["role"])
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) && restStatus[e.Kind] != fiber.StatusNotFound {
		return s.renderConsoleOrg(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(c.Params("id")))
}
