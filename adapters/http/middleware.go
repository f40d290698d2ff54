package http

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// recover turns a panic into a 500 in the route's format, and logs it with
// its stack; the client never sees either.
func (s *Server) recover(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Next()
}

// limitBody refuses bodies over the configured limit with a 413 in the
// route's format, before any handler reads them. A compressed body
// (Content-Encoding other than identity) is 415: Fiber's c.Body() would
// inflate it without bound before any limit applied, so a few hundred
// bytes of nested gzip could cost gigabytes. No client of an identity
// provider compresses its requests.
func (s *Server) limitBody(c *fiber.Ctx) error {
	if compressed(c) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "request bodies must not be compressed (Content-Encoding)")
	}
	raw := c.Request().Body() // as sent: nothing inflates it here
	if s.opts.BodyLimit > 0 && (len(raw) > s.opts.BodyLimit || c.Request().Header.ContentLength() > s.opts.BodyLimit) {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// observe records metrics and a debug access log. It logs the route, never
// the query, cookies or bodies, which can hold codes and tokens.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	route := c.Route().Path
	if c.Route().Path == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	status := c.Response().StatusCode()
	elapsed := time.Since(start)
	s.metrics.observe(route, c.Method(), status, elapsed)
	if s.log.Enabled(c.UserContext(), slog.LevelDebug) {
		s.log.Debug("request", slog.String("method", c.Method()), slog.String("route", route),
			slog.Int("status", status), slog.Duration("elapsed", elapsed))
	}
	return nil
}

// htmlHeaders are the security headers of every page: no framing
// (clickjacking), no inline script or style, no referrer leaking the
// authorization request, and no caching of pages that hold CSRF tokens.
func htmlHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
}

func (s *Server) renderPage(c *fiber.Ctx, name string, data any) error {
	body, err := s.pages.render(name, data)
	if err != nil {
		s.log.Error("render page", slog.String("page", name), slog.String("err", err.Error()))
		return c.Status(fiber.StatusInternalServerError).SendString("internal error")
	}
	htmlHeaders(c)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(body)
}

func itoa(n int) string { return strconv.Itoa(n) }

// compressed reports whether any Content-Encoding header of the request
// names a coding other than identity. Every header counts: Fiber inflates
// by the last one, so checking only the first would let a second through.
func compressed(c *fiber.Ctx) bool {
	found := false
	c.Request().Header.VisitAll(func(k, v []byte) {
		if !strings.EqualFold(string(k), fiber.HeaderContentEncoding) {
			return
		}
		for _, coding := range strings.Split(string(v), ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				found = true
			}
		}
	})
	return found
}
