package console

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// ActorOf is the actor a console request names on the events it causes:
// the viewer's account. A viewer who is not a platform administrator acts
// as the organization of the page (orgID, "" off an organization's pages),
// so that another organization that hears of the change sees that one of
// this organization's administrators made it, not who.
func ActorOf(v *Viewer, orgID string) domain.Actor {
	a := domain.Actor{Kind: domain.ActorUser, ID: v.User.ID, Name: v.User.Email}
	if !v.Platform && v.Sees(orgID) {
		a.OrganizationID = orgID
	}
	return a
}

// ActivityFilter narrows an organization's activity. Type is an event type
// (domain.EventTypes); User an account's id or email. Both may be "".
type ActivityFilter struct {
	Type, User string
}

// Activity is one page of an organization's events, newest first.
type Activity struct {
	Entries []ActivityEntry
	// Next is the cursor of the next (older) page; "" on the last.
	Next string
}

// ActivityEntry is one event as the activity page shows it.
type ActivityEntry struct {
	At   time.Time
	Type string
	// UserID and UserEmail are the account the event concerns ("" when
	// none); the email is the one the event recorded, when it did.
	UserID, UserEmail string
	Actor             ActorView
}

// ActorView is who made a change, as the viewer may know it.
type ActorView struct {
	Kind domain.ActorKind // "" when the event recorded no actor
	// ID and Name are "" for an actor of another organization, whom the
	// viewer is not told of (Other is set).
	ID, Name string
	Other    bool
}

// Activity page sizes and input bounds.
const (
	ActivityPageSize = 50
	maxUserFilter    = 254 // an email address's longest form (RFC 5321 path)
	maxCursor        = 64
)

var (
	errActivityType   = fault.New(fault.Invalid, "invalid_request", "That event type is not one the activity page knows.")
	errActivityUser   = fault.New(fault.Invalid, "invalid_request", "The user filter must be an account id or an email address of at most 254 characters.")
	errActivityCursor = fault.New(fault.Invalid, "invalid_request", "That page link is damaged. Go back to the first page of the activity.")
)

// Activity lists the events of organization orgID that f selects, newest
// first, limit a page (ActivityPageSize when 0 or less; at most
// domain.MaxEventPage), from cursor (a page's Next; "" for the newest):
// for a viewer who sees the organization (its owners and admins, and
// platform administrators). The organization's events are those it heard
// of (a member's account-wide changes included), those about it, and
// those its own administrators and SCIM connection made.
//
// f.User is an account id or an email address: an address is looked up,
// so that an administrator can filter by what they know a member by,
// and the events of the account follow it across a change of address.
// An address that names no account selects nothing, as does an account
// with no events here: the page tells nothing about accounts elsewhere.
func (s *Service) Activity(ctx context.Context, v *Viewer, orgID string, f ActivityFilter, cursor string, limit int) (Activity, error) {
	if !v.Sees(orgID) {
		return Activity{}, ErrForbidden
	}
	q := domain.EventQuery{OrganizationID: orgID, Type: f.Type, Limit: limit}
	if q.Limit <= 0 {
		q.Limit = ActivityPageSize
	}
	q.Limit = min(q.Limit, domain.MaxEventPage)
	if f.Type != "" && !slices.Contains(domain.EventTypes, f.Type) {
		return Activity{}, errActivityType
	}
	var err error
	if q.Before, err = parseCursor(cursor); err != nil {
		return Activity{}, err
	}
	userID, none, err := s.activityUser(ctx, f.User)
	if err != nil || none {
		return Activity{}, err
	}
	q.UserID = userID
	page, err := s.deps.Events.ListEvents(ctx, q)
	if err != nil {
		return Activity{}, fault.Store("list events", err)
	}
	out := Activity{Entries: make([]ActivityEntry, 0, len(page.Events))}
	for _, e := range page.Events {
		out.Entries = append(out.Entries, entryOf(v, orgID, e))
	}
	if !page.Next.IsZero() {
		out.Next = formatCursor(page.Next)
	}
	return out, nil
}

