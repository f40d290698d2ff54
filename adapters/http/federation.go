package http

import (
	"net/url"

	"github.com/calimatic/calimatic-auth/core/federation"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/gofiber/fiber/v2"
)

// The sign-in page's first step and the way to and back from an
// organization's upstream provider.
const (
	// pathLoginIdentify takes the first step's email.
	pathLoginIdentify = "/login/identify"
	// pathLoginFederated takes a press of a provider's button.
	pathLoginFederated = "/login/federated"
	// pathFederatedCallback is where upstreams send the browser back: the
	// redirect URI to register with them.
	pathFederatedCallback = federation.PathCallback
)

// federationView is the data of the "federation_error" page.
type federationView struct {
	Message string
	Back    string // the sign-in page of the request, "" when it is gone
}

func (s *Server) federationRoutes() {
	s.app.Post(pathLoginIdentify, s.identifySubmit)
	s.app.Post(pathLoginFederated, s.federatedSubmit)
	s.app.Get(pathFederatedCallback, s.federatedCallback)
}

// identifySubmit takes the email of the sign-in page's first step.
func (s *Server) identifySubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	in := oidc.IdentifyInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], Email: p["email"]}
	out, err := s.op.Identify(c.UserContext(), in, s.browser(c))
	return s.followSignIn(c, in.Interaction, in.Email, out, err)
}

// federatedSubmit takes a press of a provider's button.
func (s *Server) federatedSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	in := oidc.StartFederatedInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], ProviderID: p["provider"]}
	out, err := s.op.StartFederated(c.UserContext(), in, s.browser(c))
	return s.followSignIn(c, in.Interaction, "", out, err)
}

// federatedCallback takes the browser back from an upstream. Its query is
// the upstream's answer (RFC 6749 §4.1.2); a form_post answer is not
// asked for.
func (s *Server) federatedCallback(c *fiber.Ctx) error {
	q := func(k string) string { return c.Query(k) }
	cb := federation.Callback{Code: q("code"), Error: q("error"), ErrorDescription: q("error_description")}
	out, err := s.op.FederatedCallback(c.UserContext(), q("state"), cb, s.browser(c))
	return s.followSignIn(c, "", "", out, err)
}

// followSignIn acts on an outcome of the sign-in page's federation
// forms: a message re-shows the page's first step, a failed federated
// sign-in shows why with a way back, anything else is followed.
func (s *Server) followSignIn(c *fiber.Ctx, interaction, email string, out oidc.Outcome, err error) error {
	if err != nil {
		return s.pageError(c, err)
	}
	if f := out.Federation; f != nil {
		v := federationView{Message: f.Message}
		if f.Interaction != "" {
			v.Back = pathLogin + "?interaction=" + url.QueryEscape(f.Interaction) + "&change=1"
		}
		return s.renderPage(c.Status(fiber.StatusBadRequest), "federation_error", v)
	}
	if out.LoginError != "" {
		pr, page, err := s.op.LoginPrompt(c.UserContext(), interaction, s.browser(c))
		if err != nil || page != nil {
			return s.pageError(c, firstErr(err, page))
		}
		return s.renderLoginStep(c.Status(fiber.StatusBadRequest), pr, email, out.LoginError, true)
	}
	return s.follow(c, out)
}
