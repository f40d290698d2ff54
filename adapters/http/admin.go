package http

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Platform administration under /api/v1/admin, authenticated with
// Authorization: Bearer <admin key>.
const (
	pathAdminOrgs         = "/api/v1/admin/organizations"
	pathAdminOrg          = "/api/v1/admin/organizations/:id"
	pathAdminOrgUsers     = "/api/v1/admin/organizations/:id/users"
	pathAdminOrgMember    = "/api/v1/admin/organizations/:id/members/:userId"
	pathAdminOrgRoles     = "/api/v1/admin/organizations/:id/roles"
	pathAdminOrgRole      = "/api/v1/admin/organizations/:id/roles/:name"
	pathAdminOrgDomains   = "/api/v1/admin/organizations/:id/domains"
	pathAdminOrgDomain    = "/api/v1/admin/organizations/:id/domains/:domain"
	pathAdminOrgGroups    = "/api/v1/admin/organizations/:id/groups"
	pathAdminOrgGroup     = "/api/v1/admin/organizations/:id/groups/:groupId"
	pathAdminOrgGroupRole = "/api/v1/admin/organizations/:id/groups/:groupId/role"
	pathAdminClient       = "/api/v1/admin/clients/:id"
	pathAdminClientGrants = "/api/v1/admin/clients/:id/grants"
	pathAdminClientGrant  = "/api/v1/admin/clients/:id/grants/:orgId"
	pathAdminLicense      = "/api/v1/admin/clients/:id/licenses/:userId"
	pathAdminUserLicenses = "/api/v1/admin/users/:id/licenses"
	pathAdminUser         = "/api/v1/admin/users/:id"
	pathAdminKeysRotate   = "/api/v1/admin/keys/rotate"
)

// adminAuth authenticates a platform administrator's key.
func (s *Server) adminAuth(c *fiber.Ctx) error {
	a, err := s.dir.AuthenticateAdmin(c.UserContext(), bearerToken(c))
	if err != nil {
		return s.restError(c, err)
	}
	c.Locals(adminKey, a)
	c.SetUserContext(domain.WithActor(c.UserContext(), domain.Actor{Kind: domain.ActorAdmin, ID: a.Key.ID, Name: a.Key.Name}))
	return c.Next()
}

// adminKey is the Locals key of the authenticated *directory.Admin.
const adminKey = "calimatic.admin"

func adminOf(c *fiber.Ctx) *directory.Admin { a, _ := c.Locals(adminKey).(*directory.Admin); return a }

// adminRoutes mounts the administration API.
func (s *Server) adminRoutes() {
	a, auth := s.app, s.adminAuth
	a.Post(pathAdminOrgs, auth, s.createOrg)
	a.Get(pathAdminOrgs, auth, s.listOrgs)
	a.Get(pathAdminOrg, auth, s.getOrg)
	a.Patch(pathAdminOrg, auth, s.updateOrg)
	a.Get(pathAdminOrgUsers, auth, s.adminListMembers)
	a.Put(pathAdminOrgMember, auth, s.putMember)
	a.Delete(pathAdminOrgMember, auth, s.removeMember)
	a.Get(pathAdminOrgRoles, auth, s.listRoles)
	a.Put(pathAdminOrgRole, auth, s.putRole)
	a.Delete(pathAdminOrgRole, auth, s.deleteRole)
	a.Get(pathAdminOrgDomains, auth, s.listDomains)
	a.Get(pathAdminOrgDomain, auth, s.getDomain)
	a.Put(pathAdminOrgDomain, auth, s.putDomain)
	a.Delete(pathAdminOrgDomain, auth, s.deleteDomain)
	a.Get(pathAdminOrgGroups, auth, s.listGroups)
	a.Get(pathAdminOrgGroup, auth, s.getGroup)
	a.Put(pathAdminOrgGroupRole, auth, s.mapGroupRole)
	a.Delete(pathAdminOrgGroupRole, auth, s.unmapGroupRole)
	a.Get(pathAdminClient, auth, s.getClientSettings)
	a.Patch(pathAdminClient, auth, s.updateClientSettings)
	a.Get(pathAdminClientGrants, auth, s.listGrants)
	a.Put(pathAdminClientGrant, auth, s.putGrant)
	a.Delete(pathAdminClientGrant, auth, s.deleteGrant)
	a.Put(pathAdminLicense, auth, s.assignLicense)
	a.Delete(pathAdminLicense, auth, s.revokeLicense)
	a.Get(pathAdminUserLicenses, auth, s.listLicenses)
	a.Get(pathAdminUser, auth, s.adminGetUser)
	a.Delete(pathAdminUser, auth, s.adminDeleteUser)
	a.Post(pathAdminUser+"/suspend", auth, s.adminLifecycle(directory.Suspend))
	a.Post(pathAdminUser+"/reactivate", auth, s.adminLifecycle(directory.Reactivate))
	a.Post(pathAdminUser+"/deactivate", auth, s.adminLifecycle(directory.Deactivate))
	a.Post(pathAdminKeysRotate, auth, s.rotateKeys)
	s.platformAdminRoutes(auth)
}

