package testsuite

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// GroupStores are one backend's stores the group suite drives: groups
// hold members of organizations.
type GroupStores struct {
	Orgs      ports.OrganizationStore
	Directory ports.DirectoryStore
	Users     ports.UserStore
	Groups    ports.GroupStore
}

// RunGroupStore checks a GroupStore against its port contract.
func RunGroupStore(t *testing.T, newStores func(t *testing.T) GroupStores) {
	runSubtests(t, newStores, []subtest[GroupStores]{
		{"a created group reads back by id and by name in any case, with its members", groupReadsBack},
		{"a group's id or name taken, in any case, fails with ErrAlreadyExists", groupDuplicate},
		{"a missing organization or a member who is not the organization's fails with ErrNotFound and writes nothing", groupMissing},
		{"one name may name groups of different organizations", groupNamesScoped},
		{"an update renames, keeps the id, frees the old name and refuses a taken one", groupUpdate},
		{"an update whose callback fails writes nothing", groupUpdateRefused},
		{"a deleted group is gone with its members' places, and its name is free", groupDeleted},
		{"member changes move UpdatedAt only when something changed", groupMemberChanges},
		{"adding a user who is not a member writes nothing", groupAddOutsider},
		{"a user is in many groups, listed per organization", groupManyToMany},
		{"leaving the organization, or being deleted, leaves its groups", groupLeave},
		{"groups and their members are listed in pages", groupsPaged},
		{"parallel creates of one name make one group; parallel adds all land", groupRace},
	})
}

func sampleGroup(orgID, name string) domain.Group {
	return domain.Group{
		ID: uuid.NewString(), OrganizationID: orgID, DisplayName: name, ExternalID: "ext-" + name,
		CreatedAt: epoch, UpdatedAt: epoch,
	}
}

func uniqueGroupName() string {
	return "Sales Team " + strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
}

// groupOrg makes an organization with n active members and returns their
// ids.
func groupOrg(t *testing.T, s GroupStores, n int) (domain.Organization, []string) {
	t.Helper()
	o := createOrganization(t, s.Orgs)
	ids := make([]string, n)
	for i := range ids {
		u := createUser(t, s.Users)
		ids[i] = u.ID
		require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
			OrganizationID: o.ID, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive,
			UserName: u.Email, CreatedAt: epoch,
		}))
	}
	return o, ids
}

func groupMembers(t *testing.T, s GroupStores, orgID, id string) []string {
	t.Helper()
	out, err := s.Groups.ListGroupMembers(t.Context(), orgID, id, "", 1000)
	require.NoError(t, err)
	return out
}

func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func groupReadsBack(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 2)
	g := sampleGroup(o.ID, "Équipe Ω "+uniqueGroupName())
	g.Role = domain.RoleAdmin
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, ids))
	got, err := s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.NoError(t, err)
	assertSame(t, g, got)
	for _, n := range []string{g.DisplayName, strings.ToUpper(g.DisplayName), strings.ToLower(g.DisplayName)} {
		got, err = s.Groups.GetGroupByName(t.Context(), o.ID, n)
		require.NoError(t, err, n)
		assertSame(t, g, got, n)
	}
	assert.Equal(t, sorted(ids...), groupMembers(t, s, o.ID, g.ID))
	_, err = s.Groups.GetGroup(t.Context(), createOrganization(t, s.Orgs).ID, g.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "another organization's group is not found")
	_, err = s.Groups.GetGroupByName(t.Context(), o.ID, uniqueGroupName())
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func groupDuplicate(t *testing.T, s GroupStores) {
	o, _ := groupOrg(t, s, 0)
	g := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, nil))
	sameID := sampleGroup(o.ID, uniqueGroupName())
	sameID.ID = g.ID
	require.ErrorIs(t, s.Groups.CreateGroup(t.Context(), sameID, nil), domain.ErrAlreadyExists, "same id")
	sameName := sampleGroup(o.ID, strings.ToUpper(g.DisplayName))
	require.ErrorIs(t, s.Groups.CreateGroup(t.Context(), sameName, nil), domain.ErrAlreadyExists, "same name in another case")
	_, err := s.Groups.GetGroup(t.Context(), o.ID, sameName.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func groupMissing(t *testing.T, s GroupStores) {
	g := sampleGroup(uuid.NewString(), uniqueGroupName())
	require.ErrorIs(t, s.Groups.CreateGroup(t.Context(), g, nil), domain.ErrNotFound, "missing organization")

	o, ids := groupOrg(t, s, 1)
	outsider := createUser(t, s.Users)
	g = sampleGroup(o.ID, uniqueGroupName())
	require.ErrorIs(t, s.Groups.CreateGroup(t.Context(), g, []string{ids[0], outsider.ID}), domain.ErrNotFound)
	_, err := s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing written")
	_, err = s.Groups.GetGroupByName(t.Context(), o.ID, g.DisplayName)
	require.ErrorIs(t, err, domain.ErrNotFound, "the name is not taken")

	pending := createUser(t, s.Users)
	require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
		OrganizationID: o.ID, UserID: pending.ID, Role: domain.RoleMember, Status: domain.MembershipPending, CreatedAt: epoch,
	}))
	require.ErrorIs(t, s.Groups.CreateGroup(t.Context(), g, []string{pending.ID}), domain.ErrNotFound, "a pending member is not one yet")
}

