package directory

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Groups: an organization's named sets of members, pushed by its identity
// provider (SCIM) and mapped to roles by platform administrators. A
// member's effective role is the highest of their own role and their
// groups' mapped roles (domain.EffectiveRole); a change that moves it
// emits user.updated to the organization.

// Group errors the SCIM layer answers in its own terms.
var (
	ErrGroupNotFound  = &fault.Error{Kind: fault.NotFound, Code: "group_not_found", Message: "no such group"}
	ErrGroupNameTaken = &fault.Error{Kind: fault.Taken, Code: "group_name_taken", Message: "another group of this organization has that name"}
	ErrNotAMember     = &fault.Error{Kind: fault.Invalid, Code: "not_a_member", Message: "a group's members must be members of its organization"}
)

// MaxGroupName bounds a group's name and external id, in characters.
const MaxGroupName = 256

// GroupInput is a new group, or a group's new name and external id.
type GroupInput struct {
	DisplayName string
	ExternalID  string
}

// Check validates a group's name and external id.
func (in GroupInput) Check() error {
	if strings.TrimSpace(in.DisplayName) == "" {
		return fault.New(fault.Invalid, "invalid_request", "a group needs a displayName")
	}
	for _, v := range []string{in.DisplayName, in.ExternalID} {
		if !domain.PrintableText(v, MaxGroupName) {
			return fault.New(fault.Invalid, "invalid_request", "a group's displayName and externalId are at most %d printable characters", MaxGroupName)
		}
	}
	return nil
}

func groupErr(op string, err error) error {
	switch {
	case errors.Is(err, domain.ErrAlreadyExists):
		return ErrGroupNameTaken
	case errors.Is(err, domain.ErrNotFound):
		return ErrGroupNotFound
	}
	return fault.Store(op, err)
}

// CreateGroup makes a group of the organization with its first members.
func (s *Service) CreateGroup(ctx context.Context, orgID string, in GroupInput, members []string) (domain.Group, error) {
	if err := in.Check(); err != nil {
		return domain.Group{}, err
	}
	if _, err := s.GetOrganization(ctx, orgID); err != nil {
		return domain.Group{}, err
	}
	now := s.now()
	g := domain.Group{
		ID: s.deps.Random.UUID(), OrganizationID: orgID, DisplayName: in.DisplayName, ExternalID: in.ExternalID,
		CreatedAt: now, UpdatedAt: now,
	}
	err := s.deps.Groups.CreateGroup(ctx, g, dedupe(members))
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Group{}, ErrNotAMember // the organization exists
	}
	if err != nil {
		return domain.Group{}, groupErr("create group", err)
	}
	return g, nil
}

// GetGroup returns one of the organization's groups.
func (s *Service) GetGroup(ctx context.Context, orgID, id string) (domain.Group, error) {
	g, err := s.deps.Groups.GetGroup(ctx, orgID, id)
	if err != nil {
		return domain.Group{}, groupErr("get group", err)
	}
	return g, nil
}

// FindGroup returns the organization's group of that name, in any case.
func (s *Service) FindGroup(ctx context.Context, orgID, name string) (domain.Group, error) {
	g, err := s.deps.Groups.GetGroupByName(ctx, orgID, name)
	if err != nil {
		return domain.Group{}, groupErr("get group by name", err)
	}
	return g, nil
}

// ListGroups returns a page of the organization's groups, by id.
func (s *Service) ListGroups(ctx context.Context, orgID, cursor string, limit int) (Page[domain.Group], error) {
	after, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return Page[domain.Group]{}, err
	}
	gs, err := s.deps.Groups.ListGroups(ctx, orgID, after, limit+1)
	if err != nil {
		return Page[domain.Group]{}, fault.Store("list groups", err)
	}
	return pageOf(gs, limit, idOfGroup), nil
}

// UserGroups returns the organization's groups a user is in, by id.
func (s *Service) UserGroups(ctx context.Context, orgID, userID string) ([]domain.Group, error) {
	gs, err := s.deps.Groups.ListUserGroups(ctx, orgID, userID)
	if err != nil {
		return nil, fault.Store("list user groups", err)
	}
	return gs, nil
}

// GroupMembers returns every member's user id of a group, in order.
func (s *Service) GroupMembers(ctx context.Context, orgID, id string) ([]string, error) {
	var out []string
	for after := ""; ; {
		page, err := s.deps.Groups.ListGroupMembers(ctx, orgID, id, after, 1000)
		if err != nil {
			return nil, fault.Store("list group members", err)
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1]
	}
}

