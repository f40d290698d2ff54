package scim

import (
	"context"
	"errors"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Groups are the organization's groups (domain.Group): free names, unique
// in the organization in any case, with any members of the organization,
// a user in any number of them. A group changes no one's role unless a
// platform administrator mapped it to one (see directory.MapGroupRole).

// maxGroupScan bounds how many groups a filter other than an id or
// displayName lookup reads.
const maxGroupScan = 10000

// maxGroupMembers bounds the members one request sets.
const maxGroupMembers = MaxOperations * 10

func (s *Service) renderGroup(g domain.Group, members []string, withMembers bool) map[string]any {
	r := map[string]any{
		"schemas":     []string{SchemaGroup},
		"id":          g.ID,
		"displayName": g.DisplayName,
	}
	if g.ExternalID != "" {
		r["externalId"] = g.ExternalID
	}
	meta := map[string]any{
		"resourceType": "Group", "created": timestamp(g.CreatedAt), "lastModified": timestamp(g.UpdatedAt),
		"location": s.Root() + "/Groups/" + g.ID,
	}
	// Every change of a group moves UpdatedAt, its members' included, so
	// the version need not read the members. It is taken at the
	// millisecond, as lastModified shows it: every store keeps that much
	// (PostgreSQL microseconds, MongoDB milliseconds), so a version
	// computed from the clock when writing equals the one read back.
	meta["version"] = etag(map[string]any{"g": r, "t": timestamp(g.UpdatedAt)})
	r["meta"] = meta
	if withMembers {
		ms := make([]map[string]any, 0, len(members))
		for _, id := range members {
			ms = append(ms, map[string]any{"value": id, "type": "User", "$ref": s.Root() + "/Users/" + id})
		}
		r["members"] = ms
	}
	return r
}

// groupErr answers the directory's group errors in SCIM's terms.
func groupErr(err error) error {
	switch {
	case errors.Is(err, directory.ErrGroupNotFound):
		return errNotFound
	case errors.Is(err, directory.ErrGroupNameTaken):
		return newErr(409, TypeUniqueness, "a group with this displayName already exists")
	case errors.Is(err, directory.ErrNotAMember):
		return badValue("every member must be a user of this organization")
	}
	if e, ok := directory.AsError(err); ok && e.Kind == directory.Invalid {
		return badValue("%s", e.Message)
	}
	return err
}

// groupMatcher is a parsed Groups filter.
type groupMatcher struct {
	expr filter.Expression
	// lookup is a displayName or id to find by index when the filter is
	// that one equality (with, maybe, members.value conditions).
	byName, byID string
	// inGroups caches members.value conditions: user id -> their groups.
	inGroups map[string]map[string]bool
}

// parseGroupFilter reads a Groups filter over displayName, externalId, id
// and members.value.
func parseGroupFilter(raw string) (*groupMatcher, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return &groupMatcher{}, nil
	}
	if len(raw) > MaxFilterLen {
		return nil, newErr(400, TypeInvalidFilter, "the filter is longer than %d characters", MaxFilterLen)
	}
	expr, err := parseExpr(raw)
	if err != nil {
		return nil, errSyntax
	}
	m := &groupMatcher{expr: expr, inGroups: map[string]map[string]bool{}}
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
			switch groupAttr(e.AttributePath) {
			case "displayname", "externalid", "id":
				return nil
			case "members.value":
				v, ok := e.CompareValue.(string)
				if !ok || strings.ToLower(string(e.Operator)) != string(filter.EQ) {
					return newErr(400, TypeInvalidFilter, "members.value takes eq and a user id")
				}
				m.inGroups[v] = nil
				return nil
			}
		}
		return newErr(400, TypeInvalidFilter, "Groups filter on displayName, externalId, id and members.value")
	}
	if err := check(expr, 0); err != nil {
		return nil, err
	}
	// A lookup: displayName eq or id eq, alone or and-ed with others.
	var lookup func(filter.Expression)
	lookup = func(e filter.Expression) {
		switch e := e.(type) {
		case *filter.LogicalExpression:
			if e.Operator == filter.AND {
				lookup(e.Left)
				lookup(e.Right)
			}
		case *filter.AttributeExpression:
			v, ok := e.CompareValue.(string)
			if !ok || strings.ToLower(string(e.Operator)) != string(filter.EQ) {
				return
			}
			switch groupAttr(e.AttributePath) {
			case "displayname":
				m.byName = v
			case "id":
				m.byID = v
			}
		}
	}
	lookup(expr)
	return m, nil
}

