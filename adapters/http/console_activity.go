package http

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// pathConsoleActivity is an organization's activity: its events, newest
// first, filtered by type and user (a GET form, so no CSRF token).
const pathConsoleActivity = pathConsoleOrg + "/activity"

// consoleRoutesActivity registers the console's activity pages.
func (s *Server) consoleRoutesActivity() {
	s.app.Get(pathConsoleActivity, s.consolePage(s.consoleActivity))
}

// activityView is the data of the "console_activity" page.
type activityView struct {
	Viewer *console.Viewer
	Org    domain.Organization
	// Types are the event types to filter by; Type and User the filter
	// as asked.
	Types      []string
	Type, User string
	Entries    []activityRow
	Next       string // the next page's link, "" on the last
}

// activityRow is one event as the page shows it.
type activityRow struct {
	At, Type string
	// UserID is the account the event concerns ("" when none); User shows
	// it, by the email the event recorded when it did.
	UserID, User string
	UserLink     string
	Actor        string
}

func (s *Server) consoleActivity(c *fiber.Ctx, v *console.Viewer, _ string) error {
	id := c.Params("id")
	o, err := s.console.Organization(c.UserContext(), v, id)
	if err != nil {
		return s.consoleError(c, err)
	}
	f := console.ActivityFilter{Type: c.Query("type"), User: c.Query("user")}
	a, err := s.console.Activity(c.UserContext(), v, id, f, c.Query("cursor"), console.ActivityPageSize)
	if err != nil {
		return s.consoleError(c, err)
	}
	base := pathConsoleOrgs + "/" + url.PathEscape(id) + "/activity"
	view := activityView{Viewer: v, Org: o, Types: domain.EventTypes, Type: f.Type, User: f.User, Entries: activityRows(base, a.Entries)}
	if a.Next != "" {
		q := url.Values{"cursor": {a.Next}}
		if f.Type != "" {
			q.Set("type", f.Type)
		}
		if f.User != "" {
			q.Set("user", f.User)
		}
		view.Next = base + "?" + q.Encode()
	}
	return s.renderPage(c, "console_activity", view)
}

// activityRows are entries as the activity page shows them; each user
// links to base filtered by that user.
func activityRows(base string, entries []console.ActivityEntry) []activityRow {
	rows := make([]activityRow, 0, len(entries))
	for _, e := range entries {
		row := activityRow{At: e.At.UTC().Format("2006-01-02 15:04:05"), Type: e.Type, UserID: e.UserID, User: e.UserEmail, Actor: actorLabel(e.Actor)}
		if row.User == "" {
			row.User = e.UserID
		}
		if e.UserID != "" {
			row.UserLink = base + "?" + url.Values{"user": {e.UserID}}.Encode()
		}
		rows = append(rows, row)
	}
	return rows
}

// actorLabel says who made a change, in words.
func actorLabel(a console.ActorView) string {
	if a.Other {
		switch a.Kind {
		case domain.ActorSCIM:
			return "Another organization's SCIM connection"
		default:
			return "An administrator of another organization"
		}
	}
	switch a.Kind {
	case domain.ActorUser:
		return a.Name
	case domain.ActorClient:
		return "App " + a.Name
	case domain.ActorSCIM:
		return "SCIM token " + a.Name
	case domain.ActorAdmin:
		return "Admin API key " + a.Name
	case domain.ActorSystem:
		return "Calimatic (" + a.Name + ")"
	}
	return "Not recorded"
}
