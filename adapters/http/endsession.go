package http

import (
	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

// endSession handles RP-initiated logout (GET and POST). The confirmation
// form posts back here with decision=logout and its CSRF token.
func (s *Server) endSession(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	in := oidc.EndSessionParams{
		IDTokenHint: p["id_token_hint"], ClientID: p["client_id"],
		PostLogoutRedirectURI: p["post_logout_redirect_uri"], State: p["state"],
	}
	b := s.browser(c)
	if p["decision"] == "cancel" {
		return s.renderPage(c, "error", errorView{
			Title: "You are still signed in", Message: "Nothing changed. You can close this window.", Status: fiber.StatusOK,
		})
	}
	confirmed := c.Method() == fiber.MethodPost && p["decision"] == "logout"
	out, err := s.op.EndSession(c.UserContext(), in, b, confirmed, p["csrf_token"])
	if err != nil {
		return s.pageError(c, err)
	}
	if out.ClearSession {
		s.clearCookie(c, s.cookies.session)
	}
	switch {
	case out.Page != nil:
		return s.pageError(c, out.Page)
	case out.Confirm:
		return s.renderPage(c, "logout", logoutView{
			Action: oidc.PathEndSession, CSRFToken: out.CSRFToken, ClientName: out.ClientName,
			ClientID: in.ClientID, PostLogoutRedirectURI: in.PostLogoutRedirectURI, State: in.State,
		})
	case out.RedirectTo != "":
		return s.seeOther(c, out.RedirectTo)
	default:
		return s.renderPage(c, "signed_out", signedOutView{ClientName: out.ClientName})
	}
}
