package http

import (
	"encoding/json"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/scim"
)

// SCIM 2.0 (RFC 7644) under /scim/v2, authenticated with an organization's
// SCIM token; and the admin API that makes and revokes those tokens.
const (
	pathSCIM              = "/scim/v2"
	pathAdminSCIMTokens   = "/api/v1/admin/organizations/:id/scim-tokens"
	pathAdminSCIMToken    = "/api/v1/admin/organizations/:id/scim-tokens/:tokenId"
	mimeSCIM              = "application/scim+json"
	localTenant           = "scim.tenant"
	scimContentTypeHeader = mimeSCIM + "; charset=utf-8"
)

func isSCIMPath(p string) bool { return p == pathSCIM || strings.HasPrefix(p, pathSCIM+"/") }

func (s *Server) scimRoutes() {
	a := s.app
	// Discovery holds nothing about any organization: providers read it
	// before they hold a token.
	a.Get(pathSCIM+"/ServiceProviderConfig", s.scimSPC)
	a.Get(pathSCIM+"/ResourceTypes", s.scimResourceTypes)
	a.Get(pathSCIM+"/ResourceTypes/:name", s.scimResourceType)
	a.Get(pathSCIM+"/Schemas", s.scimSchemas)
	a.Get(pathSCIM+"/Schemas/:id", s.scimSchema)

	g := a.Group(pathSCIM, s.scimAuth)
	g.Get("/Users", s.scimListUsers)
	g.Post("/Users/.search", s.scimNotSupported)
	g.Post("/Users", s.scimBody, s.scimCreateUser)
	g.Get("/Users/:id", s.scimGetUser)
	g.Put("/Users/:id", s.scimBody, s.scimReplaceUser)
	g.Patch("/Users/:id", s.scimBody, s.scimPatchUser)
	g.Delete("/Users/:id", s.scimDeleteUser)
	g.Get("/Groups", s.scimListGroups)
	g.Post("/Groups", s.scimBody, s.scimCreateGroup)
	g.Get("/Groups/:id", s.scimGetGroup)
	g.Put("/Groups/:id", s.scimBody, s.scimReplaceGroup)
	g.Patch("/Groups/:id", s.scimBody, s.scimPatchGroup)
	g.Delete("/Groups/:id", s.scimDeleteGroup)
	g.Post("/Bulk", s.scimNotSupported)
	g.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })

	auth := s.adminAuth
	a.Post(pathAdminSCIMTokens, auth, s.createSCIMToken)
	a.Get(pathAdminSCIMTokens, auth, s.listSCIMTokens)
	a.Delete(pathAdminSCIMToken, auth, s.revokeSCIMToken)
}

// scimAuth authenticates the organization's bearer token.
func (s *Server) scimAuth(c *fiber.Ctx) error {
	t, err := s.scim.Authenticate(c.UserContext(), bearerToken(c))
	if err != nil {
		return s.scimError(c, err)
	}
	c.Locals(localTenant, t)
	return c.Next()
}

func tenant(c *fiber.Ctx) *scim.Tenant { return c.Locals(localTenant).(*scim.Tenant) }

// scimBody accepts application/scim+json and application/json bodies.
func (s *Server) scimBody(c *fiber.Ctx) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (mt != mimeSCIM && mt != fiber.MIMEApplicationJSON) {
		return s.scimError(c, errUnsupportedMedia)
	}
	return c.Next()
}

// scimReply writes a resource (with its ETag) or an error.
func (s *Server) scimReply(c *fiber.Ctx, status int, v any, err error) error {
	if err != nil {
		return s.scimError(c, err)
	}
	noStore(c)
	if r, ok := v.(map[string]any); ok {
		if meta, ok := r["meta"].(map[string]any); ok {
			if ver, ok := meta["version"].(string); ok {
				c.Set(fiber.HeaderETag, ver)
			}
			if loc, ok := meta["location"].(string); ok && status == fiber.StatusCreated {
				c.Set(fiber.HeaderLocation, loc)
			}
		}
	}
	c.Set(fiber.HeaderContentType, scimContentTypeHeader)
	b, err := json.Marshal(v)
	if err != nil {
		return s.scimError(c, err)
	}
	return c.Status(status).Send(b)
}

func (s *Server) scimNotSupported(c *fiber.Ctx) error {
	return s.scimError(c, &scim.Error{Status: fiber.StatusNotImplemented, Detail: "not supported; see /scim/v2/ServiceProviderConfig"})
}

func (s *Server) scimSPC(c *fiber.Ctx) error {
	return s.scimReply(c, fiber.StatusOK, s.scim.ServiceProviderConfig(), nil)
}

func (s *Server) scimResourceTypes(c *fiber.Ctx) error {
	return s.scimReply(c, fiber.StatusOK, scimList(s.scim.ResourceTypes()), nil)
}

