package console

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Apps are the registered clients. A platform administrator sees every
// one, and alone changes what the admin API changes: the grants that let
// an app act on an organization's users, its approved extended scopes,
// and its first-party and license flags, all through the directory's use
// cases (PutClientGrant, DeleteClientGrant, UpdateClientSettings), which
// emit no events in the API either. An organization's owners and admins
// see the apps granted to the organizations they administer, with those
// grants only, and change nothing: no organization role reaches a
// client's grants in the API. Any other app is ErrForbidden, whether it
// exists or not.

// errConsoleClient refuses changes to the console's own registration:
// EnsureClient makes it again at every sign-in, so a change would not
// last, and the console must not lock itself out.
var errConsoleClient = fault.New(fault.Conflict, "console_client",
	"the console's own registration is made by the server at each sign-in, so it can't be changed here")

// maxOrgRef bounds an organization's id or slug as typed in a form.
const maxOrgRef = 255

// AppGrant is an app's grant on one organization, with the organization.
type AppGrant struct {
	Org   domain.Organization
	Grant domain.ClientGrant
}

// AppEntry is an app as the console shows it: the client, and the grants
// the viewer may see (none in a platform administrator's listing; see
// App).
type AppEntry struct {
	Client domain.Client
	Grants []AppGrant
	// Editable is set when the viewer may change the app: a platform
	// administrator, on any app but the console itself.
	Editable bool
	// GrantsNext is the cursor of the app's next page of grants (App), ""
	// on the last.
	GrantsNext string
}

// AppGrantsPage is how many of an app's grants a page of App holds.
const AppGrantsPage = 50

// Apps lists, by page of up to limit, the apps v sees, ordered by client
// id: every app for a platform administrator; for an owner or admin, the
// apps granted to the organizations they administer, each with those
// grants.
func (s *Service) Apps(ctx context.Context, v *Viewer, cursor string, limit int) (directory.Page[AppEntry], error) {
	var out directory.Page[AppEntry]
	after, err := directory.DecodeCursor(cursor)
	if err != nil {
		return out, err
	}
	limit = max(1, min(limit, directory.MaxPageSize))
	if v.Platform {
		cs, err := s.deps.Clients.ListClients(ctx, after, limit+1)
		if err != nil {
			return out, fault.Store("list clients", err)
		}
		for _, c := range cs[:min(limit, len(cs))] {
			out.Items = append(out.Items, AppEntry{Client: c, Editable: c.ID != ClientID})
		}
		if len(cs) > limit {
			out.NextCursor = directory.EncodeCursor(cs[limit-1].ID)
		}
		return out, nil
	}
	byClient, err := s.viewerGrants(ctx, v)
	if err != nil {
		return out, err
	}
	ids := make([]string, 0, len(byClient))
	for id := range byClient {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for len(out.Items) < limit && len(ids) > 0 {
		id := ids[0]
		ids = ids[1:]
		c, err := s.deps.Clients.GetClient(ctx, id)
		if errors.Is(err, domain.ErrNotFound) {
			continue // a grant outliving its client shows nothing
		}
		if err != nil {
			return out, fault.Store("get client", err)
		}
		out.Items = append(out.Items, AppEntry{Client: c, Grants: byClient[id]})
	}
	if len(ids) > 0 && len(out.Items) > 0 {
		out.NextCursor = directory.EncodeCursor(out.Items[len(out.Items)-1].Client.ID)
	}
	return out, nil
}

// viewerGrants returns the grants on the organizations v administers, by
// client id, each client's in organization id order.
func (s *Service) viewerGrants(ctx context.Context, v *Viewer) (map[string][]AppGrant, error) {
	orgIDs := make([]string, 0, len(v.Roles))
	for id := range v.Roles {
		orgIDs = append(orgIDs, id)
	}
	slices.Sort(orgIDs)
	out := map[string][]AppGrant{}
	for _, orgID := range orgIDs {
		gs, err := s.deps.Grants.ListOrganizationGrants(ctx, orgID)
		if err != nil {
			return nil, fault.Store("list organization grants", err)
		}
		if len(gs) == 0 {
			continue
		}
		o, err := s.deps.Orgs.GetOrganization(ctx, orgID)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fault.Store("get organization", err)
		}
		for _, g := range gs {
			out[g.ClientID] = append(out[g.ClientID], AppGrant{Org: o, Grant: g})
		}
	}
	return out, nil
}

// App returns one app and the grants v may see on it: all of them for a
// platform administrator; for an owner or admin, those on the
// organizations they administer, and ErrForbidden for an app granted to
// none of them, whether it exists or not.
func (s *Service) App(ctx context.Context, v *Viewer, clientID, grantsCursor string) (AppEntry, error) {
	if clientID == "" || len(clientID) > 255 {
		return AppEntry{}, ErrForbidden
	}
	if !v.Platform {
		byClient, err := s.viewerGrants(ctx, v)
		if err != nil {
			return AppEntry{}, err
		}
		grants, ok := byClient[clientID]
		if !ok {
			return AppEntry{}, ErrForbidden
		}
		c, err := s.deps.Clients.GetClient(ctx, clientID)
		if errors.Is(err, domain.ErrNotFound) {
			return AppEntry{}, ErrForbidden
		}
		if err != nil {
			return AppEntry{}, fault.Store("get client", err)
		}
		sortGrants(grants)
		return AppEntry{Client: c, Grants: grants}, nil
	}
	c, err := s.deps.Directory.GetClient(ctx, clientID)
	if err != nil {
		return AppEntry{}, err
	}
	after, err := directory.DecodeCursor(grantsCursor)
	if err != nil {
		return AppEntry{}, err
	}
	gs, err := s.deps.Directory.ListClientGrants(ctx, clientID)
	if err != nil {
		return AppEntry{}, err
	}
	// An app of the whole platform may be granted to every school: a page
	// holds AppGrantsPage of them, by organization id after the cursor, and
	// reads only those organizations.
	slices.SortFunc(gs, func(a, b domain.ClientGrant) int { return cmp.Compare(a.OrganizationID, b.OrganizationID) })
	gs = slices.DeleteFunc(gs, func(g domain.ClientGrant) bool { return g.OrganizationID <= after })
	app := AppEntry{Client: c, Editable: c.ID != ClientID}
	if len(gs) > AppGrantsPage {
		gs = gs[:AppGrantsPage]
		app.GrantsNext = directory.EncodeCursor(gs[AppGrantsPage-1].OrganizationID)
	}
	for _, g := range gs {
		o, err := s.deps.Directory.GetOrganization(ctx, g.OrganizationID)
		if e, ok := fault.As(err); ok && e.Kind == fault.NotFound {
			continue
		}
		if err != nil {
			return AppEntry{}, err
		}
		app.Grants = append(app.Grants, AppGrant{Org: o, Grant: g})
	}
	sortGrants(app.Grants)
	return app, nil
}

