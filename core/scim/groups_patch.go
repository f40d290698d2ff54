package scim

import (
	"context"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

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
		return newErr(fault.Invalid, TypeInvalidPath, "the path %q is not valid", clip(o.Path))
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
		return newErr(fault.Invalid, TypeMutability, "%s is read-only", clip(raw))
	}
	return newErr(fault.Invalid, TypeInvalidPath, "%q is not an attribute of the Group schema", clip(raw))
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
		return "", nil, newErr(fault.Invalid, TypeInvalidPath, "%q is not an attribute of the Group schema", clip(raw))
	}
	name = strings.ToLower(p.AttributePath.AttributeName)
	if sub := p.AttributePath.SubAttributeName(); sub != "" {
		name += "." + strings.ToLower(sub)
	}
	if p.SubAttribute != nil {
		return "", nil, newErr(fault.Invalid, TypeInvalidPath, "%q: a member's sub-attributes are not changed on their own", clip(raw))
	}
	return name, p.ValueExpression, nil
}

// applyDisplayName sets the edit's name; it cannot be removed.
func applyDisplayName(e *groupEdit, op string, v any) error {
	if op == "remove" {
		return newErr(fault.Invalid, TypeMutability, "a group's displayName cannot be removed")
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
		return newErr(fault.Invalid, TypeInvalidPath, "a members[filter] path is for remove")
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