func groupNamesScoped(t *testing.T, s GroupStores) {
	a, _ := groupOrg(t, s, 0)
	b, _ := groupOrg(t, s, 0)
	name := uniqueGroupName()
	require.NoError(t, s.Groups.CreateGroup(t.Context(), sampleGroup(a.ID, name), nil))
	require.NoError(t, s.Groups.CreateGroup(t.Context(), sampleGroup(b.ID, name), nil))
}

func groupUpdate(t *testing.T, s GroupStores) {
	o, _ := groupOrg(t, s, 0)
	g := sampleGroup(o.ID, uniqueGroupName())
	other := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, nil))
	require.NoError(t, s.Groups.CreateGroup(t.Context(), other, nil))

	renamed := "Ventes " + uniqueGroupName()
	later := epoch.Add(time.Hour)
	got, err := s.Groups.UpdateGroup(t.Context(), o.ID, g.ID, func(x *domain.Group) error {
		x.DisplayName, x.ExternalID, x.Role, x.UpdatedAt = renamed, "ext-2", "teacher", later
		x.ID, x.OrganizationID = "moved", "elsewhere"
		return nil
	})
	require.NoError(t, err)
	want := g
	want.DisplayName, want.ExternalID, want.Role, want.UpdatedAt = renamed, "ext-2", "teacher", later
	assertSame(t, want, got)
	stored, err := s.Groups.GetGroupByName(t.Context(), o.ID, strings.ToLower(renamed))
	require.NoError(t, err)
	assertSame(t, want, stored)
	require.NoError(t, s.Groups.CreateGroup(t.Context(), sampleGroup(o.ID, g.DisplayName), nil), "the old name is free")

	_, err = s.Groups.UpdateGroup(t.Context(), o.ID, g.ID, func(x *domain.Group) error {
		x.DisplayName = strings.ToUpper(other.DisplayName)
		return nil
	})
	require.ErrorIs(t, err, domain.ErrAlreadyExists)
	stored, err = s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.NoError(t, err)
	assertSame(t, want, stored, "the refused rename wrote nothing")

	// Changing only the case of its own name is no conflict.
	_, err = s.Groups.UpdateGroup(t.Context(), o.ID, g.ID, func(x *domain.Group) error {
		x.DisplayName = strings.ToUpper(renamed)
		return nil
	})
	require.NoError(t, err)

	_, err = s.Groups.UpdateGroup(t.Context(), o.ID, uuid.NewString(), func(*domain.Group) error { return nil })
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func groupUpdateRefused(t *testing.T, s GroupStores) {
	o, _ := groupOrg(t, s, 0)
	g := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, nil))
	boom := errors.New("boom")
	_, err := s.Groups.UpdateGroup(t.Context(), o.ID, g.ID, func(x *domain.Group) error {
		x.DisplayName = "changed"
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err := s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.NoError(t, err)
	assertSame(t, g, got)
}

func groupDeleted(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 2)
	g := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, ids))
	require.ErrorIs(t, s.Groups.DeleteGroup(t.Context(), createOrganization(t, s.Orgs).ID, g.ID), domain.ErrNotFound, "not another organization's")
	require.NoError(t, s.Groups.DeleteGroup(t.Context(), o.ID, g.ID))
	_, err := s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
	assert.Empty(t, groupMembers(t, s, o.ID, g.ID))
	in, err := s.Groups.ListUserGroups(t.Context(), o.ID, ids[0])
	require.NoError(t, err)
	assert.Empty(t, in)
	require.ErrorIs(t, s.Groups.DeleteGroup(t.Context(), o.ID, g.ID), domain.ErrNotFound)
	require.NoError(t, s.Groups.CreateGroup(t.Context(), sampleGroup(o.ID, g.DisplayName), nil), "the name is free")
}

func groupMemberChanges(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 3)
	g := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, ids[:1]))

	t1 := epoch.Add(time.Minute)
	got, err := s.Groups.ChangeGroupMembers(t.Context(), o.ID, g.ID, ids[1:], ids[:1], t1)
	require.NoError(t, err)
	assert.True(t, got.UpdatedAt.Equal(t1), "a change moves UpdatedAt")
	assert.Equal(t, sorted(ids[1:]...), groupMembers(t, s, o.ID, g.ID))

	t2 := epoch.Add(2 * time.Minute)
	got, err = s.Groups.ChangeGroupMembers(t.Context(), o.ID, g.ID, ids[1:2], ids[:1], t2)
	require.NoError(t, err)
	assert.True(t, got.UpdatedAt.Equal(t1), "adding a member again and removing a non-member change nothing")
	stored, err := s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.NoError(t, err)
	assert.True(t, stored.UpdatedAt.Equal(t1))

	_, err = s.Groups.ChangeGroupMembers(t.Context(), o.ID, uuid.NewString(), ids, nil, t2)
	require.ErrorIs(t, err, domain.ErrNotFound, "a missing group")
}

