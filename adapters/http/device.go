package http

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// The device authorization grant (RFC 8628): its endpoint, and the pages
// where the user enters the user code (oidc.PathDevice, the
// verification_uri) and approves (pathDeviceConfirm). The pages are plain
// forms that need no JavaScript; an unauthenticated browser goes through
// the login page in between.

// pathDeviceConfirm is the device approval page.
const pathDeviceConfirm = "/device/confirm"

// deviceView is the data of the "device" page, where the user code is entered.
type deviceView struct {
	Action, CSRFToken string
	UserCode          string // prefill: verification_uri_complete, or the last attempt
	Error             string
}

// deviceDoneView is the data of the "account_done" page after a decision.
func deviceDoneView(r oidc.DeviceResult) doneView {
	name := r.ClientName
	if name == "" {
		name = "the application"
	}
	if r.Approved {
		return doneView{Title: "Your device is connected", Message: "You signed in to " + name + " on your device. You can close this page and return to it."}
	}
	return doneView{Title: "Request denied", Message: "Your device was not signed in, and " + name + " received nothing from your account."}
}

// deviceAuthorize handles the device authorization endpoint (RFC 8628 §3.1).
func (s *Server) deviceAuthorize(c *fiber.Ctx) error {
	p, cc, err := backChannel(c)
	if err != nil {
		return s.oauthError(c, err)
	}
	resp, err := s.op.DeviceAuthorize(c.UserContext(), oidc.DeviceAuthorizationRequest{Scope: p["scope"], Client: cc})
	if err != nil {
		return s.oauthError(c, err)
	}
	noStore(c)
	return c.JSON(resp)
}

// devicePage shows the user code form; verification_uri_complete's
// user_code fills it in, and the user still submits it, so that a link
// alone decides nothing.
func (s *Server) devicePage(c *fiber.Ctx) error {
	typed := c.Query("user_code")
	if code, ok := domain.NormalizeUserCode(typed); ok {
		typed = domain.FormatUserCode(code)
	} else if len(typed) > 20 {
		typed = ""
	}
	b := s.browser(c)
	return s.renderPage(c, "device", deviceView{Action: oidc.PathDevice, CSRFToken: formCSRF(b, oidc.PathDevice, ""), UserCode: typed})
}

// deviceSubmit looks up an entered user code and goes on to sign in or to
// approve; a wrong code shows the form again.
func (s *Server) deviceSubmit(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	if !s.checkCSRF(c, p["csrf_token"], oidc.PathDevice, "") {
		return s.pageError(c, errStaleDeviceForm)
	}
	b := s.browser(c)
	out, err := s.op.EnterUserCode(c.UserContext(), p["user_code"], b)
	if err != nil {
		return s.pageError(c, err)
	}
	if out.Retry != "" {
		status := fiber.StatusBadRequest
		if out.Throttled {
			status = fiber.StatusTooManyRequests
		}
		typed := p["user_code"]
		if len(typed) > 20 {
			typed = ""
		}
		v := deviceView{Action: oidc.PathDevice, CSRFToken: p["csrf_token"], UserCode: typed, Error: out.Retry}
		return s.renderPage(c.Status(status), "device", v)
	}
	return s.follow(c, out.Outcome)
}

var errStaleDeviceForm = &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "This form has expired or was opened in another browser. Open the page again and enter the code."}

// deviceConfirmPage shows the approval form of a pending device request.
func (s *Server) deviceConfirmPage(c *fiber.Ctx) error {
	pr, page, err := s.op.DevicePrompt(c.UserContext(), c.Query("interaction"), s.browser(c))
	if err != nil || page != nil {
		return s.pageError(c, firstErr(err, page))
	}
	v := consentView{
		Action: pathDeviceConfirm, InteractionID: pr.Interaction, CSRFToken: pr.CSRFToken,
		ClientName: pr.Client.Name, ClientURI: pr.Client.ClientURI, LogoURI: pr.Client.LogoURI, UserEmail: pr.UserEmail,
	}
	for _, sc := range pr.Scopes {
		if d, ok := domain.ScopeDescriptions[sc]; ok {
			v.Scopes = append(v.Scopes, scopeView{Name: sc, Description: d})
		}
	}
	return s.renderPage(c, "device_confirm", v)
}

// deviceDecide records the user's decision on a device request.
func (s *Server) deviceDecide(c *fiber.Ctx) error {
	p, err := params(c)
	if err != nil {
		return s.pageError(c, err)
	}
	decision := p["decision"]
	if decision != "allow" && decision != "deny" {
		return s.pageError(c, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "Choose Approve or Deny."})
	}
	in := oidc.ConsentInput{Interaction: p["interaction"], CSRFToken: p["csrf_token"], Allow: decision == "allow"}
	res, err := s.op.DecideDevice(c.UserContext(), in, s.browser(c))
	if err != nil || res.Page != nil {
		return s.pageError(c, firstErr(err, res.Page))
	}
	return s.renderPage(c, "account_done", deviceDoneView(res))
}

// deviceConfirmURL is where the browser goes to approve a pending request.
func deviceConfirmURL(interaction string) string {
	return pathDeviceConfirm + "?interaction=" + url.QueryEscape(interaction)
}
