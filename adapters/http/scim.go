package http

import (
	"encoding/json"
	"mime"
	"strconv"
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
	a.Use(pathSCIM, s.scimNegotiate)
	// Discovery holds nothing about any organization: providers read it
	// before they hold a token.
	a.Get(pathSCIM+"/ServiceProviderConfig", s.scimSPC)
	a.Get(pathSCIM+"/ResourceTypes", s.scimResourceTypes)
	a.Get(pathSCIM+"/ResourceTypes/:name", s.scimResourceType)
	a.Get(pathSCIM+"/Schemas", s.scimSchemas)
	a.Get(pathSCIM+"/Schemas/:id", s.scimSchema)
	for _, p := range []string{"/ServiceProviderConfig", "/ResourceTypes", "/Schemas"} {
		a.All(pathSCIM+p, s.scimDiscoveryOther)
		a.All(pathSCIM+p+"/*", s.scimDiscoveryOther)
	}
	// RFC 7644 §3.11: a server without /Me answers 501, whoever asks.
	a.All(pathSCIM+"/Me", s.scimNotSupported)
	a.All(pathSCIM+"/Me/*", s.scimNotSupported)

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
	c.SetUserContext(domain.WithActor(c.UserContext(), domain.Actor{
		Kind: domain.ActorSCIM, ID: t.TokenID, Name: t.TokenName, OrganizationID: t.OrganizationID,
	}))
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

// scimNegotiate answers application/json to a client that ranks it above
// application/scim+json (RFC 7644 §3.8: a server SHOULD support Accept:
// application/json). Every SCIM answer, errors included, is written by
// the time the handlers return, so the type is decided here once.
func (s *Server) scimNegotiate(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		if err := s.scimError(c, err); err != nil {
			return err
		}
	}
	c.Vary(fiber.HeaderAccept)
	mt, _, _ := mime.ParseMediaType(string(c.Response().Header.ContentType()))
	if mt == mimeSCIM && prefersJSON(c.Get(fiber.HeaderAccept)) {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	}
	return nil
}

// prefersJSON reports whether an Accept header ranks application/json
// above application/scim+json. Each is ranked by the most specific range
// that covers it (RFC 9110 §12.5.1); on a tie (*/*, both named, no Accept)
// SCIM's own type wins.
func prefersJSON(accept string) bool {
	return accept != "" && acceptQuality(accept, fiber.MIMEApplicationJSON) > acceptQuality(accept, mimeSCIM)
}

// acceptQuality is the quality an Accept header gives a media type: that
// of the most specific range covering it, 0 if none does.
func acceptQuality(accept, mediaType string) float64 {
	major, _, _ := strings.Cut(mediaType, "/")
	best, q := 0, 0.0
	for _, r := range strings.Split(accept, ",") {
		spec, params, err := mime.ParseMediaType(strings.TrimSpace(r))
		if err != nil {
			continue
		}
		specificity := 0
		switch spec {
		case mediaType:
			specificity = 3
		case major + "/*":
			specificity = 2
		case "*/*":
			specificity = 1
		}
		if specificity <= best {
			continue
		}
		best, q = specificity, 1
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
	}
	return q
}

// scimReply writes a resource (with its ETag) or an error.
func (s *Server) scimReply(c *fiber.Ctx, status int, v any, err error) error {
	if err != nil {
		return s.scimError(c, err)
	}
	noStore(c)
	if r, ok := v.(map[string]any); ok {
		scimResourceHeaders(c, status, r)
	}
	c.Set(fiber.HeaderContentType, scimContentTypeHeader)
	b, err := json.Marshal(v)
	if err != nil {
		return s.scimError(c, err)
	}
	return c.Status(status).Send(b)
}

// scimResourceHeaders sets the ETag of a resource and, when it was made,
// its Location.
func scimResourceHeaders(c *fiber.Ctx, status int, r map[string]any) {
	meta, ok := r["meta"].(map[string]any)
	if !ok {
		return
	}
	if ver, ok := meta["version"].(string); ok {
		c.Set(fiber.HeaderETag, ver)
	}
	if loc, ok := meta["location"].(string); ok && status == fiber.StatusCreated {
		c.Set(fiber.HeaderLocation, loc)
	}
}

// scimWrite runs a write that answers with a resource, projected by the
// attributes and excludedAttributes parameters as reads are (RFC 7644
// §3.9). The parameters are read first, so a bad one changes nothing; the
// ETag and Location come from the whole resource, which the projection may
// strip of meta.
func (s *Server) scimWrite(c *fiber.Ctx, status int, write func() (map[string]any, error)) error {
	q := listQuery(c)
	proj, err := scim.ParseProjection(q.Attributes, q.ExcludedAttributes)
	if err != nil {
		return s.scimError(c, err)
	}
	r, err := write()
	if err != nil {
		return s.scimError(c, err)
	}
	scimResourceHeaders(c, status, r)
	return s.scimReply(c, status, proj.Apply(r), nil)
}

