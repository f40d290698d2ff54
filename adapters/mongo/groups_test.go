package mongo_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// groupStores are the stores the group suite drives, on one fresh
// database: a group's members are its organization's.
func groupStores(t *testing.T) testsuite.GroupStores {
	db := testDB(t)
	return testsuite.GroupStores{
		Orgs:      mongoadapter.NewOrganizationStore(db),
		Directory: mongoadapter.NewDirectoryStore(db),
		Users:     mongoadapter.NewUserStore(db),
		Groups:    mongoadapter.NewGroupStore(db),
	}
}

func TestGroupStore(t *testing.T) {
	t.Parallel()
	testsuite.RunGroupStore(t, groupStores)
}

// A membership that an older version wrote has no status; it was active,
// and its user may be put in groups.
func TestGroupMemberWithoutStatus(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	groups := mongoadapter.NewGroupStore(db)
	org := uuid.NewString()
	scimOrg(t, db, org)
	oldMember, pending := uuid.NewString(), uuid.NewString()
	_, err := db.Collection("memberships").InsertMany(t.Context(), []any{
		bson.M{"user_id": oldMember, "organization_id": org, "role": domain.RoleMember, "created_at": scimEpoch},
		bson.M{"user_id": pending, "organization_id": org, "role": domain.RoleMember,
			"status": string(domain.MembershipPending), "created_at": scimEpoch},
	})
	require.NoError(t, err)

	g := domain.Group{ID: uuid.NewString(), OrganizationID: org, DisplayName: "Old", CreatedAt: scimEpoch, UpdatedAt: scimEpoch}
	require.NoError(t, groups.CreateGroup(t.Context(), g, []string{oldMember}))
	_, err = groups.ChangeGroupMembers(t.Context(), org, g.ID, []string{pending}, nil, scimEpoch.Add(time.Minute))
	require.ErrorIs(t, err, domain.ErrNotFound, "a pending membership is no member")
	members, err := groups.ListGroupMembers(t.Context(), org, g.ID, "", 10)
	require.NoError(t, err)
	assert.Equal(t, []string{oldMember}, members)
}

// A member document's _id is the pair (group, user), escaped so that no
// two pairs share one: without the escaping, ("g$a", "u") and ("g",
// "a$u") would both be "g$a$u".
func TestGroupMemberIDsNeverCollide(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	groups := mongoadapter.NewGroupStore(db)
	org := uuid.NewString()
	scimOrg(t, db, org)
	u1, u2 := "u", "a$u"
	scimMember(t, db, org, u1)
	scimMember(t, db, org, u2)
	g1 := domain.Group{ID: "g$a", OrganizationID: org, DisplayName: "One", CreatedAt: scimEpoch, UpdatedAt: scimEpoch}
	g2 := domain.Group{ID: "g", OrganizationID: org, DisplayName: "Two", CreatedAt: scimEpoch, UpdatedAt: scimEpoch}
	require.NoError(t, groups.CreateGroup(t.Context(), g1, []string{u1}))
	require.NoError(t, groups.CreateGroup(t.Context(), g2, []string{u2}))
	for _, tc := range []struct {
		group string
		want  []string
	}{{g1.ID, []string{u1}}, {g2.ID, []string{u2}}} {
		got, err := groups.ListGroupMembers(t.Context(), org, tc.group, "", 10)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, tc.group)
	}
}

// Member documents that a DeleteGroup left behind when it stopped after
// deleting the group are never shown, and a retry removes them.
func TestGroupDeleteRetryFinishesCleanup(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	groups := mongoadapter.NewGroupStore(db)
	org := uuid.NewString()
	scimOrg(t, db, org)
	user := uuid.NewString()
	scimMember(t, db, org, user)
	g := domain.Group{ID: uuid.NewString(), OrganizationID: org, DisplayName: "Half", CreatedAt: scimEpoch, UpdatedAt: scimEpoch}
	require.NoError(t, groups.CreateGroup(t.Context(), g, []string{user}))
	_, err := db.Collection("groups").DeleteOne(t.Context(), bson.M{"_id": g.ID})
	require.NoError(t, err)

	members, err := groups.ListGroupMembers(t.Context(), org, g.ID, "", 10)
	require.NoError(t, err)
	assert.Empty(t, members, "the members of a deleted group")
	in, err := groups.ListUserGroups(t.Context(), org, user)
	require.NoError(t, err)
	assert.Empty(t, in, "a deleted group")

	require.ErrorIs(t, groups.DeleteGroup(t.Context(), org, g.ID), domain.ErrNotFound)
	left, err := db.Collection("group_members").CountDocuments(t.Context(), bson.M{"group_id": g.ID})
	require.NoError(t, err)
	assert.Zero(t, left, "the retry deleted the members")
}
