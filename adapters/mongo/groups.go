package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.GroupStore = (*GroupStore)(nil)

const (
	groupsCollection       = "groups"
	groupMembersCollection = "group_members"
)

func init() {
	registerIndexes(groupsCollection,
		// An organization's group names are unique by domain.GroupNameKey,
		// and GetGroupByName looks them up here: one composite field
		// (groupNameKey), as memberships' user_name_key is, so that the
		// insert or the rename itself decides which of racing writers has a
		// name.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "name_key", Value: 1}},
			Options: options.Index().SetName("groups_name_key").SetUnique(true),
		},
		// ListGroups: an organization's groups in id order.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "_id", Value: 1}},
			Options: options.Index().SetName("groups_organization"),
		},
	)
	registerIndexes(groupMembersCollection,
		// ListGroupMembers: a group's user ids in order; and DeleteGroup's
		// cleanup.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "group_id", Value: 1}, {Key: "user_id", Value: 1}},
			Options: options.Index().SetName("group_members_group_user"),
		},
		// ListUserGroups (a user's groups in one organization), and the
		// cleanup when a user leaves an organization (user_id,
		// organization_id) or is deleted (user_id).
		mongo.IndexModel{
			Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "organization_id", Value: 1}, {Key: "group_id", Value: 1}},
			Options: options.Index().SetName("group_members_user"),
		},
	)
}

// GroupStore is the MongoDB ports.GroupStore: one document per group in
// groups, unique on its id and on its name key, and one per (group, member)
// in group_members, whose _id is the pair, so that adding a member twice
// is one document.
//
// Without transactions, the writes that span documents are ordered so that
// what a reader sees is what the port promises, and a change that meets a
// concurrent one never leaves a member where the port says there is none:
//
//   - A group's members are read only through its group: ListGroupMembers
//     checks that the group exists, and ListUserGroups reads the groups of
//     the member documents. DeleteGroup deletes the group first, then its
//     members, so a reader never sees the members of a deleted group.
//   - A member is added only after its membership is checked (not pending:
//     a document without a status is an older version's active one), and
//     its membership is checked again after the insert: leaving the
//     organization (OrganizationStore.DeleteMembership,
//     DirectoryStore.DeleteUser) deletes the membership first and the
//     user's member documents next, so either that cleanup sees the new
//     document or the second check sees the membership gone and deletes
//     the document itself. ChangeGroupMembers reads the group again after
//     its writes (in touch) for the same reason against DeleteGroup.
//   - Every update of a group document goes through updateByRev, whose
//     revision claims serialize the writers of one group on FerretDB too,
//     so a member change's UpdatedAt never overwrites a concurrent rename.
//
// What remains, each for the moment between two writes of one call:
//
//   - CreateGroup inserts the group, then its members: a reader in
//     between sees the group with fewer members than it will have. A
//     failed CreateGroup deletes what it wrote, best effort.
//   - A member who is leaving the organization (between the deletion of the
//     membership and that of the member documents) is still listed in its
//     groups; and an add racing a DeleteMembership that itself races the
//     user coming back (PutMembership) may be taken out by that cleanup.
//   - A ChangeGroupMembers that meets a DeleteGroup returns ErrNotFound
//     after deleting what it added; a ListGroupMembers that read the group
//     before the deletion may list those members once.
//   - A process that stops between the two deletes of DeleteGroup,
//     DeleteMembership or DeleteUser leaves member documents behind, hidden
//     for a deleted group, visible for a deleted membership, until the call
//     is retried (each finishes its cleanup even when it finds nothing to
//     delete first).
type GroupStore struct {
	orgs, memberships, groups, members *collection
}

// NewGroupStore returns a GroupStore on db.
func NewGroupStore(db *mongo.Database) *GroupStore {
	return &GroupStore{
		orgs:        collectionOf(db, organizationsCollection),
		memberships: collectionOf(db, membershipsCollection),
		groups:      collectionOf(db, groupsCollection),
		members:     collectionOf(db, groupMembersCollection),
	}
}