func groupAttr(p filter.AttributePath) string {
	n := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		n += "." + strings.ToLower(*p.SubAttribute)
	}
	if u := p.URI(); u != "" && !strings.EqualFold(u, SchemaGroup) {
		return ""
	}
	return n
}

// match evaluates the filter on one group.
func (m *groupMatcher) match(g domain.Group) (bool, error) {
	if m.expr == nil {
		return true, nil
	}
	return m.eval(m.expr, g)
}

func (m *groupMatcher) eval(e filter.Expression, g domain.Group) (bool, error) {
	return evalFilter(e, func(e *filter.AttributeExpression) (bool, error) {
		op := filter.CompareOperator(strings.ToLower(string(e.Operator)))
		switch groupAttr(e.AttributePath) {
		case "displayname":
			return compareString(op, g.DisplayName, e.CompareValue)
		case "externalid": // caseExact (RFC 7643 §3.1)
			return compareExact(op, g.ExternalID, e.CompareValue)
		case "id":
			return compareExact(op, g.ID, e.CompareValue)
		case "members.value":
			v, _ := e.CompareValue.(string)
			return m.inGroups[v][g.ID], nil
		}
		return false, newErr(400, TypeInvalidFilter, "unsupported filter")
	})
}

// candidates returns the groups a filter may match: one by index for a
// displayName or id lookup, else the organization's groups.
func (s *Service) candidates(ctx context.Context, t *Tenant, m *groupMatcher) ([]domain.Group, error) {
	for uid := range m.inGroups {
		gs, err := s.deps.Directory.UserGroups(ctx, t.OrganizationID, uid)
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, g := range gs {
			set[g.ID] = true
		}
		m.inGroups[uid] = set
	}
	var (
		g   domain.Group
		err error
	)
	switch {
	case m.byID != "":
		g, err = s.deps.Directory.GetGroup(ctx, t.OrganizationID, m.byID)
	case m.byName != "":
		g, err = s.deps.Directory.FindGroup(ctx, t.OrganizationID, m.byName)
	default:
		var out []domain.Group
		for cursor := ""; len(out) < maxGroupScan; {
			p, err := s.deps.Directory.ListGroups(ctx, t.OrganizationID, cursor, directory.MaxPageSize)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Items...)
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		return out, nil
	}
	if errors.Is(err, directory.ErrGroupNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []domain.Group{g}, nil
}

// ListGroups lists the organization's groups.
func (s *Service) ListGroups(ctx context.Context, t *Tenant, q ListQuery) (map[string]any, error) {
	m, err := parseGroupFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	start, count, proj, err := s.listArgs(q)
	if err != nil {
		return nil, err
	}
	all, err := s.candidates(ctx, t, m)
	if err != nil {
		return nil, err
	}
	var hits []domain.Group
	for _, g := range all {
		ok, err := m.match(g)
		if err != nil {
			return nil, err
		}
		if ok {
			hits = append(hits, g)
		}
	}
	total := len(hits)
	hits = hits[min(start-1, len(hits)):]
	hits = hits[:min(count, len(hits))]
	withMembers := proj.wants("members")
	res := make([]map[string]any, 0, len(hits))
	for _, g := range hits {
		var members []string
		if withMembers {
			if members, err = s.deps.Directory.GroupMembers(ctx, t.OrganizationID, g.ID); err != nil {
				return nil, err
			}
		}
		res = append(res, proj.Apply(s.renderGroup(g, members, withMembers)))
	}
	return listResponse(total, start, res), nil
}

// GetGroup returns one group, projected, and its version.
func (s *Service) GetGroup(ctx context.Context, t *Tenant, id, attributes, excluded string) (map[string]any, string, error) {
	proj, err := ParseProjection(attributes, excluded)
	if err != nil {
		return nil, "", err
	}
	g, err := s.deps.Directory.GetGroup(ctx, t.OrganizationID, id)
	if err != nil {
		return nil, "", groupErr(err)
	}
	r, err := s.projectGroup(ctx, t, g, proj)
	return r, versionOf(s.renderGroup(g, nil, false)), err
}

func (s *Service) projectGroup(ctx context.Context, t *Tenant, g domain.Group, proj Projection) (map[string]any, error) {
	var members []string
	if proj.wants("members") {
		var err error
		if members, err = s.deps.Directory.GroupMembers(ctx, t.OrganizationID, g.ID); err != nil {
			return nil, err
		}
	}
	return proj.Apply(s.renderGroup(g, members, proj.wants("members"))), nil
}

// groupBody is a POST or PUT Group body.
type groupBody struct {
	Schemas     []string
	DisplayName string
	ExternalID  string
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
	if len(g.Members) > maxGroupMembers {
		return g, badValue("a request sets at most %d members", maxGroupMembers)
	}
	for _, m := range g.Members {
		if m.Value == "" {
			return g, badValue("every member needs a value (a user id)")
		}
	}
	return g, nil
}

func valuesOf(ms []struct{ Value string }) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Value)
	}
	return out
}

