package scim

import (
	"context"
	"errors"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Groups are the organization's roles: a group's id and displayName are
// the role's name, its members the members holding the role.

// maxGroupScan bounds how many members are read to list one group's
// members; a role's members are found by reading the organization's
// memberships.
const maxGroupScan = 50000

// group is a role with its members, as loaded.
type group struct {
	role    directory.RoleView
	members []domain.Member
}

func (s *Service) roles(ctx context.Context, t *Tenant) ([]directory.RoleView, error) {
	return s.deps.Directory.ListRoles(ctx, t.OrganizationID)
}

func (s *Service) role(ctx context.Context, t *Tenant, id string) (directory.RoleView, error) {
	rs, err := s.roles(ctx, t)
	if err != nil {
		return directory.RoleView{}, err
	}
	for _, r := range rs {
		if r.Name == id {
			return r, nil
		}
	}
	return directory.RoleView{}, errNotFound
}

// membersOf returns the members holding each of the named roles.
func (s *Service) membersOf(ctx context.Context, t *Tenant, names map[string]bool) (map[string][]domain.Member, error) {
	out := map[string][]domain.Member{}
	cursor := ""
	for seen := 0; seen < maxGroupScan; {
		p, err := s.deps.Directory.ListMembers(ctx, t.OrganizationID, cursor, directory.MaxPageSize)
		if err != nil {
			return nil, err
		}
		for _, m := range p.Items {
			if names[m.Membership.Role] {
				out[m.Membership.Role] = append(out[m.Membership.Role], m)
			}
		}
		seen += len(p.Items)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	return out, nil
}

func (s *Service) renderGroup(r directory.RoleView, members []domain.Member, withMembers bool, orgCreated domain.Organization) map[string]any {
	g := map[string]any{
		"schemas":     []string{SchemaGroup},
		"id":          r.Name,
		"displayName": r.Name,
	}
	if withMembers {
		ms := make([]map[string]any, 0, len(members))
		for _, m := range members {
			ms = append(ms, map[string]any{
				"value": m.User.ID, "display": m.User.Email, "type": "User",
				"$ref": s.Root() + "/Users/" + m.User.ID,
			})
		}
		g["members"] = ms
	}
	created, modified := r.CreatedAt, r.UpdatedAt
	if created.IsZero() { // a built-in role the organization never changed
		created, modified = orgCreated.CreatedAt, orgCreated.CreatedAt
	}
	meta := map[string]any{
		"resourceType": "Group", "created": timestamp(created), "lastModified": timestamp(modified),
		"location": s.Root() + "/Groups/" + r.Name,
	}
	g["meta"] = meta
	meta["version"] = etag(g)
	return g
}

// groupFilter parses a Groups filter: displayName or id compared as
// strings. Roles are few, so it runs over the organization's role list.
func groupFilter(raw string) (func(name string) (bool, error), error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return func(string) (bool, error) { return true, nil }, nil
	}
	if len(raw) > MaxFilterLen {
		return nil, newErr(400, TypeInvalidFilter, "the filter is longer than %d characters", MaxFilterLen)
	}
	expr, err := parseExpr(raw)
	if err != nil {
		return nil, errSyntax
	}
	var check func(filter.Expression, int) error
	check = func(e filter.Expression, depth int) error {
		if depth > maxFilterTerms {
			return newErr(400, TypeInvalidFilter, "the filter is too deep")
		}
		switch e := e.(type) {
		case *filter.LogicalExpression:
			if err := check(e.Left, depth+1); err != nil {
				return err
			}
			return check(e.Right, depth+1)
		case *filter.NotExpression:
			return check(e.Expression, depth+1)
		case *filter.AttributeExpression:
			n := strings.ToLower(e.AttributePath.AttributeName)
			if e.AttributePath.SubAttribute != nil || (n != "displayname" && n != "id") {
				return newErr(400, TypeInvalidFilter, "Groups filter on displayName or id only")
			}
			return nil
		}
		return newErr(400, TypeInvalidFilter, "Groups filter on displayName or id only")
	}
	if err := check(expr, 0); err != nil {
		return nil, err
	}
	return func(name string) (bool, error) {
		return evalValue(rewriteToValue(expr), domain.MultiValue{Value: name})
	}, nil
}

// rewriteToValue turns displayName and id comparisons into comparisons of
// a value, for evalValue.
func rewriteToValue(e filter.Expression) filter.Expression {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		return &filter.LogicalExpression{Left: rewriteToValue(e.Left), Right: rewriteToValue(e.Right), Operator: e.Operator}
	case *filter.NotExpression:
		return &filter.NotExpression{Expression: rewriteToValue(e.Expression)}
	case *filter.AttributeExpression:
		c := *e
		c.AttributePath = filter.AttributePath{AttributeName: "value"}
		return &c
	}
	return e
}

