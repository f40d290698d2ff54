package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func putMember(t *testing.T, pool *pgxpool.Pool, orgID, userID string, status domain.MembershipStatus) {
	t.Helper()
	require.NoError(t, postgres.NewOrganizationStore(pool).PutMembership(context.Background(), domain.Membership{
		OrganizationID: orgID, UserID: userID, Role: domain.RoleMember, Status: status, CreatedAt: provisionNow,
	}))
}

func newGroup(orgID string) domain.Group {
	id := uuid.NewString()
	return domain.Group{ID: id, OrganizationID: orgID, DisplayName: "Group " + id, CreatedAt: provisionNow, UpdatedAt: provisionNow}
}

// A membership written without a status (as callers from before statuses
// wrote it, see migration 00005) is a member's, not a pending one: it may
// be added to a group.
func TestGroupsAdmitAMembershipWithoutAStatus(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	groups := postgres.NewGroupStore(pool)
	o := createOrg(t, pool)
	old := uuid.NewString()
	putMember(t, pool, o.ID, old, "")

	g := newGroup(o.ID)
	require.NoError(t, groups.CreateGroup(ctx, g, []string{old, old}), "a repeated member is one member")
	got, err := groups.ListGroupMembers(ctx, o.ID, g.ID, "", 10)
	require.NoError(t, err)
	assert.Equal(t, []string{old}, got)
}

// Ids are paged in Go's byte order whatever the database's locale: the id
// columns are COLLATE "C", so upper case sorts before lower case and
// punctuation by its byte. (A database whose locale is C orders them so
// anyway; under ICU's or en_US's rules they would come as a_1 a-1 a1 b B Z,
// so the columns' collation is checked too.)
func TestGroupsPageInByteOrder(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || coalesce(collation_name, '')
		FROM information_schema.columns WHERE table_schema = current_schema()
		AND (table_name, column_name) IN (('groups', 'id'), ('group_members', 'group_id'), ('group_members', 'user_id'))
		ORDER BY 1`)
	require.NoError(t, err)
	collations, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"group_members.group_id C", "group_members.user_id C", "groups.id C"}, collations)

	groups := postgres.NewGroupStore(pool)
	o := createOrg(t, pool)
	ids := []string{"b", "B", "a-1", "a_1", "a1", "é", "Z"}
	for _, id := range ids {
		putMember(t, pool, o.ID, id, domain.MembershipActive)
		g := newGroup(o.ID)
		g.ID = id
		require.NoError(t, groups.CreateGroup(ctx, g, []string{id}))
	}
	first := newGroup(o.ID)
	require.NoError(t, groups.CreateGroup(ctx, first, ids))
	want := slices.Clone(ids)
	slices.Sort(want)

	var paged []string
	for after := ""; ; {
		page, err := groups.ListGroups(ctx, o.ID, after, 3)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, g := range page {
			if g.ID != first.ID {
				paged = append(paged, g.ID)
			}
			after = g.ID
		}
	}
	assert.Equal(t, want, paged, "groups by id")

	members, err := groups.ListGroupMembers(ctx, o.ID, first.ID, "", 100)
	require.NoError(t, err)
	assert.Equal(t, want, members, "members by user id")
	rest, err := groups.ListGroupMembers(ctx, o.ID, first.ID, want[2], 100)
	require.NoError(t, err)
	assert.Equal(t, want[3:], rest, "members after one")

	in, err := groups.ListUserGroups(ctx, o.ID, "a1")
	require.NoError(t, err)
	var inIDs []string
	for _, g := range in {
		inIDs = append(inIDs, g.ID)
	}
	wantIn := []string{"a1", first.ID}
	slices.Sort(wantIn)
	assert.Equal(t, wantIn, inIDs, "a user's groups by id")
}

// A member added while leaving the organization is either refused or taken
// out again by the cascade: no group keeps a user whose membership is gone.
func TestGroupsKeepNoMemberWhoLeftDuringAnAdd(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	groups, orgs := postgres.NewGroupStore(pool), postgres.NewOrganizationStore(pool)
	o := createOrg(t, pool)
	g := newGroup(o.ID)
	require.NoError(t, groups.CreateGroup(ctx, g, nil))

	const rounds = 30
	for range rounds {
		u := uuid.NewString()
		putMember(t, pool, o.ID, u, domain.MembershipActive)
		var addErr, leaveErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, addErr = groups.ChangeGroupMembers(ctx, o.ID, g.ID, []string{u}, nil, provisionNow)
		}()
		go func() {
			defer wg.Done()
			leaveErr = orgs.DeleteMembership(ctx, o.ID, u)
		}()
		wg.Wait()
		require.NoError(t, leaveErr)
		if addErr != nil {
			require.ErrorIs(t, addErr, domain.ErrNotFound, "an add that lost the race finds no member")
		}
		in, err := groups.ListUserGroups(ctx, o.ID, u)
		require.NoError(t, err)
		assert.Empty(t, in, "the user left, and is in no group")
	}
	members, err := groups.ListGroupMembers(ctx, o.ID, g.ID, "", rounds)
	require.NoError(t, err)
	assert.Empty(t, members)
}