// groupDoc is the stored form of a domain.Group. Rev counts the writes,
// for updateByRev's compare-and-swap.
type groupDoc struct {
	ID             string `bson:"_id"`
	Rev            int64  `bson:"rev"`
	OrganizationID string `bson:"organization_id"`
	DisplayName    string `bson:"display_name"`
	// NameKey is groupNameKey(OrganizationID, DisplayName); derived, never
	// read back.
	NameKey    string    `bson:"name_key"`
	ExternalID string    `bson:"external_id"`
	Role       string    `bson:"role"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

func newGroupDoc(g *domain.Group, rev int64) *groupDoc {
	return &groupDoc{
		ID: g.ID, Rev: rev, OrganizationID: g.OrganizationID, DisplayName: g.DisplayName,
		NameKey: groupNameKey(g.OrganizationID, g.DisplayName), ExternalID: g.ExternalID, Role: g.Role,
		CreatedAt: storedTime(g.CreatedAt), UpdatedAt: storedTime(g.UpdatedAt),
	}
}

func (d *groupDoc) domain() domain.Group {
	return domain.Group{
		ID: d.ID, OrganizationID: d.OrganizationID, DisplayName: d.DisplayName, ExternalID: d.ExternalID,
		Role: d.Role, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func (d *groupDoc) revision() int64 { return d.Rev }

// storedTime is t as BSON keeps it and the driver reads it back: to the
// millisecond, in UTC.
func storedTime(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// groupMemberDoc is one user's place in one group. OrganizationID is the
// group's, copied so that a user's groups in one organization, and their
// places when they leave it, are found without reading the groups.
type groupMemberDoc struct {
	ID             string `bson:"_id"` // groupMemberID(GroupID, UserID)
	GroupID        string `bson:"group_id"`
	UserID         string `bson:"user_id"`
	OrganizationID string `bson:"organization_id"`
}

// groupNameKey is the value of name_key: the organization's profile key
// (profileKey, whose escaping leaves no '$' in it), '$', and
// domain.GroupNameKey(name). The first '$' ends the organization, so two
// different (organization, key) pairs never meet.
func groupNameKey(organizationID, name string) string {
	return profileKey(organizationID) + "$" + domain.GroupNameKey(name)
}

// groupMemberID is a member document's _id: the group id escaped as
// groupNameKey escapes the organization, '$', and the user id.
func groupMemberID(groupID, userID string) string {
	return profileKey(groupID) + "$" + userID
}

// errNotMember is a user to add who has no membership of the group's
// organization, or only a pending one.
var errNotMember = fmt.Errorf("a user is not the organization's member: %w", domain.ErrNotFound)

// distinct returns the ids sorted, each once.
func distinct(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// requireMembers returns errNotMember, for op, unless
// every user of userIDs, distinct, has a membership of the organization
// other than pending.
func (s *GroupStore) requireMembers(ctx context.Context, op, organizationID string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	found, err := s.membersOf(ctx, organizationID, userIDs, bson.M{"status": notPending})
	if err != nil {
		return translate(op, err)
	}
	if len(found) != len(userIDs) {
		return fmt.Errorf("mongo: %s: %w", op, errNotMember)
	}
	return nil
}

// membersOf returns which of userIDs have a membership of the organization
// that also matches extra.
func (s *GroupStore) membersOf(ctx context.Context, organizationID string, userIDs []string, extra bson.M) (map[string]bool, error) {
	filter := bson.M{"organization_id": organizationID, "user_id": bson.M{"$in": userIDs}}
	for k, v := range extra {
		filter[k] = v
	}
	cur, err := s.memberships.Find(ctx, filter, options.Find().SetProjection(bson.M{"user_id": 1}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		UserID string `bson:"user_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(docs))
	for _, d := range docs {
		out[d.UserID] = true
	}
	return out, nil
}

// addMembers inserts the places of userIDs (distinct, checked members) in
// the group and returns how many it inserted; a user already in it is left
// as it is. It then checks the memberships again and takes out the users
// whose membership went meanwhile (see the type's comment): their leaving
// counts as after the add.
func (s *GroupStore) addMembers(ctx context.Context, organizationID, groupID string, userIDs []string) (int, error) {
	if len(userIDs) == 0 {
		return 0, nil
	}
	docs := make([]any, len(userIDs))
	for i, uid := range userIDs {
		docs[i] = &groupMemberDoc{
			ID: groupMemberID(groupID, uid), GroupID: groupID, UserID: uid, OrganizationID: organizationID,
		}
	}
	_, err := s.members.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	inserted := make([]string, 0, len(userIDs))
	already := map[int]bool{}
	var bulk mongo.BulkWriteException
	if errors.As(err, &bulk) && bulk.WriteConcernError == nil {
		for _, we := range bulk.WriteErrors {
			if !isUniqueViolation(we) {
				return 0, err
			}
			already[we.Index] = true
		}
	} else if err != nil {
		return 0, err
	}
	for i, uid := range userIDs {
		if !already[i] {
			inserted = append(inserted, uid)
		}
	}
	if len(inserted) == 0 {
		return 0, nil
	}
	stay, err := s.membersOf(ctx, organizationID, inserted, nil)
	if err != nil {
		return 0, err
	}
	var gone []string
	for _, uid := range inserted {
		if !stay[uid] {
			gone = append(gone, groupMemberID(groupID, uid))
		}
	}
	if len(gone) > 0 {
		if _, err := s.members.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": gone}}); err != nil {
			return 0, err
		}
	}
	return len(inserted), nil
}

