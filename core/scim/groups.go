package scim

import (
	"context"
	"errors"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
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
		return newErr(fault.Taken, TypeUniqueness, "a group with this displayName already exists")
	case errors.Is(err, directory.ErrNotAMember):
		return badValue("every member must be a user of this organization")
	}
	if e, ok := fault.As(err); ok && e.Kind == fault.Invalid {
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
		return nil, newErr(fault.Invalid, TypeInvalidFilter, "the filter is longer than %d characters", MaxFilterLen)
	}
	expr, err := parseExpr(raw)
	if err != nil {
		return nil, errSyntax
	}
	m := &groupMatcher{expr: expr, inGroups: map[string]map[string]bool{}}
	var check func(filter.Expression, int) error
	check = func(e filter.Expression, depth int) error {
		if depth > maxFilterTerms {
			return newErr(fault.Invalid, TypeInvalidFilter, "the filter is too deep")
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
					return newErr(fault.Invalid, TypeInvalidFilter, "members.value takes eq and a user id")
				}
				m.inGroups[v] = nil
				return nil
			}
		}
		return newErr(fault.Invalid, TypeInvalidFilter, "Groups filter on displayName, externalId, id and members.value")
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
		return false, newErr(fault.Invalid, TypeInvalidFilter, "unsupported filter")
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
