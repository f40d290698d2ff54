package http

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// pathConsoleMember is one member's page in an organization.
const pathConsoleMember = pathConsoleOrg + "/members/:userId"

// consoleRoutesMember registers the console's members pages.
func (s *Server) consoleRoutesMember() {
	s.app.Get(pathConsoleMember, s.consolePage(s.consoleMember))
	s.app.Post(pathConsoleMember+"/remove", s.consolePage(s.consoleRemoveMember))
}

// memberView is the data of a member's page.
type memberView struct {
	CSRFToken string
	Viewer    *console.Viewer
	Org       domain.Organization
	Member    console.MemberDetail
	// RecentEvents are the member's latest events in the organization's
	// activity, newest first; ActivityLink is all of them there.
	RecentEvents []activityRow
	ActivityLink string
}

// memberRecentEvents is how many of a member's events their page shows.
const memberRecentEvents = 10

// consoleMember shows one member: the account, its memberships and
// licenses as far as the viewer may know them, and what the viewer may do.
func (s *Server) consoleMember(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	o, err := s.console.Organization(c.UserContext(), v, c.Params("id"))
	if err != nil {
		return s.consoleError(c, err)
	}
	d, err := s.console.Member(c.UserContext(), v, o.ID, c.Params("userId"))
	if err != nil {
		return s.consoleError(c, err)
	}
	a, err := s.console.Activity(c.UserContext(), v, o.ID, console.ActivityFilter{User: d.User.ID}, "", memberRecentEvents)
	if err != nil {
		return s.consoleError(c, err)
	}
	activity := pathConsoleOrgs + "/" + url.PathEscape(o.ID) + "/activity"
	return s.renderPage(c, "console_member", memberView{
		CSRFToken: csrf, Viewer: v, Org: o, Member: d,
		RecentEvents: activityRows(activity, a.Entries), ActivityLink: activity + "?" + url.Values{"user": {d.User.ID}}.Encode(),
	})
}

// consoleRemoveMember takes a member out of the organization
// (console.RemoveMember) and goes back to the organization's page.
func (s *Server) consoleRemoveMember(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	err := s.console.RemoveMember(c.UserContext(), v, c.Params("id"), c.Params("userId"))
	if e, ok := fault.As(err); ok && !console.IsForbidden(err) && restStatus[e.Kind] != fiber.StatusNotFound {
		return s.renderConsoleOrg(c.Status(restStatus[e.Kind]), v, csrf, e.Message)
	}
	if err != nil {
		return s.consoleError(c, err)
	}
	return s.seeOther(c, pathConsoleOrgs+"/"+url.PathEscape(c.Params("id")))
}

// consoleMembers is the organization page's members from cursor on: those
// matching the page's search (q), or every one when there is none.
func (s *Server) consoleMembers(c *fiber.Ctx, v *console.Viewer, orgID, cursor string) (directory.Page[domain.Member], error) {
	return s.console.SearchMembers(c.UserContext(), v, orgID, c.Query("q"), cursor, consolePageSize)
}

// consoleMembersNext is the query of the organization page's next page of
// members: the cursor, and the search the page shows.
func consoleMembersNext(c *fiber.Ctx, cursor string) string {
	q := url.Values{"cursor": {cursor}}
	if search := c.Query("q"); search != "" {
		q.Set("q", search)
	}
	return q.Encode()
}