// CreateGroup checks the organization and every member, inserts the group
// (the unique _id and name_key refuse a taken id or name, and let one of
// racing creates of one name through), then its members (addMembers). A
// failure after the group's insert deletes the group again, best effort.
func (s *GroupStore) CreateGroup(ctx context.Context, g domain.Group, members []string) error {
	const op = "create group"
	if err := requireOrganization(ctx, s.orgs, op, g.OrganizationID); err != nil {
		return err
	}
	ids := distinct(members)
	if err := s.requireMembers(ctx, op, g.OrganizationID, ids); err != nil {
		return err
	}
	if _, err := s.groups.InsertOne(ctx, newGroupDoc(&g, 0)); err != nil {
		return translate(op, err)
	}
	if _, err := s.addMembers(ctx, g.OrganizationID, g.ID, ids); err != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = s.deleteGroup(ctx, g.OrganizationID, g.ID)
		return translate(op, err)
	}
	return nil
}

// GetGroup returns one of an organization's groups.
func (s *GroupStore) GetGroup(ctx context.Context, organizationID, id string) (domain.Group, error) {
	return s.findGroup(ctx, "get group", bson.M{"_id": id, "organization_id": organizationID})
}

// GetGroupByName returns the group whose name_key is the name's: one
// lookup on the unique index.
func (s *GroupStore) GetGroupByName(ctx context.Context, organizationID, name string) (domain.Group, error) {
	return s.findGroup(ctx, "get group by name", bson.M{"name_key": groupNameKey(organizationID, name)})
}

func (s *GroupStore) findGroup(ctx context.Context, op string, filter bson.M) (domain.Group, error) {
	var d groupDoc
	if err := s.groups.FindOne(ctx, filter).Decode(&d); err != nil {
		return domain.Group{}, translate(op, err)
	}
	return d.domain(), nil
}

// ListGroups returns a keyset page of an organization's groups, in _id
// order (groups_organization). Strings sort byte by byte on MongoDB's
// simple collation and on FerretDB, as Go compares them.
func (s *GroupStore) ListGroups(ctx context.Context, organizationID, after string, limit int) ([]domain.Group, error) {
	if limit <= 0 {
		return []domain.Group{}, nil
	}
	return findAll[domain.Group, groupDoc](ctx, s.groups, "list groups",
		bson.M{"organization_id": organizationID, "_id": bson.M{"$gt": after}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// UpdateGroup applies fn and writes the result with a compare-and-swap on
// the group's revision (updateByRev); a name another group has breaks
// groups_name_key, which writes nothing. It returns the group as stored.
func (s *GroupStore) UpdateGroup(ctx context.Context, organizationID, id string, fn func(*domain.Group) error) (domain.Group, error) {
	return s.update(ctx, "update group", organizationID, id, fn)
}

// update is updateByRev on one of the organization's groups: another
// organization's is not found, and fn cannot move the group.
func (s *GroupStore) update(ctx context.Context, op, organizationID, id string, fn func(*domain.Group) error) (domain.Group, error) {
	return updateByRev(ctx, s.groups, op, id,
		func(d *groupDoc) domain.Group { return d.domain() },
		func(g *domain.Group, rev int64) any {
			g.ID, g.OrganizationID = id, organizationID
			d := newGroupDoc(g, rev)
			*g = d.domain() // as stored
			return d
		},
		func(g *domain.Group) error {
			if g.OrganizationID != organizationID {
				return translate(op, mongo.ErrNoDocuments)
			}
			return fn(g)
		})
}

// DeleteGroup deletes the group, then its members' documents (see the
// type's comment). The members go even when the group is not found, so
// that retrying a DeleteGroup that stopped half-way completes it.
func (s *GroupStore) DeleteGroup(ctx context.Context, organizationID, id string) error {
	return translate("delete group", s.deleteGroup(ctx, organizationID, id))
}

// deleteGroup is DeleteGroup's writes; mongo.ErrNoDocuments if there was
// no group.
func (s *GroupStore) deleteGroup(ctx context.Context, organizationID, id string) error {
	res, err := s.groups.DeleteOne(ctx, bson.M{"_id": id, "organization_id": organizationID})
	if err != nil {
		return err
	}
	if _, err := s.members.DeleteMany(ctx, bson.M{"group_id": id, "organization_id": organizationID}); err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return mongo.ErrNoDocuments
	}
	return nil
}

// errUnchanged stops touch's update without a write.
var errUnchanged = errors.New("unchanged")

// ChangeGroupMembers reads the group and checks every user to add before
// it writes anything, then inserts the places of add (addMembers) and
// deletes those of remove, so that a user in both ends out, as in the
// other stores. If that changed anything, touch moves UpdatedAt and reads
// the group again.
func (s *GroupStore) ChangeGroupMembers(ctx context.Context, organizationID, id string, add, remove []string, now time.Time) (domain.Group, error) {
	const op = "change group members"
	g, err := s.findGroup(ctx, op, bson.M{"_id": id, "organization_id": organizationID})
	if err != nil {
		return domain.Group{}, err
	}
	add = distinct(add)
	if err := s.requireMembers(ctx, op, organizationID, add); err != nil {
		return domain.Group{}, err
	}
	added, err := s.addMembers(ctx, organizationID, id, add)
	if err != nil {
		return domain.Group{}, translate(op, err)
	}
	var removed int64
	if remove = distinct(remove); len(remove) > 0 {
		ids := make([]string, len(remove))
		for i, uid := range remove {
			ids[i] = groupMemberID(id, uid)
		}
		res, err := s.members.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "organization_id": organizationID})
		if err != nil {
			return domain.Group{}, translate(op, err)
		}
		removed = res.DeletedCount
	}
	if added == 0 && removed == 0 {
		return g, nil
	}
	return s.touch(ctx, op, organizationID, id, now)
}