// RenameGroup changes a group's name and external id. precondition, if
// set, sees the group as stored and may refuse the change.
func (s *Service) RenameGroup(ctx context.Context, orgID, id string, in GroupInput, precondition func(domain.Group) error) (domain.Group, error) {
	if err := in.Check(); err != nil {
		return domain.Group{}, err
	}
	g, err := s.deps.Groups.UpdateGroup(ctx, orgID, id, func(g *domain.Group) error {
		if precondition != nil {
			if err := precondition(*g); err != nil {
				return err
			}
		}
		if g.DisplayName != in.DisplayName || g.ExternalID != in.ExternalID {
			g.DisplayName, g.ExternalID, g.UpdatedAt = in.DisplayName, in.ExternalID, s.after(g.UpdatedAt)
		}
		return nil
	})
	if err != nil {
		if _, ok := err.(*fault.Error); ok || precondition != nil && !isStoreErr(err) {
			return domain.Group{}, err
		}
		return domain.Group{}, groupErr("update group", err)
	}
	return g, nil
}

// isStoreErr reports whether err is one of the stores' sentinel errors.
func isStoreErr(err error) bool {
	return errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrAlreadyExists) || errors.Is(err, domain.ErrUnavailable)
}

// ChangeGroupMembers adds and removes members in one step; members whose
// effective role it moves hear user.updated.
func (s *Service) ChangeGroupMembers(ctx context.Context, orgID, id string, add, remove []string) (domain.Group, error) {
	return unit(s, ctx, func(ctx context.Context) (domain.Group, error) {
		return s.changeGroupMembers(ctx, orgID, id, add, remove)
	})
}

func (s *Service) changeGroupMembers(ctx context.Context, orgID, id string, add, remove []string) (domain.Group, error) {
	g, err := s.GetGroup(ctx, orgID, id)
	if err != nil {
		return domain.Group{}, err
	}
	add, remove = dedupe(add), dedupe(remove)
	affected := append(append([]string{}, add...), remove...)
	before, err := s.effectiveRoles(ctx, g, affected)
	if err != nil {
		return domain.Group{}, err
	}
	g, err = s.deps.Groups.ChangeGroupMembers(ctx, orgID, id, add, remove, s.after(g.UpdatedAt))
	if errors.Is(err, domain.ErrNotFound) {
		if _, gone := s.deps.Groups.GetGroup(ctx, orgID, id); gone != nil {
			return domain.Group{}, ErrGroupNotFound
		}
		return domain.Group{}, ErrNotAMember
	}
	if err != nil {
		return domain.Group{}, fault.Store("change group members", err)
	}
	return g, s.roleEvents(ctx, orgID, before)
}

// DeleteGroup removes a group; members whose effective role it moves hear
// user.updated.
func (s *Service) DeleteGroup(ctx context.Context, orgID, id string) error {
	return s.atomically(ctx, func(ctx context.Context) error { return s.deleteGroup(ctx, orgID, id) })
}

func (s *Service) deleteGroup(ctx context.Context, orgID, id string) error {
	g, err := s.GetGroup(ctx, orgID, id)
	if err != nil {
		return err
	}
	members, err := s.GroupMembers(ctx, orgID, id)
	if err != nil {
		return err
	}
	before, err := s.effectiveRoles(ctx, g, members)
	if err != nil {
		return err
	}
	if err := s.deps.Groups.DeleteGroup(ctx, orgID, id); err != nil {
		return groupErr("delete group", err)
	}
	return s.roleEvents(ctx, orgID, before)
}

// MapGroupRole maps a group to a role ("" unmaps it): a platform
// administrator's decision. No role with an owner's permissions is given
// through a group (domain.Mappable): the organization's identity provider
// would then decide who manages the organization.
func (s *Service) MapGroupRole(ctx context.Context, orgID, id, role string) (domain.Group, error) {
	if role != "" {
		r, ok, err := access.Role(ctx, s.deps.Roles, orgID, role)
		switch {
		case err != nil:
			return domain.Group{}, fault.Store("get role", err)
		case !domain.ValidName(role) || !ok:
			return domain.Group{}, fault.New(fault.Invalid, "invalid_role", "role %q does not exist in this organization", clip(role))
		case !domain.Mappable(r):
			return domain.Group{}, fault.New(fault.Invalid, "invalid_role",
				"role %q manages the organization (owner, organization:manage or roles:manage): a group cannot give it; make owners directly", clip(role))
		}
	}
	return unit(s, ctx, func(ctx context.Context) (domain.Group, error) {
		return s.mapGroupRole(ctx, orgID, id, role)
	})
}