func (s *Server) scimResourceType(c *fiber.Ctx) error {
	if rt := s.scim.ResourceType(c.Params("name")); rt != nil {
		return s.scimReply(c, fiber.StatusOK, rt, nil)
	}
	return s.scimError(c, fiber.ErrNotFound)
}

func (s *Server) scimSchemas(c *fiber.Ctx) error {
	return s.scimReply(c, fiber.StatusOK, scimList(s.scim.Schemas()), nil)
}

func (s *Server) scimSchema(c *fiber.Ctx) error {
	if sc := s.scim.Schema(c.Params("id")); sc != nil {
		return s.scimReply(c, fiber.StatusOK, sc, nil)
	}
	return s.scimError(c, fiber.ErrNotFound)
}

func scimList(res []map[string]any) map[string]any {
	return map[string]any{
		"schemas": []string{scim.SchemaListResp}, "totalResults": len(res),
		"startIndex": 1, "itemsPerPage": len(res), "Resources": res,
	}
}

func listQuery(c *fiber.Ctx) scim.ListQuery {
	q := map[string][]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		q[string(k)] = append(q[string(k)], string(v))
	})
	return scim.ListQueryOf(q)
}

func (s *Server) scimListUsers(c *fiber.Ctx) error {
	r, err := s.scim.ListUsers(c.UserContext(), tenant(c), listQuery(c))
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimGetUser(c *fiber.Ctx) error {
	r, version, err := s.scim.GetUser(c.UserContext(), tenant(c), c.Params("id"), c.Query("attributes"), c.Query("excludedAttributes"))
	if err != nil {
		return s.scimError(c, err)
	}
	c.Set(fiber.HeaderETag, version) // also when the projection left meta out
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && inm == version {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return s.scimReply(c, fiber.StatusOK, r, nil)
}

func (s *Server) scimCreateUser(c *fiber.Ctx) error {
	r, err := s.scim.CreateUser(c.UserContext(), tenant(c), c.Body())
	return s.scimReply(c, fiber.StatusCreated, r, err)
}

func (s *Server) scimReplaceUser(c *fiber.Ctx) error {
	r, err := s.scim.ReplaceUser(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimPatchUser(c *fiber.Ctx) error {
	r, err := s.scim.PatchUser(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimDeleteUser(c *fiber.Ctx) error {
	if err := s.scim.DeleteUser(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch)); err != nil {
		return s.scimError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) scimListGroups(c *fiber.Ctx) error {
	r, err := s.scim.ListGroups(c.UserContext(), tenant(c), listQuery(c))
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimGetGroup(c *fiber.Ctx) error {
	r, err := s.scim.GetGroup(c.UserContext(), tenant(c), c.Params("id"), c.Query("attributes"), c.Query("excludedAttributes"))
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimCreateGroup(c *fiber.Ctx) error {
	r, err := s.scim.CreateGroup(c.UserContext(), tenant(c), c.Body())
	return s.scimReply(c, fiber.StatusCreated, r, err)
}

func (s *Server) scimReplaceGroup(c *fiber.Ctx) error {
	r, err := s.scim.ReplaceGroup(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimPatchGroup(c *fiber.Ctx) error {
	r, err := s.scim.PatchGroup(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	return s.scimReply(c, fiber.StatusOK, r, err)
}

func (s *Server) scimDeleteGroup(c *fiber.Ctx) error {
	if err := s.scim.DeleteGroup(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch)); err != nil {
		return s.scimError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// SCIM tokens, through the admin API.

type scimTokenJSON struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	Name           string `json:"name"`
	CreatedAt      string `json:"createdAt"`
	Token          string `json:"token,omitempty"` // only when made
}

func scimTokenView(t domain.SCIMToken) scimTokenJSON {
	return scimTokenJSON{ID: t.ID, OrganizationID: t.OrganizationID, Name: t.Name, CreatedAt: jsTime(t.CreatedAt)}
}

func (s *Server) createSCIMToken(c *fiber.Ctx) error {
	var b struct {
		Name string `json:"name"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &b); err != nil {
			return s.restError(c, err)
		}
	}
	token, t, err := s.scim.CreateToken(c.UserContext(), c.Params("id"), b.Name)
	v := scimTokenView(t)
	v.Token = token
	return s.reply(c, fiber.StatusCreated, v, err)
}

func (s *Server) listSCIMTokens(c *fiber.Ctx) error {
	ts, err := s.scim.ListTokens(c.UserContext(), c.Params("id"))
	out := struct {
		Tokens []scimTokenJSON `json:"tokens"`
	}{Tokens: make([]scimTokenJSON, 0, len(ts))}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, scimTokenView(t))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) revokeSCIMToken(c *fiber.Ctx) error {
	err := s.scim.RevokeToken(c.UserContext(), c.Params("id"), c.Params("tokenId"))
	return s.reply(c, fiber.StatusNoContent, nil, err)
}