// CreateGroup runs createGroup as one unit of work (see inUnit).
func (s *Service) CreateGroup(ctx context.Context, t *Tenant, body []byte) (map[string]any, error) {
	return inUnit(s, ctx, func(ctx context.Context) (map[string]any, error) {
		return s.createGroup(ctx, t, body)
	})
}

// createGroup makes a group with its members (POST).
func (s *Service) createGroup(ctx context.Context, t *Tenant, body []byte) (map[string]any, error) {
	b, err := parseGroup(body)
	if err != nil {
		return nil, err
	}
	g, err := s.deps.Directory.CreateGroup(ctx, t.OrganizationID,
		directory.GroupInput{DisplayName: b.DisplayName, ExternalID: b.ExternalID}, valuesOf(b.Members))
	if err != nil {
		return nil, groupErr(err)
	}
	return s.projectGroup(ctx, t, g, Projection{})
}

// writableGroup loads a group for a write, refusing a stale If-Match.
func (s *Service) writableGroup(ctx context.Context, t *Tenant, id, ifMatch string) (domain.Group, error) {
	g, err := s.deps.Directory.GetGroup(ctx, t.OrganizationID, id)
	if err != nil {
		return domain.Group{}, groupErr(err)
	}
	if ifMatch == "" || ifMatch == "*" {
		return g, nil
	}
	return g, checkVersion(ifMatch, versionOf(s.renderGroup(g, nil, false)))
}

// precondition re-checks If-Match inside a rename's atomic write.
func (s *Service) precondition(ifMatch string) func(domain.Group) error {
	if ifMatch == "" || ifMatch == "*" {
		return nil
	}
	return func(g domain.Group) error { return checkVersion(ifMatch, versionOf(s.renderGroup(g, nil, false))) }
}

// ReplaceGroup runs replaceGroup as one unit of work (see inUnit).
func (s *Service) ReplaceGroup(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	return inUnit(s, ctx, func(ctx context.Context) (map[string]any, error) {
		return s.replaceGroup(ctx, t, id, ifMatch, body)
	})
}

// replaceGroup is PUT: the name, external id and members become those
// sent.
func (s *Service) replaceGroup(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	b, err := parseGroup(body)
	if err != nil {
		return nil, err
	}
	g, err := s.writableGroup(ctx, t, id, ifMatch)
	if err != nil {
		return nil, err
	}
	cur, err := s.deps.Directory.GroupMembers(ctx, t.OrganizationID, id)
	if err != nil {
		return nil, err
	}
	add, remove := diff(cur, valuesOf(b.Members))
	return s.applyGroup(ctx, t, g, ifMatch, groupEdit{
		name: b.DisplayName, externalID: b.ExternalID, add: add, remove: remove,
	})
}

// groupEdit is what a PUT or PATCH does, validated before anything is
// written.
type groupEdit struct {
	name, externalID string
	add, remove      []string
}

// applyGroup writes an edit: the members in one atomic step, then the
// name. A name another group has is refused before the members change.
func (s *Service) applyGroup(ctx context.Context, t *Tenant, g domain.Group, ifMatch string, e groupEdit) (map[string]any, error) {
	in := directory.GroupInput{DisplayName: e.name, ExternalID: e.externalID}
	if err := in.Check(); err != nil {
		return nil, groupErr(err)
	}
	renamed := e.name != g.DisplayName || e.externalID != g.ExternalID
	if renamed {
		if other, err := s.deps.Directory.FindGroup(ctx, t.OrganizationID, e.name); err == nil && other.ID != g.ID {
			return nil, groupErr(directory.ErrGroupNameTaken)
		}
	}
	// Every new member is checked before anything is written, so a
	// refused request changes nothing. (A concurrent writer may still
	// take the name or remove a member between these checks and the
	// writes; the store refuses those writes on its own.)
	for _, id := range e.add {
		if _, err := s.member(ctx, t, id); err != nil {
			if errors.Is(err, errNotFound) {
				return nil, groupErr(directory.ErrNotAMember)
			}
			return nil, err
		}
	}
	if len(e.add) > 0 || len(e.remove) > 0 {
		var err error
		if g, err = s.deps.Directory.ChangeGroupMembers(ctx, t.OrganizationID, g.ID, e.add, e.remove); err != nil {
			return nil, groupErr(err)
		}
		ifMatch = "" // checked before; the members moved the version on
	}
	if renamed {
		var err error
		g, err = s.deps.Directory.RenameGroup(ctx, t.OrganizationID, g.ID, in, s.precondition(ifMatch))
		if err != nil {
			return nil, groupErr(err)
		}
	}
	return s.projectGroup(ctx, t, g, Projection{})
}