// reply writes v as JSON with status, or err in the REST format.
func (s *Server) reply(c *fiber.Ctx, status int, v any, err error) error {
	if err != nil {
		return s.restError(c, err)
	}
	noStore(c)
	if v == nil {
		return c.SendStatus(status)
	}
	return c.Status(status).JSON(v)
}

type orgJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	MFAPolicy string `json:"mfaPolicy"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

func orgView(o domain.Organization) orgJSON {
	return orgJSON{ID: o.ID, Name: o.Name, Slug: o.Slug, MFAPolicy: string(o.MFAPolicy), CreatedAt: jsTime(o.CreatedAt), UpdatedAt: jsTime(o.UpdatedAt)}
}

// orgBody creates (POST) or changes (PATCH) an organization; a field left
// out is left as it is.
type orgBody struct {
	Name *string `json:"name"`
	Slug *string `json:"slug"`
	// MFAPolicy is kept raw: decoded into a pointer, null would read as
	// "left out", and a number would fail as a generic type error. Here
	// both are refused as the directory refuses an unknown policy.
	MFAPolicy json.RawMessage `json:"mfaPolicy"`
}

// input is the body as the directory takes it.
func (b orgBody) input() (directory.OrganizationInput, error) {
	in := directory.OrganizationInput{Name: b.Name, Slug: b.Slug}
	if b.MFAPolicy != nil {
		var p *string
		if err := json.Unmarshal(b.MFAPolicy, &p); err != nil || p == nil {
			return in, directory.ErrInvalidMFAPolicy
		}
		in.MFAPolicy = (*domain.MFAPolicy)(p)
	}
	return in, nil
}

// decodeOrg reads an organization body.
func decodeOrg(c *fiber.Ctx) (directory.OrganizationInput, error) {
	var b orgBody
	if err := decodeJSON(c, &b); err != nil {
		return directory.OrganizationInput{}, err
	}
	return b.input()
}

func (s *Server) createOrg(c *fiber.Ctx) error {
	in, err := decodeOrg(c)
	if err != nil {
		return s.restError(c, err)
	}
	o, err := s.dir.CreateOrganization(c.UserContext(), in)
	return s.reply(c, fiber.StatusCreated, orgView(o), err)
}

func (s *Server) getOrg(c *fiber.Ctx) error {
	o, err := s.dir.GetOrganization(c.UserContext(), c.Params("id"))
	return s.reply(c, fiber.StatusOK, orgView(o), err)
}

func (s *Server) updateOrg(c *fiber.Ctx) error {
	in, err := decodeOrg(c)
	if err != nil {
		return s.restError(c, err)
	}
	o, err := s.dir.UpdateOrganization(c.UserContext(), c.Params("id"), in)
	return s.reply(c, fiber.StatusOK, orgView(o), err)
}

func (s *Server) listOrgs(c *fiber.Ctx) error {
	cursor, limit, err := pageQuery(c)
	if err != nil {
		return s.restError(c, err)
	}
	p, err := s.dir.ListOrganizations(c.UserContext(), cursor, limit)
	out := struct {
		Organizations []orgJSON `json:"organizations"`
		NextCursor    string    `json:"nextCursor,omitempty"`
	}{Organizations: make([]orgJSON, 0, len(p.Items)), NextCursor: p.NextCursor}
	for _, o := range p.Items {
		out.Organizations = append(out.Organizations, orgView(o))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) adminListMembers(c *fiber.Ctx) error {
	cursor, limit, err := pageQuery(c)
	if err != nil {
		return s.restError(c, err)
	}
	p, err := s.dir.ListMembers(c.UserContext(), c.Params("id"), cursor, limit)
	return s.reply(c, fiber.StatusOK, memberPage(p), err)
}

func (s *Server) putMember(c *fiber.Ctx) error {
	var b struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	m, err := s.dir.PutMember(c.UserContext(), c.Params("id"), c.Params("userId"), b.Role)
	return s.reply(c, fiber.StatusOK, membershipJSON{OrganizationID: m.OrganizationID, Role: m.Role, Status: string(m.Status), Primary: m.Primary}, err)
}

// domainJSON is a verified domain as the admin API shows it.
type domainJSON struct {
	Domain         string `json:"domain"`
	OrganizationID string `json:"organizationId"`
	VerifiedBy     string `json:"verifiedBy"`
	CreatedAt      string `json:"createdAt"`
}

func domainView(d domain.VerifiedDomain) domainJSON {
	return domainJSON{Domain: d.Domain, OrganizationID: d.OrganizationID, VerifiedBy: d.VerifiedBy, CreatedAt: jsTime(d.CreatedAt)}
}

// putDomain is PUT …/domains/{domain}: 201 when the domain is new to the
// organization, 200 when it had it. Its body, optional, is
// {"method":"admin"} (the default: the administrator's word) or
// {"method":"dns"}: verified once the domain serves the organization's TXT
// record, which a 409 dns_record_not_found names.
func (s *Server) putDomain(c *fiber.Ctx) error {
	var b struct {
		Method string `json:"method"`
	}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &b); err != nil {
			return s.restError(c, err)
		}
	}
	d, created, err := s.dir.PutDomain(c.UserContext(), adminOf(c), c.Params("id"), c.Params("domain"), directory.DomainVerification(b.Method))
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return s.reply(c, status, domainView(d), err)
}

func (s *Server) listDomains(c *fiber.Ctx) error {
	ds, err := s.dir.ListDomains(c.UserContext(), c.Params("id"))
	out := struct {
		Domains []domainJSON `json:"domains"`
	}{Domains: make([]domainJSON, 0, len(ds))}
	for _, d := range ds {
		out.Domains = append(out.Domains, domainView(d))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) getDomain(c *fiber.Ctx) error {
	ds, err := s.dir.ListDomains(c.UserContext(), c.Params("id"))
	if err != nil {
		return s.restError(c, err)
	}
	name := domain.NormalizeDomain(c.Params("domain"))
	for _, d := range ds {
		if d.Domain == name {
			return c.JSON(domainView(d))
		}
	}
	return s.restError(c, fault.New(fault.NotFound, "domain_not_found", "this organization has no verified domain with that name"))
}

func (s *Server) deleteDomain(c *fiber.Ctx) error {
	if err := s.dir.DeleteDomain(c.UserContext(), c.Params("id"), c.Params("domain")); err != nil {
		return s.restError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// groupJSON is a group as the admin API shows it; role is "" when the
// group maps to none.
type groupJSON struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	DisplayName    string `json:"displayName"`
	ExternalID     string `json:"externalId"`
	Role           string `json:"role"`
	CreatedAt      string `json:"createdAt"`
	UpdatedAt      string `json:"updatedAt"`
}

func groupView(g domain.Group) groupJSON {
	return groupJSON{
		ID: g.ID, OrganizationID: g.OrganizationID, DisplayName: g.DisplayName, ExternalID: g.ExternalID,
		Role: g.Role, CreatedAt: jsTime(g.CreatedAt), UpdatedAt: jsTime(g.UpdatedAt),
	}
}

func (s *Server) listGroups(c *fiber.Ctx) error {
	cursor, limit, err := pageQuery(c)
	if err != nil {
		return s.restError(c, err)
	}
	if _, err := s.dir.GetOrganization(c.UserContext(), c.Params("id")); err != nil {
		return s.restError(c, err)
	}
	p, err := s.dir.ListGroups(c.UserContext(), c.Params("id"), cursor, limit)
	out := struct {
		Groups     []groupJSON `json:"groups"`
		NextCursor string      `json:"nextCursor,omitempty"`
	}{Groups: make([]groupJSON, 0, len(p.Items)), NextCursor: p.NextCursor}
	for _, g := range p.Items {
		out.Groups = append(out.Groups, groupView(g))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) getGroup(c *fiber.Ctx) error {
	g, err := s.dir.GetGroup(c.UserContext(), c.Params("id"), c.Params("groupId"))
	return s.reply(c, fiber.StatusOK, groupView(g), err)
}

// mapGroupRole is PUT …/groups/{groupId}/role {"role": "teacher"}: the
// group's members hold the role too.
func (s *Server) mapGroupRole(c *fiber.Ctx) error {
	var b struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	if b.Role == "" {
		return s.restError(c, fault.New(fault.Invalid, "invalid_role", "role is required; DELETE the mapping to remove it"))
	}
	g, err := s.dir.MapGroupRole(c.UserContext(), c.Params("id"), c.Params("groupId"), b.Role)
	return s.reply(c, fiber.StatusOK, groupView(g), err)
}

func (s *Server) unmapGroupRole(c *fiber.Ctx) error {
	g, err := s.dir.MapGroupRole(c.UserContext(), c.Params("id"), c.Params("groupId"), "")
	return s.reply(c, fiber.StatusOK, groupView(g), err)
}

type roleJSON struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	BuiltIn     bool     `json:"builtIn"`
}

func roleView(r directory.RoleView) roleJSON {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return roleJSON{Name: r.Name, Permissions: perms, BuiltIn: r.BuiltIn}
}

func (s *Server) listRoles(c *fiber.Ctx) error {
	rs, err := s.dir.ListRoles(c.UserContext(), c.Params("id"))
	out := struct {
		Roles []roleJSON `json:"roles"`
	}{Roles: make([]roleJSON, 0, len(rs))}
	for _, r := range rs {
		out.Roles = append(out.Roles, roleView(r))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) putRole(c *fiber.Ctx) error {
	var b struct {
		Permissions []string `json:"permissions"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	r, err := s.dir.PutRole(c.UserContext(), c.Params("id"), c.Params("name"), b.Permissions)
	return s.reply(c, fiber.StatusOK, roleView(r), err)
}