// ListGroups lists the organization's roles as groups.
func (s *Service) ListGroups(ctx context.Context, t *Tenant, q ListQuery) (map[string]any, error) {
	match, err := groupFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	start, count, proj, err := s.listArgs(q)
	if err != nil {
		return nil, err
	}
	org, err := s.deps.Directory.GetOrganization(ctx, t.OrganizationID)
	if err != nil {
		return nil, err
	}
	rs, err := s.roles(ctx, t)
	if err != nil {
		return nil, err
	}
	var hits []directory.RoleView
	for _, r := range rs {
		ok, err := match(r.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			hits = append(hits, r)
		}
	}
	total := len(hits)
	hits = hits[min(start-1, len(hits)):]
	hits = hits[:min(count, len(hits))]
	withMembers := proj.wants("members")
	var members map[string][]domain.Member
	if withMembers && len(hits) > 0 {
		names := map[string]bool{}
		for _, r := range hits {
			names[r.Name] = true
		}
		if members, err = s.membersOf(ctx, t, names); err != nil {
			return nil, err
		}
	}
	res := make([]map[string]any, 0, len(hits))
	for _, r := range hits {
		res = append(res, proj.Apply(s.renderGroup(r, members[r.Name], withMembers, org)))
	}
	return listResponse(total, start, res), nil
}

// GetGroup returns one group.
func (s *Service) GetGroup(ctx context.Context, t *Tenant, id, attributes, excluded string) (map[string]any, error) {
	proj, err := ParseProjection(attributes, excluded)
	if err != nil {
		return nil, err
	}
	g, err := s.loadGroup(ctx, t, id, proj.wants("members"))
	if err != nil {
		return nil, err
	}
	org, err := s.deps.Directory.GetOrganization(ctx, t.OrganizationID)
	if err != nil {
		return nil, err
	}
	return proj.Apply(s.renderGroup(g.role, g.members, proj.wants("members"), org)), nil
}

func (s *Service) loadGroup(ctx context.Context, t *Tenant, id string, withMembers bool) (group, error) {
	r, err := s.role(ctx, t, id)
	if err != nil {
		return group{}, err
	}
	g := group{role: r}
	if withMembers {
		ms, err := s.membersOf(ctx, t, map[string]bool{r.Name: true})
		if err != nil {
			return group{}, err
		}
		g.members = ms[r.Name]
	}
	return g, nil
}

// groupBody is a POST or PUT Group body.
type groupBody struct {
	Schemas     []string
	DisplayName string
	Members     []struct{ Value string }
}

func parseGroup(body []byte) (groupBody, error) {
	var g groupBody
	if err := decodeStrict(body, &g); err != nil {
		return g, err
	}
	if !containsFold(g.Schemas, SchemaGroup) {
		return g, newErr(400, TypeInvalidSyntax, "schemas must include %s", SchemaGroup)
	}
	if len(g.Members) > MaxOperations*10 {
		return g, badValue("a request sets at most %d members", MaxOperations*10)
	}
	return g, nil
}

// CreateGroup makes a custom role with no permissions, and its members.
func (s *Service) CreateGroup(ctx context.Context, t *Tenant, body []byte) (map[string]any, error) {
	g, err := parseGroup(body)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(g.DisplayName)
	if !domain.ValidName(name) {
		return nil, badValue("displayName is a role name: 1 to 64 lower-case letters, digits and . _ : -, starting with a letter")
	}
	if _, err := s.role(ctx, t, name); err == nil {
		return nil, newErr(409, TypeUniqueness, "a group named %q already exists", name)
	} else if !errors.Is(err, errNotFound) {
		return nil, err
	}
	ids, err := s.checkMembers(ctx, t, valuesOf(g.Members))
	if err != nil {
		return nil, err
	}
	if _, err := s.deps.Directory.PutRole(ctx, t.OrganizationID, name, nil); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := s.deps.Directory.SetMemberRole(ctx, t.OrganizationID, id, name); err != nil {
			return nil, err
		}
	}
	return s.GetGroup(ctx, t, name, "", "")
}

func valuesOf(ms []struct{ Value string }) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Value)
	}
	return out
}