// diff is what turns have into want: the ids to add and to remove.
func diff(have, want []string) (add, remove []string) {
	in, wanted := setOf(have), setOf(want)
	for _, id := range want {
		if !in[id] {
			add = append(add, id)
			in[id] = true
		}
	}
	for _, id := range have {
		if !wanted[id] {
			remove = append(remove, id)
		}
	}
	return add, remove
}

func setOf(ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// PatchGroup runs patchGroup as one unit of work (see inUnit).
func (s *Service) PatchGroup(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	return inUnit(s, ctx, func(ctx context.Context) (map[string]any, error) {
		return s.patchGroup(ctx, t, id, ifMatch, body)
	})
}

// patchGroup is PATCH on a group (RFC 7644 §3.5.2): displayName and
// externalId replaced (a rename), members added, removed (by value, by a
// members[value eq "…"] path, or all) and replaced.
func (s *Service) patchGroup(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	ops, err := ParsePatch(body)
	if err != nil {
		return nil, err
	}
	g, err := s.writableGroup(ctx, t, id, ifMatch)
	if err != nil {
		return nil, err
	}
	cur, err := s.deps.Directory.GroupMembers(ctx, t.OrganizationID, id)
	if err != nil {
		return nil, err
	}
	// Apply every operation to a copy, then write the difference.
	e := groupEdit{name: g.DisplayName, externalID: g.ExternalID}
	members := &memberList{ids: slices.Clone(cur), in: setOf(cur)}
	for _, o := range ops {
		if err := applyGroupOp(&e, members, o); err != nil {
			return nil, err
		}
		if members.named > maxGroupMembers {
			return nil, badValue("a request names at most %d members", maxGroupMembers)
		}
	}
	e.add, e.remove = diff(cur, members.ids)
	return s.applyGroup(ctx, t, g, ifMatch, e)
}

// memberList is a group's members as a PATCH edits them: in order, with a
// set for lookups, counting the ids the request named.
type memberList struct {
	ids   []string
	in    map[string]bool
	named int
}

func (l *memberList) add(id string) {
	if !l.in[id] {
		l.in[id] = true
		l.ids = append(l.ids, id)
	}
}

func (l *memberList) keep(f func(id string) (bool, error)) error {
	var out []string
	for _, id := range l.ids {
		ok, err := f(id)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, id)
		} else {
			delete(l.in, id)
		}
	}
	l.ids = out
	return nil
}

