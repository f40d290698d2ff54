package http

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

const bindingCookie = "calimatic_browser"

// cookieNames are the names of the session and binding cookies. With
// Secure cookies they carry the __Host- prefix, so the browser accepts them
// only from this origin, over https, for the whole path and no Domain: a
// sibling subdomain cannot plant a binding or a session of its choosing.
type cookieNames struct{ session, binding string }

func newCookieNames(opts Options) cookieNames {
	n := cookieNames{session: opts.SessionCookie, binding: bindingCookie}
	if opts.SecureCookies {
		for _, p := range []*string{&n.session, &n.binding} {
			// A configured __Secure- name becomes __Host-: the host lock is
			// the point.
			*p = "__Host-" + strings.TrimPrefix(strings.TrimPrefix(*p, "__Host-"), "__Secure-")
		}
	}
	return n
}

// browser reads the session and binding cookies, making a binding cookie
// when the browser has none. The binding lasts as long as the browser
// session: it ties pending sign-ins and forms to this browser, and nothing
// of it needs to outlive a restart.
func (s *Server) browser(c *fiber.Ctx) oidc.Browser {
	b := oidc.Browser{SessionCookie: c.Cookies(s.cookies.session), Binding: c.Cookies(s.cookies.binding), IP: s.clientIP(c)}
	if len(b.SessionCookie) > 128 {
		b.SessionCookie = ""
	}
	if len(b.Binding) < 32 || len(b.Binding) > 128 {
		b.Binding = s.random.Token(32)
		s.setCookie(c, s.cookies.binding, b.Binding, time.Time{})
	}
	return b
}

// setCookie sets an HttpOnly, SameSite=Lax cookie for the whole site;
// a zero expires makes a browser-session cookie.
func (s *Server) setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: s.opts.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

