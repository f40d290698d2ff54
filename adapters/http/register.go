package http

import (
	"encoding/json"
	"mime"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

// register handles dynamic client registration (RFC 7591 §3).
func (s *Server) register(c *fiber.Ctx) error {
	md, err := clientMetadata(c)
	if err != nil {
		return s.oauthError(c, err)
	}
	reg, err := s.op.Register(c.UserContext(), md)
	if err != nil {
		return s.oauthError(c, err)
	}
	noStore(c)
	c.Location(reg.RegistrationClientURI)
	return c.Status(fiber.StatusCreated).JSON(reg)
}

// readRegistration, updateRegistration and deleteRegistration are client
// configuration management (RFC 7592), authenticated by the registration
// access token.
func (s *Server) readRegistration(c *fiber.Ctx) error {
	reg, err := s.op.ReadRegistration(c.UserContext(), c.Params("client_id"), bearerToken(c))
	if err != nil {
		return s.oauthError(c, err)
	}
	noStore(c)
	return c.JSON(reg)
}

func (s *Server) updateRegistration(c *fiber.Ctx) error {
	md, err := clientMetadata(c)
	if err != nil {
		return s.oauthError(c, err)
	}
	var body struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal(c.Body(), &body) // clientMetadata already proved it is valid JSON
	reg, err := s.op.UpdateRegistration(c.UserContext(), c.Params("client_id"), bearerToken(c), body.ClientID, md)
	if err != nil {
		return s.oauthError(c, err)
	}
	noStore(c)
	return c.JSON(reg)
}

func (s *Server) deleteRegistration(c *fiber.Ctx) error {
	if err := s.op.DeleteRegistration(c.UserContext(), c.Params("client_id"), bearerToken(c)); err != nil {
		return s.oauthError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// clientMetadata decodes a registration body. Unknown metadata is ignored
// (RFC 7591 §2); malformed JSON or wrong types are invalid_client_metadata.
func clientMetadata(c *fiber.Ctx) (oidc.ClientMetadata, error) {
	var md oidc.ClientMetadata
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return md, &oidc.Error{Code: oidc.CodeInvalidRequest, Description: "the body must be application/json"}
	}
	if err := json.Unmarshal(c.Body(), &md); err != nil {
		return md, &oidc.Error{Code: oidc.CodeInvalidClientMetadata, Description: "the body is not valid client metadata JSON: " + jsonProblem(err)}
	}
	return md, nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if ok := asType(err, &te); ok {
		return "field " + quoteClip(te.Field) + " has the wrong type"
	}
	return "malformed JSON"
}

func asType[T error](err error, target *T) bool {
	e, ok := err.(T)
	if ok {
		*target = e
	}
	return ok
}
