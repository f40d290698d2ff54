package http

import (
	"github.com/gofiber/fiber/v2"
)

// discovery serves the prepared discovery document (both well-known paths).
func (s *Server) discovery(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(s.op.Discovery())
}

// jwks serves the prepared key set with an ETag. The cache lifetime is
// short so a rotation reaches relying parties well before the next key
// signs anything.
func (s *Server) jwks(c *fiber.Ctx) error {
	body, etag, err := s.op.JWKS(c.UserContext())
	if err != nil {
		return s.oauthError(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderETag, etag)
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}
