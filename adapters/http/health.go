package http

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz says the process is up.
func (s *Server) healthz(c *fiber.Ctx) error {
	noStore(c)
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz checks every dependency (stores, signer) with a short deadline, so
// a load balancer stops sending traffic while one is down.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	status, code := fiber.Map{}, fiber.StatusOK
	for _, chk := range s.checks {
		if err := chk.Check(ctx); err != nil {
			s.log.Warn("not ready", slog.String("check", chk.Name), slog.String("err", err.Error()))
			status[chk.Name], code = "unavailable", fiber.StatusServiceUnavailable
			continue
		}
		status[chk.Name] = "ok"
	}
	noStore(c)
	return c.Status(code).JSON(fiber.Map{"ready": code == fiber.StatusOK, "checks": status})
}