func applyGroupOp(e *groupEdit, members *memberList, o PatchOp) error {
	if o.Path == "" {
		for k, v := range o.Value.(map[string]any) {
			path := strings.ToLower(k)
			if path == "id" || path == "schemas" || path == "meta" {
				continue // echoed back, as Okta's rename does
			}
			if err := applyGroupPath(e, members, o.Op, k, nil, v); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := parsePath(o.Path)
	if err != nil {
		return newErr(400, TypeInvalidPath, "the path %q is not valid", clip(o.Path))
	}
	return applyGroupPath(e, members, o.Op, o.Path, &p, o.Value)
}

func applyGroupPath(e *groupEdit, members *memberList, op, raw string, p *filter.Path, v any) error {
	name, valueFilter, err := groupPathName(raw, p)
	if err != nil {
		return err
	}
	switch name {
	case "displayname":
		return applyDisplayName(e, op, v)
	case "externalid":
		return applyExternalID(e, op, v)
	case "members":
		return applyMembers(members, op, valueFilter, v)
	case "id", "meta", "schemas", "meta.created", "meta.lastmodified", "meta.location", "meta.version", "meta.resourcetype":
		return newErr(400, TypeMutability, "%s is read-only", clip(raw))
	}
	return newErr(400, TypeInvalidPath, "%q is not an attribute of the Group schema", clip(raw))
}

// groupPathName is the lower-case attribute an operation names (with its
// sub-attribute, as in "meta.version") and its value filter, if any: raw
// itself for a key of a path-less operation's value (p nil), else the
// parsed path, which must be of the Group schema and not name a member's
// sub-attribute.
func groupPathName(raw string, p *filter.Path) (string, filter.Expression, error) {
	name := strings.ToLower(raw)
	if p == nil {
		return name, nil, nil
	}
	if u := p.AttributePath.URI(); u != "" && !strings.EqualFold(u, SchemaGroup) {
		return "", nil, newErr(400, TypeInvalidPath, "%q is not an attribute of the Group schema", clip(raw))
	}
	name = strings.ToLower(p.AttributePath.AttributeName)
	if sub := p.AttributePath.SubAttributeName(); sub != "" {
		name += "." + strings.ToLower(sub)
	}
	if p.SubAttribute != nil {
		return "", nil, newErr(400, TypeInvalidPath, "%q: a member's sub-attributes are not changed on their own", clip(raw))
	}
	return name, p.ValueExpression, nil
}

// applyDisplayName sets the edit's name; it cannot be removed.
func applyDisplayName(e *groupEdit, op string, v any) error {
	if op == "remove" {
		return newErr(400, TypeMutability, "a group's displayName cannot be removed")
	}
	s, ok := v.(string)
	if !ok {
		return badValue("displayName must be a string")
	}
	e.name = s
	return nil
}

// applyExternalID sets the edit's external id, or clears it on a remove or
// a null value.
func applyExternalID(e *groupEdit, op string, v any) error {
	if op == "remove" || v == nil {
		e.externalID = ""
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return badValue("externalId must be a string")
	}
	e.externalID = s
	return nil
}

// applyMembers adds, replaces or removes members: those a members[filter]
// path matches, all of them on a remove without a value, else those the
// value lists.
func applyMembers(members *memberList, op string, valueFilter filter.Expression, v any) error {
	if valueFilter != nil {
		return removeMembersWhere(members, op, valueFilter)
	}
	if op == "remove" && v == nil {
		return members.keep(func(string) (bool, error) { return false, nil })
	}
	ids, err := memberValues(v)
	if err != nil {
		return err
	}
	members.named += len(ids)
	switch op {
	case "add":
		for _, id := range ids {
			members.add(id)
		}
	case "replace":
		_ = members.keep(func(string) (bool, error) { return false, nil })
		for _, id := range ids {
			members.add(id)
		}
	case "remove": // Entra ID removes with a value list
		drop := setOf(ids)
		return members.keep(func(id string) (bool, error) { return !drop[id], nil })
	}
	return nil
}

// removeMembersWhere removes the members a members[filter] path matches;
// such a path is only for remove.
func removeMembersWhere(members *memberList, op string, valueFilter filter.Expression) error {
	if op != "remove" {
		return newErr(400, TypeInvalidPath, "a members[filter] path is for remove")
	}
	// Checked on a sample value first, so a bad filter is refused
	// whether or not the group has members.
	if _, err := evalValue(valueFilter, domain.MultiValue{Type: "User"}); err != nil {
		return err
	}
	return members.keep(func(id string) (bool, error) {
		ok, err := evalValue(valueFilter, domain.MultiValue{Value: id, Type: "User"})
		return !ok, err
	})
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
	if len(items) > maxGroupMembers {
		return nil, badValue("an operation changes at most %d members", maxGroupMembers)
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

// DeleteGroup runs deleteGroup as one unit of work (see inUnit).
func (s *Service) DeleteGroup(ctx context.Context, t *Tenant, id, ifMatch string) error {
	_, err := inUnit(s, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.deleteGroup(ctx, t, id, ifMatch)
	})
	return err
}

// deleteGroup deletes a group. Its members stay members of the
// organization, with their own roles.
func (s *Service) deleteGroup(ctx context.Context, t *Tenant, id, ifMatch string) error {
	if _, err := s.writableGroup(ctx, t, id, ifMatch); err != nil {
		return err
	}
	return groupErr(s.deps.Directory.DeleteGroup(ctx, t.OrganizationID, id))
}

// asks reports whether the projection names attribute name in attributes.
func (p Projection) asks(name string) bool {
	for _, r := range p.include {
		if r.key == name {
			return true
		}
	}
	return false
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