func (s *Service) mapGroupRole(ctx context.Context, orgID, id, role string) (domain.Group, error) {
	g, err := s.GetGroup(ctx, orgID, id)
	if err != nil {
		return domain.Group{}, err
	}
	members, err := s.GroupMembers(ctx, orgID, id)
	if err != nil {
		return domain.Group{}, err
	}
	probe := g
	probe.Role = role + g.Role // either side mapped: someone's role may move
	before, err := s.effectiveRoles(ctx, probe, members)
	if err != nil {
		return domain.Group{}, err
	}
	g, err = s.deps.Groups.UpdateGroup(ctx, orgID, id, func(g *domain.Group) error {
		if g.Role != role {
			g.Role, g.UpdatedAt = role, s.after(g.UpdatedAt)
		}
		return nil
	})
	if err != nil {
		return domain.Group{}, groupErr("update group", err)
	}
	return g, s.roleEvents(ctx, orgID, before)
}

// effectiveRoles records the effective roles of the users, for
// roleEvents to compare with; none when the group maps to no role, as its
// changes then move no one's.
func (s *Service) effectiveRoles(ctx context.Context, g domain.Group, userIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if g.Role == "" {
		return out, nil
	}
	for _, id := range userIDs {
		m, err := s.deps.Orgs.GetMembership(ctx, g.OrganizationID, id)
		if errors.Is(err, domain.ErrNotFound) || err == nil && !m.Visible() {
			continue
		}
		if err != nil {
			return nil, fault.Store("get membership", err)
		}
		h, err := access.Resolve(ctx, s.deps.Roles, s.deps.Groups, m)
		if err != nil {
			return nil, fault.Store("effective role", err)
		}
		out[id] = heldKey(h)
	}
	return out, nil
}

// roleEvents emits user.updated for each user whose effective role is no
// longer what before recorded.
func (s *Service) roleEvents(ctx context.Context, orgID string, before map[string]string) error {
	if len(before) == 0 {
		return nil
	}
	now := s.now()
	for _, id := range slices.Sorted(maps.Keys(before)) {
		m, err := s.deps.Orgs.GetMembership(ctx, orgID, id)
		if err != nil {
			continue // left meanwhile
		}
		h, err := access.Resolve(ctx, s.deps.Roles, s.deps.Groups, m)
		if err != nil {
			return fault.Store("effective role", err)
		}
		if heldKey(h) == before[id] {
			continue
		}
		u, err := s.deps.Users.GetUser(ctx, id)
		if err != nil {
			continue
		}
		// The organization's own business, as its membership's status is:
		// its apps hear of it, no other organization's.
		aud := domain.Audience{OrganizationIDs: []string{orgID}}
		if err := s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, orgID, aud, now)); err != nil {
			return err
		}
	}
	return nil
}

// after is the time of a change to a group last changed at last: now, or
// a millisecond after last if the clock has not passed it, so each change
// moves the group's version (taken at the millisecond, as SCIM shows
// lastModified).
func (s *Service) after(last time.Time) time.Time {
	next := last.Truncate(time.Millisecond).Add(time.Millisecond)
	if now := s.now(); now.After(next) {
		return now
	}
	return next
}

// leaveGroups takes a user out of an organization's groups, moving each
// group's version, before the membership goes: a store's own cascade
// would leave the groups' versions as they were.
func (s *Service) leaveGroups(ctx context.Context, orgID, userID string) error {
	gs, err := s.deps.Groups.ListUserGroups(ctx, orgID, userID)
	if err != nil {
		return fault.Store("list user groups", err)
	}
	for _, g := range gs {
		if _, err := s.deps.Groups.ChangeGroupMembers(ctx, orgID, g.ID, nil, []string{userID}, s.after(g.UpdatedAt)); err != nil &&
			!errors.Is(err, domain.ErrNotFound) {
			return fault.Store("change group members", err)
		}
	}
	return nil
}

// heldKey is what roleEvents compares: the roles a member holds.
func heldKey(h access.Held) string { return strings.Join(h.Names(), ",") }

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
