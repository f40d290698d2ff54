package http

import (
	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
)

// A platform administrator resets the second factors of a user who lost
// them all (DELETE /api/v1/admin/users/{id}/factors). The next sign-in
// enrols afresh where a policy asks for a factor; the user.factors_reset
// event names the admin key that did it, and the holder gets a mail.
func (s *Server) adminFactorRoutes() {
	s.app.Delete(pathAdminUser+"/factors", s.adminAuth, s.adminResetFactors)
}

func (s *Server) adminResetFactors(c *fiber.Ctx) error {
	a, _ := c.Locals(adminKey).(*directory.Admin)
	keyID := ""
	if a != nil {
		keyID = a.Key.ID
	}
	if err := s.mfa.Reset(c.UserContext(), c.Params("id"), keyID); err != nil {
		return s.restError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