func (s *Server) deleteRole(c *fiber.Ctx) error {
	return s.reply(c, fiber.StatusNoContent, nil, s.dir.DeleteRole(c.UserContext(), c.Params("id"), c.Params("name")))
}

// clientAdminJSON is a client's administrative settings.
type clientAdminJSON struct {
	ClientID        string   `json:"clientId"`
	ClientName      string   `json:"clientName"`
	ApprovedScopes  []string `json:"approvedScopes"`
	FirstParty      bool     `json:"firstParty"`
	LicenseRequired bool     `json:"licenseRequired"`
	PKCERequired    bool     `json:"pkceRequired"`
}

func clientAdminView(cl domain.Client) clientAdminJSON {
	approved := cl.ApprovedScopes
	if approved == nil {
		approved = []string{}
	}
	return clientAdminJSON{ClientID: cl.ID, ClientName: cl.Name, ApprovedScopes: approved, FirstParty: cl.FirstParty, LicenseRequired: cl.LicenseRequired,
		PKCERequired: cl.PKCERequired}
}

func (s *Server) getClientSettings(c *fiber.Ctx) error {
	cl, err := s.dir.GetClient(c.UserContext(), c.Params("id"))
	return s.reply(c, fiber.StatusOK, clientAdminView(cl), err)
}