func groupAddOutsider(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 2)
	g := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, ids[:1]))
	outsider := createUser(t, s.Users)
	_, err := s.Groups.ChangeGroupMembers(t.Context(), o.ID, g.ID, []string{ids[1], outsider.ID}, ids[:1], epoch.Add(time.Hour))
	require.ErrorIs(t, err, domain.ErrNotFound)
	assert.Equal(t, ids[:1], groupMembers(t, s, o.ID, g.ID), "nothing written")
	stored, err := s.Groups.GetGroup(t.Context(), o.ID, g.ID)
	require.NoError(t, err)
	assertSame(t, g, stored)
}

func groupManyToMany(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 2)
	a, b := sampleGroup(o.ID, uniqueGroupName()), sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), a, ids))
	require.NoError(t, s.Groups.CreateGroup(t.Context(), b, ids[:1]))
	other, _ := groupOrg(t, s, 0)
	require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
		OrganizationID: other.ID, UserID: ids[0], Role: domain.RoleMember, Status: domain.MembershipActive, CreatedAt: epoch,
	}))
	c := sampleGroup(other.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), c, ids[:1]))

	in, err := s.Groups.ListUserGroups(t.Context(), o.ID, ids[0])
	require.NoError(t, err)
	want := []domain.Group{a, b}
	if b.ID < a.ID {
		want = []domain.Group{b, a}
	}
	assertSame(t, want, in, "both of o's groups, by id, not other's")
	in, err = s.Groups.ListUserGroups(t.Context(), other.ID, ids[0])
	require.NoError(t, err)
	assertSame(t, []domain.Group{c}, in)
	in, err = s.Groups.ListUserGroups(t.Context(), o.ID, ids[1])
	require.NoError(t, err)
	assertSame(t, []domain.Group{a}, in)
}

func groupLeave(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 2)
	g := sampleGroup(o.ID, uniqueGroupName())
	require.NoError(t, s.Groups.CreateGroup(t.Context(), g, ids))
	require.NoError(t, s.Orgs.DeleteMembership(t.Context(), o.ID, ids[0]))
	assert.Equal(t, ids[1:], groupMembers(t, s, o.ID, g.ID), "a member who left is out")
	in, err := s.Groups.ListUserGroups(t.Context(), o.ID, ids[0])
	require.NoError(t, err)
	assert.Empty(t, in)
	// Coming back does not restore the groups.
	require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
		OrganizationID: o.ID, UserID: ids[0], Role: domain.RoleMember, Status: domain.MembershipActive, CreatedAt: epoch,
	}))
	assert.Equal(t, ids[1:], groupMembers(t, s, o.ID, g.ID))

	require.NoError(t, s.Directory.DeleteUser(t.Context(), ids[1]))
	assert.Empty(t, groupMembers(t, s, o.ID, g.ID), "a deleted user is out")
}

func groupsPaged(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, 5)
	want := map[string]bool{}
	for range 5 {
		g := sampleGroup(o.ID, uniqueGroupName())
		require.NoError(t, s.Groups.CreateGroup(t.Context(), g, ids))
		want[g.ID] = true
	}
	var got []string
	for after := ""; ; {
		page, err := s.Groups.ListGroups(t.Context(), o.ID, after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		if len(page) == 0 {
			break
		}
		for _, g := range page {
			require.Greater(t, g.ID, after)
			require.Equal(t, o.ID, g.OrganizationID)
			got = append(got, g.ID)
			after = g.ID
		}
	}
	assert.Len(t, got, len(want))
	for _, id := range got {
		assert.True(t, want[id])
	}
	var members []string
	for after := ""; ; {
		page, err := s.Groups.ListGroupMembers(t.Context(), o.ID, got[0], after, 2)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 2)
		members = append(members, page...)
		after = page[len(page)-1]
	}
	assert.Equal(t, sorted(ids...), members)
}

func groupRace(t *testing.T, s GroupStores) {
	o, ids := groupOrg(t, s, contenders)
	name := uniqueGroupName()
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		n := name
		if i%2 == 1 {
			n = strings.ToUpper(name)
		}
		errs[i] = s.Groups.CreateGroup(t.Context(), sampleGroup(o.ID, n), nil)
	})
	ok, taken := countErrors(errs, domain.ErrAlreadyExists)
	assert.Equal(t, 1, ok)
	assert.Equal(t, contenders-1, taken)

	g, err := s.Groups.GetGroupByName(t.Context(), o.ID, name)
	require.NoError(t, err)
	race(contenders, func(i int) {
		_, errs[i] = s.Groups.ChangeGroupMembers(t.Context(), o.ID, g.ID, ids[i:i+1], nil, epoch.Add(time.Duration(i)*time.Second))
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, sorted(ids...), groupMembers(t, s, o.ID, g.ID), "every add landed")
}