// scimDiscoveryOther answers what the discovery GET routes do not: a
// sub-path that names nothing is 404, and any other method 405, with the
// methods allowed (RFC 9110 §15.5.6).
func (s *Server) scimDiscoveryOther(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return s.scimError(c, fiber.ErrNotFound)
	}
	c.Set(fiber.HeaderAllow, "GET, HEAD")
	return s.scimError(c, fiber.NewError(fiber.StatusMethodNotAllowed, "discovery is read-only: use GET"))
}

func (s *Server) scimNotSupported(c *fiber.Ctx) error {
	return s.scimError(c, fiber.NewError(fiber.StatusNotImplemented, "not supported; see /scim/v2/ServiceProviderConfig"))
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
	return s.scimRead(c, r, version)
}

// scimRead answers a read with its version as the ETag (also when the
// projection left meta out), or 304 when If-None-Match names it or is *
// (RFC 9110 §13.1.2).
func (s *Server) scimRead(c *fiber.Ctx, r map[string]any, version string) error {
	c.Set(fiber.HeaderETag, version)
	for _, tag := range strings.Split(c.Get(fiber.HeaderIfNoneMatch), ",") {
		if tag = strings.TrimSpace(tag); tag != "" && (tag == "*" || tag == version) {
			return c.SendStatus(fiber.StatusNotModified)
		}
	}
	return s.scimReply(c, fiber.StatusOK, r, nil)
}

func (s *Server) scimCreateUser(c *fiber.Ctx) error {
	return s.scimWrite(c, fiber.StatusCreated, func() (map[string]any, error) {
		return s.scim.CreateUser(c.UserContext(), tenant(c), c.Body())
	})
}

func (s *Server) scimReplaceUser(c *fiber.Ctx) error {
	return s.scimWrite(c, fiber.StatusOK, func() (map[string]any, error) {
		return s.scim.ReplaceUser(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	})
}

func (s *Server) scimPatchUser(c *fiber.Ctx) error {
	return s.scimWrite(c, fiber.StatusOK, func() (map[string]any, error) {
		return s.scim.PatchUser(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	})
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
	r, version, err := s.scim.GetGroup(c.UserContext(), tenant(c), c.Params("id"), c.Query("attributes"), c.Query("excludedAttributes"))
	if err != nil {
		return s.scimError(c, err)
	}
	return s.scimRead(c, r, version)
}

func (s *Server) scimCreateGroup(c *fiber.Ctx) error {
	return s.scimWrite(c, fiber.StatusCreated, func() (map[string]any, error) {
		return s.scim.CreateGroup(c.UserContext(), tenant(c), c.Body())
	})
}

func (s *Server) scimReplaceGroup(c *fiber.Ctx) error {
	return s.scimWrite(c, fiber.StatusOK, func() (map[string]any, error) {
		return s.scim.ReplaceGroup(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	})
}

func (s *Server) scimPatchGroup(c *fiber.Ctx) error {
	return s.scimWrite(c, fiber.StatusOK, func() (map[string]any, error) {
		return s.scim.PatchGroup(c.UserContext(), tenant(c), c.Params("id"), c.Get(fiber.HeaderIfMatch), c.Body())
	})
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
	// SignInEmail is which value becomes a new or changed home user's
	// sign-in email: primary_email or user_name.
	SignInEmail string `json:"signInEmail"`
	CreatedAt   string `json:"createdAt"`
	Token       string `json:"token,omitempty"` // only when made
}

func scimTokenView(t domain.SCIMToken) scimTokenJSON {
	rule := t.SignInEmail
	if rule == "" {
		rule = domain.SignInPrimaryEmail
	}
	return scimTokenJSON{
		ID: t.ID, OrganizationID: t.OrganizationID, Name: t.Name, SignInEmail: string(rule), CreatedAt: jsTime(t.CreatedAt),
	}
}

func (s *Server) createSCIMToken(c *fiber.Ctx) error {
	var b struct {
		Name        string `json:"name"`
		SignInEmail string `json:"signInEmail"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &b); err != nil {
			return s.restError(c, err)
		}
	}
	token, t, err := s.scim.CreateToken(c.UserContext(), c.Params("id"), b.Name, domain.SignInEmailRule(b.SignInEmail))
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