// checkMembers checks that every id is a member of the organization: a
// group never pulls in another organization's user. Nor does it move an
// owner: ownership is the administrators' to change.
func (s *Service) checkMembers(ctx context.Context, t *Tenant, ids []string) ([]string, error) {
	for _, id := range ids {
		m, err := s.member(ctx, t, id)
		if errors.Is(err, errNotFound) {
			return nil, badValue("member %q is not a user of this organization", clip(id))
		} else if err != nil {
			return nil, err
		}
		if m.Membership.Role == domain.RoleOwner {
			return nil, errOwner
		}
	}
	return ids, nil
}

var errOwner = newErr(400, TypeMutability, "the %q group is managed by Calimatic administrators, not over SCIM", domain.RoleOwner)

// writableGroup loads a group with its members for a write, refusing the
// owner group and a stale If-Match.
func (s *Service) writableGroup(ctx context.Context, t *Tenant, id, ifMatch string) (group, error) {
	g, err := s.loadGroup(ctx, t, id, true)
	if err != nil {
		return group{}, err
	}
	if g.role.Name == domain.RoleOwner {
		return group{}, errOwner
	}
	if ifMatch == "" || ifMatch == "*" {
		return g, nil
	}
	org, err := s.deps.Directory.GetOrganization(ctx, t.OrganizationID)
	if err != nil {
		return group{}, err
	}
	return g, checkVersion(ifMatch, versionOf(s.renderGroup(g.role, g.members, true, org)))
}

// ReplaceGroup is PUT: the members become exactly those sent; the name
// cannot change.
func (s *Service) ReplaceGroup(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	b, err := parseGroup(body)
	if err != nil {
		return nil, err
	}
	g, err := s.writableGroup(ctx, t, id, ifMatch)
	if err != nil {
		return nil, err
	}
	if n := strings.TrimSpace(b.DisplayName); n != "" && n != g.role.Name {
		return nil, newErr(400, TypeMutability, "a group's displayName is its role's name and cannot change")
	}
	if g.role.Name == domain.RoleMember {
		return nil, errLeaveMember
	}
	ids, err := s.checkMembers(ctx, t, valuesOf(b.Members))
	if err != nil {
		return nil, err
	}
	if err := s.setMembers(ctx, t, g, ids); err != nil {
		return nil, err
	}
	return s.GetGroup(ctx, t, id, "", "")
}

// setMembers makes ids the group's members exactly.
func (s *Service) setMembers(ctx context.Context, t *Tenant, g group, ids []string) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, m := range g.members {
		if !want[m.User.ID] {
			if err := s.leaveGroup(ctx, t, g.role.Name, m.User.ID); err != nil {
				return err
			}
		}
	}
	for _, id := range ids {
		if _, err := s.deps.Directory.SetMemberRole(ctx, t.OrganizationID, id, g.role.Name); err != nil {
			return err
		}
	}
	return nil
}

var errLeaveMember = newErr(400, TypeMutability, "every user of the organization is in %q unless in another group; DELETE the user to remove them", domain.RoleMember)

// leaveGroup takes a member out of a role: they go back to member. Leaving
// member itself is not possible; DELETE the user to remove them.
func (s *Service) leaveGroup(ctx context.Context, t *Tenant, role, userID string) error {
	if role == domain.RoleMember {
		return errLeaveMember
	}
	m, err := s.member(ctx, t, userID)
	if errors.Is(err, errNotFound) {
		return nil // gone already
	}
	if err != nil || m.Membership.Role != role {
		return err
	}
	_, err = s.deps.Directory.SetMemberRole(ctx, t.OrganizationID, userID, domain.RoleMember)
	return err
}

