package scim

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Group writes: POST, PUT and DELETE, and the edit PUT and PATCH both
// write (applyGroup). PATCH is in groups_patch.go.

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
		return g, newErr(fault.Invalid, TypeInvalidSyntax, "schemas must include %s", SchemaGroup)
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
