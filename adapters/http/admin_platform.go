package http

import "github.com/gofiber/fiber/v2"

// pathAdminPlatformAdmin is one account's platform administrator role:
// PUT grants it, DELETE revokes it. Both are idempotent, as PUT and DELETE
// on a resource are (RFC 9110 §9.2.2), so a retry is always safe.
const pathAdminPlatformAdmin = "/api/v1/admin/platform-admins/:userId"

// platformAdminRoutes mounts the grant and the revocation behind auth.
func (s *Server) platformAdminRoutes(auth fiber.Handler) {
	s.app.Put(pathAdminPlatformAdmin, auth, s.setPlatformAdmin(true))
	s.app.Delete(pathAdminPlatformAdmin, auth, s.setPlatformAdmin(false))
}

// setPlatformAdmin answers 204 once the account holds (on) or lacks the
// role, and user_not_found (404) for an account there is none of.
func (s *Server) setPlatformAdmin(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		_, err := s.dir.SetPlatformAdmin(c.UserContext(), c.Params("userId"), on)
		return s.reply(c, fiber.StatusNoContent, nil, err)
	}
}
