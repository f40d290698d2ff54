package http

import (
	"log/slog"
	"time"

	"github.com/calimatic/calimatic-auth/core/console"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/gofiber/fiber/v2"
)

// The console's signing keys page, for platform administrators: the
// published keys, where each is in its life, and a Rotate button that runs
// the provider's rotation as the admin API does.
const (
	pathConsoleKeys       = "/console/keys"
	pathConsoleKeysRotate = "/console/keys/rotate"
)

// consoleRoutesKeys registers the console's keys pages.
func (s *Server) consoleRoutesKeys() {
	s.app.Get(pathConsoleKeys, s.consolePage(s.consoleKeys))
	s.app.Post(pathConsoleKeysRotate, s.consolePage(s.consoleRotateKeys))
}

// keysView is the data of the "console_keys" page.
type keysView struct {
	CSRFToken string
	Viewer    *console.Viewer
	Keys      []keyRow
	// Rotated says the keys were just rotated.
	Rotated bool
}

// keyRow is one published key as the page shows it; a date the signer
// does not know is "".
type keyRow struct {
	KID, Algorithm, State                    string
	Created, ActiveAt, RetiredAt, LeavesJWKS string
}

func (s *Server) consoleKeys(c *fiber.Ctx, v *console.Viewer, csrf string) error {
	keys, err := s.console.SigningKeys(c.UserContext(), v)
	if err != nil {
		return s.consoleError(c, err)
	}
	noStore(c)
	return s.renderPage(c, "console_keys", keysView{
		CSRFToken: csrf, Viewer: v, Keys: keyRows(keys), Rotated: c.Query("rotated") == "1",
	})
}

// consoleRotateKeys rotates, then sends the browser back to the page with
// a See Other, so that reloading it shows the keys and rotates nothing
// again: a second rotation would make the next key just published sign
// before relying parties have fetched it.
func (s *Server) consoleRotateKeys(c *fiber.Ctx, v *console.Viewer, _ string) error {
	if _, err := s.console.RotateKeys(c.UserContext(), v); err != nil {
		return s.consoleError(c, err)
	}
	s.log.Info("signing keys rotated from the console", slog.String("user_id", v.User.ID))
	return s.seeOther(c, pathConsoleKeys+"?rotated=1")
}

// keyRows formats the keys for the page, dates in UTC to the minute.
func keyRows(keys []domain.PublicKey) []keyRow {
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	rows := make([]keyRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, keyRow{
			KID: k.KID, Algorithm: k.Algorithm, State: string(k.State),
			Created: date(k.CreatedAt), ActiveAt: date(k.ActiveAt), RetiredAt: date(k.RetiredAt), LeavesJWKS: date(k.RetireAt),
		})
	}
	return rows
}
