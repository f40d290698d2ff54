package http

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

// The account page's "Active sessions" and "Connected apps" sections, and
// their two forms. Both only take access away, so neither wants a recent
// sign-in: a user who fears a stolen session, or sees an app they do not
// know, must be able to cut it off at once, and the worst a thief with the
// session can do with them is make the user sign in or consent again.

// sessionItem is one line of "Active sessions".
type sessionItem struct {
	SignedIn, LastActive, How string
	Apps                      string // the apps' names, "" for none
	Current                   bool
}

// appItem is one entry of "Connected apps". ClientName, ClientURI and
// LogoURI are what the "client" template shows.
type appItem struct {
	ClientID, ClientName, ClientURI, LogoURI string
	Since                                    string
	Scopes                                   []scopeView
}

func (s *Server) accountSessionRoutes() {
	s.app.Post(pathAccount+"/sessions/end-others", s.holderForm(s.accountEndOthers))
	s.app.Post(pathAccount+"/apps/revoke", s.holderForm(s.accountRevokeApp))
}

// accountActivity fills in the page's sessions and apps.
func (s *Server) accountActivity(ctx context.Context, b oidc.Browser, v *accountView) error {
	sessions, err := s.op.AccountSessions(ctx, b)
	if err != nil {
		return err
	}
	for _, se := range sessions {
		v.Sessions = append(v.Sessions, sessionItem{
			SignedIn: when(se.AuthTime), LastActive: when(se.LastSeen), How: howSignedIn(se.AMR),
			Apps: strings.Join(se.Apps, ", "), Current: se.Current,
		})
		v.OtherSessions = v.OtherSessions || !se.Current
	}
	apps, err := s.op.AccountApps(ctx, b)
	if err != nil {
		return err
	}
	for _, app := range apps {
		item := appItem{
			ClientID: app.ClientID, ClientName: app.Name, ClientURI: app.ClientURI, LogoURI: app.LogoURI,
			Since: app.GrantedAt.UTC().Format("2 January 2006"),
		}
		for _, sc := range app.Scopes {
			item.Scopes = append(item.Scopes, scopeView{Name: sc.Name, Description: sc.Description})
		}
		v.Apps = append(v.Apps, item)
	}
	return nil
}

// when is an instant as the account page writes it. The user's time zone
// is unknown, so it says UTC.
func when(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

// amrWords are the sign-in methods in words (RFC 8176 values; "mfa" only
// sums the others up). A recovery code counts as "otp", as its sign-in
// does.
var amrWords = map[string]string{
	"pwd": "a password", "otp": "an authenticator code", "hwk": "a passkey", "swk": "a passkey",
}

// howSignedIn says how a session signed in ("a password and an
// authenticator code"), "" when it cannot say.
func howSignedIn(amr []string) string {
	var words []string
	for _, m := range amr {
		if w, ok := amrWords[m]; ok && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return strings.Join(words, " and ")
}

func (s *Server) accountEndOthers(c *fiber.Ctx, a *holder) error {
	if _, err := s.op.EndOtherSessions(c.UserContext(), a.b); err != nil {
		return s.activityError(c, a, err)
	}
	return s.done(c, "sessions")
}

func (s *Server) accountRevokeApp(c *fiber.Ctx, a *holder) error {
	if err := s.op.RevokeApp(c.UserContext(), a.b, a.form["client_id"]); err != nil {
		return s.activityError(c, a, err)
	}
	return s.done(c, "app_revoked")
}

// activityError answers a refused change: a session that ended meanwhile
// signs in again, an app the user gave no access to is said so on the
// page, anything else is the failure's own page.
func (s *Server) activityError(c *fiber.Ctx, a *holder, err error) error {
	switch {
	case errors.Is(err, oidc.ErrNotSignedIn):
		if again, err := s.signedIn(c); again == nil {
			return err
		}
		return s.seeOther(c, pathAccount) // signed in again meanwhile
	case errors.Is(err, oidc.ErrAppNotConnected):
		return s.renderAccount(c.Status(fiber.StatusNotFound), a, "", oidc.ErrAppNotConnected.Description)
	}
	return s.pageError(c, err)
}
