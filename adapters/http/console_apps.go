package http

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// The console's apps pages: the registered clients, their grants per
// organization, their approved extended scopes and their flags. What a
// viewer sees and may change is console.Service's to say (core/console,
// apps.go); these handlers read forms and render.
const (
	pathConsoleApps = "/console/apps"
	pathConsoleApp  = "/console/apps/:clientId"
	// Checkboxes are named by prefix and value (action_read,
	// scope_organization): params refuses a parameter sent twice.
	formActionPrefix = "action_"
	formScopePrefix  = "scope_"
)

// consoleRoutesApp registers the console's apps pages.
func (s *Server) consoleRoutesApp() {
	a := s.app
	a.Get(pathConsoleApps, s.consolePage(s.consoleApps))
	a.Get(pathConsoleApp, s.consolePage(s.consoleApp))
	a.Post(pathConsoleApp+"/grants", s.consolePage(s.consoleGrantApp))
	a.Post(pathConsoleApp+"/grants/:orgId", s.consolePage(s.consoleChangeGrant))
	a.Post(pathConsoleApp+"/grants/:orgId/remove", s.consolePage(s.consoleRemoveGrant))
	a.Post(pathConsoleApp+"/settings", s.consolePage(s.consoleAppSettings))
}

// consoleAppsView is the data of the apps list and of one app's page.
type consoleAppsView struct {
	CSRFToken string
	Viewer    *console.Viewer
	Error     string
	// The list.
	Apps []consoleAppRow
	Next string // the next page's link, "" on the last
	// One app.
	App      consoleAppRow
	Grants   []consoleGrantRow
	Scopes   []consoleChoice // the extended scopes, checked when approved
	Actions  []consoleChoice // every grant action, for a new grant
	Webhooks string          // the app's webhooks page, for platform administrators
	// GrantsNext is the link to the app's next page of grants.
	GrantsNext string
}

// consoleAppRow is an app as a page shows it.
type consoleAppRow struct {
	Client   domain.Client
	Path     string // the app's page
	Grants   []consoleGrantRow
	Editable bool
	// Console is set on the console's own registration.
	Console bool
	Public  bool // no secret: token_endpoint_auth_method none
}

// consoleGrantRow is a grant as a page shows it; Actions lists every
// grant action, checked when the grant has it.
type consoleGrantRow struct {
	Org     domain.Organization
	Grant   domain.ClientGrant
	Actions []consoleChoice
	Path    string // the grant's form
}

// consoleChoice is one checkbox.
type consoleChoice struct {
	Name, Field string
	Checked     bool
}

func choices(prefix string, all, checked []string) []consoleChoice {
	out := make([]consoleChoice, 0, len(all))
	for _, a := range all {
		out = append(out, consoleChoice{Name: a, Field: prefix + a, Checked: slices.Contains(checked, a)})
	}
	return out
}

func appPath(clientID string) string { return pathConsoleApps + "/" + url.PathEscape(clientID) }

func appRow(e *console.AppEntry) consoleAppRow {
	row := consoleAppRow{Client: e.Client, Path: appPath(e.Client.ID), Editable: e.Editable, Console: e.Client.ID == console.ClientID,
		Public: e.Client.Public()}
	for _, g := range e.Grants {
		row.Grants = append(row.Grants, consoleGrantRow{
			Org: g.Org, Grant: g.Grant, Actions: choices(formActionPrefix, domain.GrantActions, g.Grant.Actions),
			Path: row.Path + "/grants/" + url.PathEscape(g.Org.ID),
		})
	}
	return row
}

func (s *Server) consoleApps(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	cursor := c.Query("cursor")
	if len(cursor) > 512 {
		return s.consoleError(c, fault.New(fault.Invalid, "invalid_cursor", "the cursor is not one the console gave out"))
	}
	p, err := s.console.Apps(c.UserContext(), v, cursor, consolePageSize)
	if err != nil {
		return s.consoleError(c, err)
	}
	view := consoleAppsView{CSRFToken: csrf, Viewer: v}
	for i := range p.Items {
		view.Apps = append(view.Apps, appRow(&p.Items[i]))
	}
	if p.NextCursor != "" {
		view.Next = pathConsoleApps + "?cursor=" + url.QueryEscape(p.NextCursor)
	}
	return s.renderPage(c, "console_apps", view)
}

func (s *Server) consoleApp(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	return s.renderConsoleApp(c, v, csrf, "")
}

// renderConsoleApp shows an app's page, with msg as the error of a form
// just sent.
func (s *Server) renderConsoleApp(c *fiber.Ctx, v *console.Viewer, csrf, msg string) error {
	cursor := c.Query("grants")
	if len(cursor) > 512 {
		cursor = "-" // not a cursor: refused as one
	}
	e, err := s.console.App(c.UserContext(), v, c.Params("clientId"), cursor)
	if err != nil {
		return s.consoleError(c, err)
	}
	row := appRow(&e)
	view := consoleAppsView{CSRFToken: csrf, Viewer: v, Error: msg, App: row, Grants: row.Grants,
		Scopes:  choices(formScopePrefix, domain.ExtendedScopes, e.Client.ApprovedScopes),
		Actions: choices(formActionPrefix, domain.GrantActions, nil)}
	if v.Platform {
		view.Webhooks = row.Path + "/webhooks"
	}
	if e.GrantsNext != "" {
		view.GrantsNext = row.Path + "?" + url.Values{"grants": {e.GrantsNext}}.Encode()
	}
	return s.renderPage(c, "console_app", view)
}

// consoleAppDone answers a change to an app: back to its page when it
// went through; the page again, with the refusal's words and status, when
// the change was refused for the viewer may make such changes but not
// this one (bad input); the 403 page for what the viewer may not see.
func (s *Server) consoleAppDone(c *fiber.Ctx, v *console.Viewer, csrf string, err error) error {
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) && v.Platform {
		return s.renderConsoleApp(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, appPath(c.Params("clientId")))
}

// checked reads a form's checkboxes of one prefix: the names after it, in
// order. An unknown name is left for the use case to refuse.
func checked(p map[string]string, prefix string) []string {
	var out []string
	for k := range p {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) consoleGrantApp(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	_, err := s.console.GrantApp(c.UserContext(), v, c.Params("clientId"), p["organization"], checked(p, formActionPrefix))
	return s.consoleAppDone(c, v, csrf, err)
}

func (s *Server) consoleChangeGrant(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	_, err := s.console.ChangeGrant(c.UserContext(), v, c.Params("clientId"), c.Params("orgId"), checked(p, formActionPrefix))
	return s.consoleAppDone(c, v, csrf, err)
}

func (s *Server) consoleRemoveGrant(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	err := s.console.RemoveGrant(c.UserContext(), v, c.Params("clientId"), c.Params("orgId"))
	return s.consoleAppDone(c, v, csrf, err)
}

func (s *Server) consoleAppSettings(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	p, _ := params(c)
	_, err := s.console.SetAppSettings(c.UserContext(), v, c.Params("clientId"), console.AppSettings{
		ApprovedScopes: checked(p, formScopePrefix), FirstParty: p["first_party"] != "", LicenseRequired: p["license_required"] != "",
	})
	return s.consoleAppDone(c, v, csrf, err)
}