func (s *Server) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{
		Name: name, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, Secure: s.opts.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// authorizeParams reads an authorization request's parameters, at the
// authorization endpoint or pushed (RFC 9126 §2.1).
func authorizeParams(p map[string]string) oidc.AuthorizeParams {
	return oidc.AuthorizeParams{
		ClientID: p["client_id"], RedirectURI: p["redirect_uri"], ResponseType: p["response_type"],
		ResponseMode: p["response_mode"], Scope: p["scope"], State: p["state"], Nonce: p["nonce"],
		CodeChallenge: p["code_challenge"], CodeChallengeMethod: p["code_challenge_method"],
		Prompt: p["prompt"], MaxAge: p["max_age"], LoginHint: p["login_hint"],
		Request: p["request"], RequestURI: p["request_uri"], DPoPJKT: p["dpop_jkt"], Claims: p["claims"], IDTokenHint: p["id_token_hint"],
		ACRValues: p["acr_values"],
	}
}

// authorize handles the authorization endpoint (GET and POST, OIDC Core §3.1.2.1).
func (s *Server) authorize(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	out, err := s.op.Authorize(c.UserContext(), authorizeParams(p), s.browser(c))
	if err != nil {
		return s.pageError(c, err)
	}
	return s.follow(c, out)
}

// follow acts on an outcome of the browser flow.
func (s *Server) follow(c *fiber.Ctx, out oidc.Outcome) error {
	if out.Session != nil {
		s.setCookie(c, s.cookies.session, out.Session.Cookie, out.Session.ExpiresAt)
	}
	switch {
	case out.Page != nil:
		return s.pageError(c, out.Page)
	case out.Step == oidc.StepLogin:
		return s.seeOther(c, pathLogin+"?interaction="+url.QueryEscape(out.Interaction))
	case out.Step == oidc.StepConsent:
		return s.seeOther(c, pathConsent+"?interaction="+url.QueryEscape(out.Interaction))
	case out.Step == oidc.StepFactor:
		return s.seeOther(c, pathLoginFactor+"?interaction="+url.QueryEscape(out.Interaction))
	case out.Step == oidc.StepDevice:
		return s.seeOther(c, deviceConfirmURL(out.Interaction))
	default:
		return s.seeOther(c, out.RedirectTo)
	}
}

// seeOther redirects with 303, so a POST is followed by a GET.
func (s *Server) seeOther(c *fiber.Ctx, to string) error {
	htmlHeaders(c)
	return c.Redirect(to, fiber.StatusSeeOther)
}

// loginPage shows the sign-in page of a pending request. Where
// organizations sign in upstream (EmailFirst), its first step asks for the
// email alone until an email is known, then comes the password step;
// elsewhere the one form asks for both. A
// known email (login_hint, or the first step's) whose organization signs
// its users in upstream sends the browser there instead, once; change=1
// asks for the first step whatever is known.
func (s *Server) loginPage(c *fiber.Ctx) error {
	id, b, ctx := c.Query("interaction"), s.browser(c), c.UserContext()
	change := c.Query("change") != ""
	first, err := s.op.EmailFirst(ctx)
	if err != nil {
		return s.pageError(c, err)
	}
	pr, page, err := s.op.LoginPrompt(ctx, id, b)
	if err != nil || page != nil {
		return s.pageError(c, firstErr(err, page))
	}
	if first && !change && pr.LoginHint != "" {
		out, ok, err := s.op.HomeRealm(ctx, id, b)
		if err != nil || ok {
			return s.followSignIn(c, id, "", out, err)
		}
	}
	return s.renderLoginStep(c, pr, pr.LoginHint, "", change || pr.LoginHint == "")
}

// renderLogin shows the password step.
func (s *Server) renderLogin(c *fiber.Ctx, pr oidc.Prompt, email, msg string) error {
	return s.renderLoginStep(c, pr, email, msg, false)
}

// renderLoginStep shows the sign-in page: its first step (the email
// alone) when first is set and organizations sign in upstream, else the
// password step; with the buttons of the client's organizations'
// providers.
func (s *Server) renderLoginStep(c *fiber.Ctx, pr oidc.Prompt, email, msg string, first bool) error {
	ctx := c.UserContext()
	federated, err := s.op.EmailFirst(ctx)
	if err != nil {
		return s.pageError(c, err)
	}
	var buttons []oidc.ProviderButton
	if federated {
		if buttons, err = s.op.LoginButtons(ctx, pr); err != nil {
			return s.pageError(c, err)
		}
	}
	return s.renderPage(c, "login", loginView{
		Action: pathLogin, IdentifyAction: pathLoginIdentify, FederatedAction: pathLoginFederated,
		InteractionID: pr.Interaction, CSRFToken: pr.CSRFToken,
		ClientName: pr.Client.Name, ClientURI: pr.Client.ClientURI, LogoURI: pr.Client.LogoURI,
		Email: email, Error: msg, Passkeys: s.op.PasskeysOn(),
		First: federated && first, ChangeEmail: federated && !first, Providers: buttons,
	})
}

// loginSubmit checks the login form.
func (s *Server) loginSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	b := s.browser(c)
	in := oidc.LoginInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], Email: p["email"], Password: p["password"]}
	out, err := s.op.Login(c.UserContext(), in, b)
	if err != nil {
		return s.pageError(c, err)
	}
	if out.LoginError != "" {
		pr, page, err := s.op.LoginPrompt(c.UserContext(), in.Interaction, b)
		if err != nil || page != nil {
			return s.pageError(c, firstErr(err, page))
		}
		status := fiber.StatusUnauthorized
		if out.Throttled {
			status = fiber.StatusTooManyRequests
		}
		return s.renderLogin(c.Status(status), pr, in.Email, out.LoginError)
	}
	return s.follow(c, out)
}

// consentPage shows the consent form of a pending request.
func (s *Server) consentPage(c *fiber.Ctx) error {
	pr, page, err := s.op.ConsentPrompt(c.UserContext(), c.Query("interaction"), s.browser(c))
	if err != nil || page != nil {
		return s.pageError(c, firstErr(err, page))
	}
	v := consentView{
		Action: pathConsent, InteractionID: pr.Interaction, CSRFToken: pr.CSRFToken,
		ClientName: pr.Client.Name, ClientURI: pr.Client.ClientURI, LogoURI: pr.Client.LogoURI,
		PolicyURI: pr.Client.PolicyURI, TosURI: pr.Client.TosURI, UserEmail: pr.UserEmail,
	}
	for _, sc := range pr.Scopes {
		if d, ok := domain.ScopeDescriptions[sc]; ok {
			v.Scopes = append(v.Scopes, scopeView{Name: sc, Description: d})
		}
	}
	return s.renderPage(c, "consent", v)
}

// consentSubmit records the user's decision.
func (s *Server) consentSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	decision := p["decision"]
	if decision != "allow" && decision != "deny" {
		return s.pageError(c, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "Choose Allow or Deny."})
	}
	in := oidc.ConsentInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], Allow: decision == "allow"}
	out, err := s.op.Consent(c.UserContext(), in, s.browser(c))
	if err != nil {
		return s.pageError(c, err)
	}
	return s.follow(c, out)
}

// firstErr returns err, or page when err is nil.
func firstErr(err error, page *oidc.Error) error {
	if err != nil {
		return err
	}
	return page
}