// mayChangeApp refuses a change to an app by anyone but a platform
// administrator, and to the console's own registration.
func mayChangeApp(v *Viewer, clientID string) error {
	if !v.Platform {
		return ErrForbidden
	}
	if clientID == ClientID {
		return errConsoleClient
	}
	return nil
}

// GrantApp lets an app act on an organization, named by its id or its
// slug, with actions, as the admin API's PUT of a grant does (a grant
// already there takes the new actions).
func (s *Service) GrantApp(ctx context.Context, v *Viewer, clientID, orgRef string, actions []string) (domain.ClientGrant, error) {
	if err := mayChangeApp(v, clientID); err != nil {
		return domain.ClientGrant{}, err
	}
	o, err := s.findOrganization(ctx, strings.TrimSpace(orgRef))
	if err != nil {
		return domain.ClientGrant{}, err
	}
	return s.deps.Directory.PutClientGrant(ctx, clientID, o.ID, actions)
}

// findOrganization finds an organization by id, else by slug.
func (s *Service) findOrganization(ctx context.Context, ref string) (domain.Organization, error) {
	if ref == "" {
		return domain.Organization{}, fault.New(fault.Invalid, "invalid_request", "name the organization by its id or its slug")
	}
	if len(ref) > maxOrgRef || !utf8.ValidString(ref) {
		return domain.Organization{}, fault.New(fault.Invalid, "invalid_request", "an organization's id or slug is at most %d characters", maxOrgRef)
	}
	o, err := s.deps.Orgs.GetOrganization(ctx, ref)
	if errors.Is(err, domain.ErrNotFound) {
		o, err = s.deps.Orgs.GetOrganizationBySlug(ctx, ref)
	}
	if errors.Is(err, domain.ErrNotFound) {
		return o, fault.New(fault.Invalid, "unknown_organization", "no organization has the id or slug %q", ref)
	}
	if err != nil {
		return o, fault.Store("find organization", err)
	}
	return o, nil
}

// ChangeGrant gives an app's existing grant on an organization other
// actions. A grant that is not there is not made: that is GrantApp's.
func (s *Service) ChangeGrant(ctx context.Context, v *Viewer, clientID, orgID string, actions []string) (domain.ClientGrant, error) {
	if err := mayChangeApp(v, clientID); err != nil {
		return domain.ClientGrant{}, err
	}
	gs, err := s.deps.Directory.ListClientGrants(ctx, clientID)
	if err != nil {
		return domain.ClientGrant{}, err
	}
	if !slices.ContainsFunc(gs, func(g domain.ClientGrant) bool { return g.OrganizationID == orgID }) {
		return domain.ClientGrant{}, fault.New(fault.NotFound, "grant_not_found", "this app has no grant on this organization")
	}
	return s.deps.Directory.PutClientGrant(ctx, clientID, orgID, actions)
}

// RemoveGrant withdraws an app's grant on an organization.
func (s *Service) RemoveGrant(ctx context.Context, v *Viewer, clientID, orgID string) error {
	if err := mayChangeApp(v, clientID); err != nil {
		return err
	}
	return s.deps.Directory.DeleteClientGrant(ctx, clientID, orgID)
}

// AppSettings are an app's settings as the console's form sets them, all
// at once: the extended scopes approved (the others withdrawn), and its
// flags.
type AppSettings struct {
	ApprovedScopes  []string
	FirstParty      bool
	LicenseRequired bool
}

// SetAppSettings approves and withdraws an app's extended scopes and sets
// its first-party and license flags, as the admin API's PATCH does.
func (s *Service) SetAppSettings(ctx context.Context, v *Viewer, clientID string, in AppSettings) (domain.Client, error) {
	if err := mayChangeApp(v, clientID); err != nil {
		return domain.Client{}, err
	}
	scopes := slices.Clone(in.ApprovedScopes)
	if scopes == nil {
		scopes = []string{}
	}
	return s.deps.Directory.UpdateClientSettings(ctx, clientID, directory.ClientSettings{
		ApprovedScopes: &scopes, FirstParty: &in.FirstParty, LicenseRequired: &in.LicenseRequired,
	})
}

// sortGrants orders an app's grants by organization name, then id, for
// people to read.
func sortGrants(gs []AppGrant) {
	slices.SortFunc(gs, func(a, b AppGrant) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Org.Name), strings.ToLower(b.Org.Name)), cmp.Compare(a.Org.ID, b.Org.ID))
	})
}