// touch moves the group's UpdatedAt to now after a change of its members,
// unless a concurrent change moved it later already: changes that race
// write in any order, and UpdatedAt never goes back. If the group is gone
// (a DeleteGroup ran since ChangeGroupMembers read it, and its cleanup may
// have missed the places just added), it deletes the group's members and
// returns ErrNotFound.
func (s *GroupStore) touch(ctx context.Context, op, organizationID, id string, now time.Time) (domain.Group, error) {
	var current domain.Group
	g, err := s.update(ctx, op, organizationID, id, func(g *domain.Group) error {
		if !storedTime(now).After(g.UpdatedAt) {
			current = *g
			return errUnchanged
		}
		g.UpdatedAt = now
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		return current, nil
	case errors.Is(err, domain.ErrNotFound):
		if _, err := s.members.DeleteMany(ctx, bson.M{"group_id": id, "organization_id": organizationID}); err != nil {
			return domain.Group{}, translate(op, err)
		}
	}
	return g, err
}

// ListGroupMembers returns a keyset page of a group's user ids, in order
// (group_members_group_user), once the group is found: an unknown group,
// or one being deleted, has none.
func (s *GroupStore) ListGroupMembers(ctx context.Context, organizationID, id, afterUserID string, limit int) ([]string, error) {
	const op = "list group members"
	out := []string{}
	if limit <= 0 {
		return out, nil
	}
	ok, err := hasDoc(ctx, s.groups, bson.M{"_id": id, "organization_id": organizationID})
	if err != nil {
		return nil, translate(op, err)
	}
	if !ok {
		return out, nil
	}
	cur, err := s.members.Find(ctx,
		bson.M{"group_id": id, "organization_id": organizationID, "user_id": bson.M{"$gt": afterUserID}},
		options.Find().SetSort(bson.D{{Key: "user_id", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.M{"user_id": 1}))
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []groupMemberDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	for i := range docs {
		out = append(out, docs[i].UserID)
	}
	return out, nil
}

// ListUserGroups reads the user's places in the organization's groups
// (group_members_user), then those groups by id, in id order.
func (s *GroupStore) ListUserGroups(ctx context.Context, organizationID, userID string) ([]domain.Group, error) {
	const op = "list user groups"
	cur, err := s.members.Find(ctx, bson.M{"user_id": userID, "organization_id": organizationID},
		options.Find().SetProjection(bson.M{"group_id": 1}))
	if err != nil {
		return nil, translate(op, err)
	}
	var places []groupMemberDoc
	if err := cur.All(ctx, &places); err != nil {
		return nil, translate(op, err)
	}
	if len(places) == 0 {
		return []domain.Group{}, nil
	}
	ids := make([]string, len(places))
	for i := range places {
		ids[i] = places[i].GroupID
	}
	return findAll[domain.Group, groupDoc](ctx, s.groups, op,
		bson.M{"_id": bson.M{"$in": ids}, "organization_id": organizationID},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}