// activityUser resolves the user filter to an account id; none reports
// an email address that names no account, which selects nothing.
func (s *Service) activityUser(ctx context.Context, user string) (id string, none bool, err error) {
	user = strings.TrimSpace(user)
	switch {
	case user == "":
		return "", false, nil
	case len(user) > maxUserFilter || strings.ContainsFunc(user, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "", false, errActivityUser
	case !strings.Contains(user, "@"):
		if len(user) > 64 {
			return "", false, errActivityUser
		}
		return user, false, nil
	}
	u, err := s.deps.Users.GetUserByEmail(ctx, user)
	if errors.Is(err, domain.ErrNotFound) {
		return "", true, nil
	}
	if err != nil {
		return "", false, fault.Store("get user by email", err)
	}
	return u.ID, false, nil
}

// entryOf shows e to v on orgID's activity page.
func entryOf(v *Viewer, orgID string, e domain.Event) ActivityEntry {
	en := ActivityEntry{At: e.OccurredAt, Type: e.Type, UserID: e.UserID}
	for _, f := range e.Data {
		if s, ok := f.Value.(string); ok && f.Key == "email" {
			en.UserEmail = s
			break
		}
	}
	a := e.Actor
	en.Actor = ActorView{Kind: a.Kind, ID: a.ID, Name: a.Name}
	// An actor of another organization (its administrators, its SCIM
	// token) is that organization's business: say only that it acted.
	if a.OrganizationID != "" && a.OrganizationID != orgID && !v.Platform {
		en.Actor = ActorView{Kind: a.Kind, Other: true}
	}
	return en
}

// parseCursor reads a cursor formatCursor wrote: "seq-pos", both decimal.
func parseCursor(s string) (domain.EventCursor, error) {
	if s == "" {
		return domain.EventCursor{}, nil
	}
	seq, pos, ok := strings.Cut(s, "-")
	if !ok || len(s) > maxCursor {
		return domain.EventCursor{}, errActivityCursor
	}
	n, err1 := strconv.ParseInt(seq, 10, 64)
	p, err2 := strconv.Atoi(pos)
	if err1 != nil || err2 != nil || n <= 0 || p < 0 || strings.HasPrefix(seq, "+") || strings.HasPrefix(pos, "+") {
		return domain.EventCursor{}, errActivityCursor
	}
	return domain.EventCursor{Seq: n, Pos: p}, nil
}

func formatCursor(c domain.EventCursor) string {
	return strconv.FormatInt(c.Seq, 10) + "-" + strconv.Itoa(c.Pos)
}

// SCIMSync is the newest change an organization's SCIM connection made.
type SCIMSync struct {
	At        time.Time
	Type      string
	TokenName string
}

// LastSCIMSync returns the newest event one of the organization's SCIM
// tokens caused, and false when there is none in the log (which keeps
// the webhook retention, 30 days by default): for a viewer who keeps the
// organization's SCIM tokens (ManagesSCIM).
func (s *Service) LastSCIMSync(ctx context.Context, v *Viewer, orgID string) (SCIMSync, bool, error) {
	if !v.ManagesSCIM(orgID) {
		return SCIMSync{}, false, ErrForbidden
	}
	page, err := s.deps.Events.ListEvents(ctx, domain.EventQuery{
		OrganizationID: orgID, ActorKind: domain.ActorSCIM, ActorOrganizationID: orgID, Limit: 1,
	})
	if err != nil {
		return SCIMSync{}, false, fault.Store("list events", err)
	}
	if len(page.Events) == 0 {
		return SCIMSync{}, false, nil
	}
	e := page.Events[0]
	return SCIMSync{At: e.OccurredAt, Type: e.Type, TokenName: e.Actor.Name}, true, nil
}