// PatchGroup is PATCH on a group: members add, remove and replace. The
// displayName may be "replaced" only by itself.
func (s *Service) PatchGroup(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	ops, err := ParsePatch(body)
	if err != nil {
		return nil, err
	}
	g, err := s.writableGroup(ctx, t, id, ifMatch)
	if err != nil {
		return nil, err
	}
	// Validate every operation before changing anything.
	type step struct {
		op  string
		ids []string
		all bool // remove every member
	}
	var steps []step
	for _, o := range ops {
		path, value := o.Path, o.Value
		if path == "" {
			obj := value.(map[string]any)
			for k, v := range obj {
				switch strings.ToLower(k) {
				case "displayname":
					if n, _ := v.(string); n != g.role.Name {
						return nil, newErr(400, TypeMutability, "a group's displayName is its role's name and cannot change")
					}
				case "members":
					ids, err := memberValues(v)
					if err != nil {
						return nil, err
					}
					steps = append(steps, step{op: o.Op, ids: ids})
				}
			}
			continue
		}
		p, err := parsePath(path)
		if err != nil {
			return nil, newErr(400, TypeInvalidPath, "the path %q is not valid", clip(path))
		}
		switch strings.ToLower(p.AttributePath.AttributeName) {
		case "displayname":
			if n, _ := value.(string); o.Op == "remove" || n != g.role.Name {
				return nil, newErr(400, TypeMutability, "a group's displayName is its role's name and cannot change")
			}
		case "members":
			if p.ValueExpression != nil {
				if o.Op != "remove" {
					return nil, newErr(400, TypeInvalidPath, "a members[filter] path is for remove")
				}
				var ids []string
				for _, m := range g.members {
					ok, err := evalValue(p.ValueExpression, domain.MultiValue{Value: m.User.ID, Type: "User"})
					if err != nil {
						return nil, err
					}
					if ok {
						ids = append(ids, m.User.ID)
					}
				}
				steps = append(steps, step{op: "remove", ids: ids})
				continue
			}
			if o.Op == "remove" && value == nil {
				steps = append(steps, step{op: "remove", all: true})
				continue
			}
			ids, err := memberValues(value)
			if err != nil {
				return nil, err
			}
			steps = append(steps, step{op: o.Op, ids: ids})
		default:
			return nil, newErr(400, TypeInvalidPath, "a group's members can be changed, nothing else")
		}
	}
	for _, st := range steps {
		if g.role.Name == domain.RoleMember && st.op != "add" {
			return nil, errLeaveMember
		}
		if st.op != "remove" {
			if _, err := s.checkMembers(ctx, t, st.ids); err != nil {
				return nil, err
			}
		}
	}
	for _, st := range steps {
		switch {
		case st.op == "replace":
			cur, err := s.loadGroup(ctx, t, id, true)
			if err != nil {
				return nil, err
			}
			if err := s.setMembers(ctx, t, cur, st.ids); err != nil {
				return nil, err
			}
		case st.op == "add":
			for _, uid := range st.ids {
				if _, err := s.deps.Directory.SetMemberRole(ctx, t.OrganizationID, uid, g.role.Name); err != nil {
					return nil, err
				}
			}
		case st.all:
			cur, err := s.loadGroup(ctx, t, id, true)
			if err != nil {
				return nil, err
			}
			if err := s.setMembers(ctx, t, cur, nil); err != nil {
				return nil, err
			}
		default:
			for _, uid := range st.ids {
				if err := s.leaveGroup(ctx, t, g.role.Name, uid); err != nil {
					return nil, err
				}
			}
		}
	}
	return s.GetGroup(ctx, t, id, "", "")
}

// memberValues reads [{"value": id}, ...] (or one such object).
func memberValues(v any) ([]string, error) {
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case map[string]any:
		items = []any{v}
	default:
		return nil, badValue("members must be an array of {\"value\": id}")
	}
	if len(items) > MaxOperations*10 {
		return nil, badValue("an operation changes at most %d members", MaxOperations*10)
	}
	var ids []string
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, badValue("members must be an array of {\"value\": id}")
		}
		var id string
		for k, x := range obj {
			if strings.EqualFold(k, "value") {
				id, _ = x.(string)
			}
		}
		if id == "" {
			return nil, badValue("every member needs a value (a user id)")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// DeleteGroup deletes a custom role; its members go back to member.
// Built-in roles cannot be deleted.
func (s *Service) DeleteGroup(ctx context.Context, t *Tenant, id, ifMatch string) error {
	g, err := s.writableGroup(ctx, t, id, ifMatch)
	if err != nil {
		return err
	}
	if domain.IsBuiltInRole(g.role.Name) {
		return newErr(400, TypeMutability, "the built-in group %q cannot be deleted", g.role.Name)
	}
	if err := s.setMembers(ctx, t, g, nil); err != nil {
		return err
	}
	return s.deps.Directory.DeleteRole(ctx, t.OrganizationID, g.role.Name)
}

// wants reports whether the projection returns attribute name.
func (p Projection) wants(name string) bool {
	for _, r := range p.exclude {
		if r.key == name && r.sub == "" {
			return false
		}
	}
	if len(p.include) == 0 {
		return true
	}
	for _, r := range p.include {
		if r.key == name {
			return true
		}
	}
	return false
}
