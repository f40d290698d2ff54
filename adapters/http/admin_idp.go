package http

import (
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/federation"
	"github.com/gofiber/fiber/v2"
)

// The organizations' upstream identity providers, for platform
// administrators.
const (
	pathAdminOrgIdPs = "/api/v1/admin/organizations/:id/identity-providers"
	pathAdminOrgIdP  = "/api/v1/admin/organizations/:id/identity-providers/:idpId"
)

func (s *Server) adminFederationRoutes() {
	a, auth := s.app, s.adminAuth
	a.Post(pathAdminOrgIdPs, auth, s.createIdP)
	a.Get(pathAdminOrgIdPs, auth, s.listIdPs)
	a.Get(pathAdminOrgIdP, auth, s.getIdP)
	a.Patch(pathAdminOrgIdP, auth, s.updateIdP)
	a.Delete(pathAdminOrgIdP, auth, s.deleteIdP)
}

// idpJSON is a provider as the admin API shows it: never its secret.
type idpJSON struct {
	ID              string   `json:"id"`
	OrganizationID  string   `json:"organizationId"`
	Name            string   `json:"name"`
	Issuer          string   `json:"issuer"`
	ClientID        string   `json:"clientId"`
	Scopes          []string `json:"scopes"`
	Domains         []string `json:"domains"`
	JITProvisioning bool     `json:"jitProvisioning"`
	LinkExisting    bool     `json:"linkExisting"`
	// RedirectURI is what to register with the upstream.
	RedirectURI string `json:"redirectUri"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

func (s *Server) idpView(p domain.IdentityProvider) idpJSON {
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{"email", "profile"}
	}
	return idpJSON{
		ID: p.ID, OrganizationID: p.OrganizationID, Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID,
		Scopes: append([]string{"openid"}, scopes...), Domains: p.Domains,
		JITProvisioning: p.JITProvisioning, LinkExisting: p.LinkExisting, RedirectURI: s.fed.RedirectURI(),
		CreatedAt: jsTime(p.CreatedAt), UpdatedAt: jsTime(p.UpdatedAt),
	}
}

func (s *Server) createIdP(c *fiber.Ctx) error {
	var b struct {
		Name            string   `json:"name"`
		Issuer          string   `json:"issuer"`
		ClientID        string   `json:"clientId"`
		ClientSecret    string   `json:"clientSecret"`
		Scopes          []string `json:"scopes"`
		Domains         []string `json:"domains"`
		JITProvisioning bool     `json:"jitProvisioning"`
		LinkExisting    bool     `json:"linkExisting"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	p, err := s.fed.CreateProvider(c.UserContext(), c.Params("id"), federation.ProviderInput{
		Name: b.Name, Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: b.ClientSecret, Scopes: b.Scopes,
		Domains: b.Domains, JITProvisioning: b.JITProvisioning, LinkExisting: b.LinkExisting,
	})
	if err != nil {
		return s.restError(c, err)
	}
	c.Location(c.Path() + "/" + p.ID)
	return s.reply(c, fiber.StatusCreated, s.idpView(p), nil)
}

func (s *Server) listIdPs(c *fiber.Ctx) error {
	ps, err := s.fed.ListProviders(c.UserContext(), c.Params("id"))
	out := struct {
		IdentityProviders []idpJSON `json:"identityProviders"`
	}{IdentityProviders: make([]idpJSON, 0, len(ps))}
	for _, p := range ps {
		out.IdentityProviders = append(out.IdentityProviders, s.idpView(p))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) getIdP(c *fiber.Ctx) error {
	p, err := s.fed.GetProvider(c.UserContext(), c.Params("id"), c.Params("idpId"))
	if err != nil {
		return s.restError(c, err)
	}
	return s.reply(c, fiber.StatusOK, s.idpView(p), nil)
}

func (s *Server) updateIdP(c *fiber.Ctx) error {
	var b struct {
		Name            *string   `json:"name"`
		Issuer          *string   `json:"issuer"`
		ClientID        *string   `json:"clientId"`
		ClientSecret    *string   `json:"clientSecret"`
		Scopes          *[]string `json:"scopes"`
		Domains         *[]string `json:"domains"`
		JITProvisioning *bool     `json:"jitProvisioning"`
		LinkExisting    *bool     `json:"linkExisting"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	p, err := s.fed.UpdateProvider(c.UserContext(), c.Params("id"), c.Params("idpId"), federation.ProviderPatch{
		Name: b.Name, Issuer: b.Issuer, ClientID: b.ClientID, ClientSecret: b.ClientSecret, Scopes: b.Scopes,
		Domains: b.Domains, JITProvisioning: b.JITProvisioning, LinkExisting: b.LinkExisting,
	})
	if err != nil {
		return s.restError(c, err)
	}
	return s.reply(c, fiber.StatusOK, s.idpView(p), nil)
}

func (s *Server) deleteIdP(c *fiber.Ctx) error {
	if err := s.fed.DeleteProvider(c.UserContext(), c.Params("id"), c.Params("idpId")); err != nil {
		return s.restError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