func (s *Server) updateClientSettings(c *fiber.Ctx) error {
	var b struct {
		ApprovedScopes  *[]string `json:"approvedScopes"`
		FirstParty      *bool     `json:"firstParty"`
		LicenseRequired *bool     `json:"licenseRequired"`
		PKCERequired    *bool     `json:"pkceRequired"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	cl, err := s.dir.UpdateClientSettings(c.UserContext(), c.Params("id"), directory.ClientSettings{
		ApprovedScopes: b.ApprovedScopes, FirstParty: b.FirstParty, LicenseRequired: b.LicenseRequired,
		PKCERequired: b.PKCERequired,
	})
	return s.reply(c, fiber.StatusOK, clientAdminView(cl), err)
}

type grantJSON struct {
	OrganizationID string   `json:"organizationId"`
	Actions        []string `json:"actions"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
}

func grantView(g domain.ClientGrant) grantJSON {
	return grantJSON{OrganizationID: g.OrganizationID, Actions: g.Actions, CreatedAt: jsTime(g.CreatedAt), UpdatedAt: jsTime(g.UpdatedAt)}
}

func (s *Server) listGrants(c *fiber.Ctx) error {
	gs, err := s.dir.ListClientGrants(c.UserContext(), c.Params("id"))
	out := struct {
		Grants []grantJSON `json:"grants"`
	}{Grants: make([]grantJSON, 0, len(gs))}
	for _, g := range gs {
		out.Grants = append(out.Grants, grantView(g))
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

func (s *Server) putGrant(c *fiber.Ctx) error {
	var b struct {
		Actions []string `json:"actions"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	g, err := s.dir.PutClientGrant(c.UserContext(), c.Params("id"), c.Params("orgId"), b.Actions)
	return s.reply(c, fiber.StatusOK, grantView(g), err)
}

func (s *Server) deleteGrant(c *fiber.Ctx) error {
	return s.reply(c, fiber.StatusNoContent, nil, s.dir.DeleteClientGrant(c.UserContext(), c.Params("id"), c.Params("orgId")))
}

func (s *Server) assignLicense(c *fiber.Ctx) error {
	assigned, err := s.dir.AssignLicense(c.UserContext(), c.Params("id"), c.Params("userId"))
	status := fiber.StatusOK
	if assigned {
		status = fiber.StatusCreated
	}
	return s.reply(c, status, fiber.Map{"clientId": c.Params("id"), "userId": c.Params("userId"), "assigned": assigned}, err)
}

func (s *Server) revokeLicense(c *fiber.Ctx) error {
	return s.reply(c, fiber.StatusNoContent, nil, s.dir.RevokeLicense(c.UserContext(), c.Params("id"), c.Params("userId")))
}

func (s *Server) listLicenses(c *fiber.Ctx) error {
	ls, err := s.dir.ListLicenses(c.UserContext(), c.Params("id"))
	type licenseJSON struct {
		ClientID   string `json:"clientId"`
		AssignedAt string `json:"assignedAt"`
	}
	out := struct {
		Licenses []licenseJSON `json:"licenses"`
	}{Licenses: make([]licenseJSON, 0, len(ls))}
	for _, l := range ls {
		out.Licenses = append(out.Licenses, licenseJSON{ClientID: l.ClientID, AssignedAt: jsTime(l.AssignedAt)})
	}
	return s.reply(c, fiber.StatusOK, out, err)
}

// rotateKeys is POST /api/v1/admin/keys/rotate: the published next key of
// each algorithm starts signing (with Vault, after its publish delay) and a
// new next key is published. The answer lists the kids now published.
func (s *Server) rotateKeys(c *fiber.Ctx) error {
	set, err := s.op.RotateKeys(c.UserContext())
	if err != nil {
		return s.restError(c, err)
	}
	kids := make([]fiber.Map, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, fiber.Map{"kid": k.KID, "alg": k.Algorithm})
	}
	noStore(c)
	return c.JSON(fiber.Map{"keys": kids})
}

// The account-wide actions of a platform administrator, whatever the
// account's home organization.
func (s *Server) adminGetUser(c *fiber.Ctx) error {
	v, err := s.dir.AdminGetUser(c.UserContext(), c.Params("id"))
	return s.sendUser(c, v, err)
}

func (s *Server) adminLifecycle(l directory.Lifecycle) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := s.dir.AdminSetStatus(c.UserContext(), c.Params("id"), l)
		return s.sendUser(c, v, err)
	}
}

func (s *Server) adminDeleteUser(c *fiber.Ctx) error {
	if err := s.dir.AdminDeleteUser(c.UserContext(), c.Params("id")); err != nil {
		return s.restError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) removeMember(c *fiber.Ctx) error {
	if err := s.dir.RemoveMember(c.UserContext(), c.Params("id"), c.Params("userId")); err != nil {
		return s.restError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
