package mongo

import (
	"context"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.DirectoryStore = (*DirectoryStore)(nil)
	_ ports.LicenseStore   = (*DirectoryStore)(nil)
)

const licensesCollection = "licenses"

func init() {
	// The natural key, which also serves ListUserLicenses and the cleanup
	// of a deleted user.
	registerIndexes(licensesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "client_id", Value: 1}},
		Options: options.Index().SetName("licenses_user_client").SetUnique(true),
	})
}

// DirectoryStore is the MongoDB ports.DirectoryStore and ports.LicenseStore:
// the changes that span users, memberships and licenses, and the licenses
// themselves (one document each, unique on (user_id, client_id)).
//
// Without multi-document transactions (FerretDB 1.24 has none), each change
// is a sequence of single-document atomic writes. The directory runs them
// in a unit of work (Units), which undoes a change a crash cut short; they
// are ordered to be sound without one too, so that a crash between two
// leaves nothing visible half-done and a retry completes it, and so that a
// row whose user name is taken fails at its first write:
//
//   - Provision writes a membership before anything that a failed name
//     would leave behind, since its insert is what decides the name (the
//     unique user_name_key). For a user the row creates, that membership
//     comes first of all, as a claim (ClaimedAt set), then the license,
//     then the user, which makes the member whole at once: until the user
//     exists, no read that joins memberships to users sees the member
//     (ListMembers, SearchUsers, every check that looks the user up
//     first). For a user that exists, the membership is inserted pending,
//     which grants nothing, and a row that may link the user then writes
//     the license and makes the membership active. A pending membership
//     gets no license. A retried row finds the user by email and completes
//     the rest.
//   - A claim whose row finds the email taken meanwhile (a racing row made
//     the user) is deleted, with its license, and the row joins that user:
//     neither was ever seen, as their user never existed. A row that meets
//     a claim on the name it wants waits for the claim to come to
//     something (its user appears: the name is taken) or nothing (it is
//     deleted); a claim left by a row that stopped half-way is broken
//     after claimLease.
//   - DeleteUser deletes the user first, which hides everything else:
//     ListMembers joins memberships to existing users, and the email is free
//     at once. Memberships and licenses go next, which frees the user's
//     names; a retried DeleteUser finishes that cleanup even though the
//     user is gone.
//   - A write that attaches something to an existing user (a license, a
//     membership by provisioning) checks afterwards that the user still
//     exists, and cleans up after a DeleteUser that ran in between: either
//     that DeleteUser's cleanup saw the new document, or the check sees the
//     user gone.
type DirectoryStore struct {
	users, orgs, memberships, licenses *collection
	// groupMembers are the places in groups (GroupStore), which a deleted
	// user leaves with their memberships.
	groupMembers *collection
}

// NewDirectoryStore returns a DirectoryStore on db. It is both the
// DirectoryStore and the LicenseStore.
func NewDirectoryStore(db *mongo.Database) *DirectoryStore {
	return &DirectoryStore{
		users:        collectionOf(db, usersCollection),
		orgs:         collectionOf(db, organizationsCollection),
		memberships:  collectionOf(db, membershipsCollection),
		licenses:     collectionOf(db, licensesCollection),
		groupMembers: collectionOf(db, groupMembersCollection),
	}
}

// licenseDoc is the stored form of a domain.License; its _id is the
// server's ObjectID.
type licenseDoc struct {
	UserID     string    `bson:"user_id"`
	ClientID   string    `bson:"client_id"`
	AssignedAt time.Time `bson:"assigned_at"`
}

func (d *licenseDoc) domain() domain.License {
	return domain.License{ClientID: d.ClientID, UserID: d.UserID, AssignedAt: d.AssignedAt}
}

// insertLicense stores the license unless the user holds it, in one upsert
// that writes only on insert, and reports whether it did. A racing insert
// of the same license that FerretDB reports as a duplicate key means the
// other call assigned it.
func (s *DirectoryStore) insertLicense(ctx context.Context, l *domain.License) (bool, error) {
	res, err := s.licenses.UpdateOne(ctx, bson.M{"user_id": l.UserID, "client_id": l.ClientID},
		bson.M{"$setOnInsert": bson.M{"assigned_at": l.AssignedAt}}, options.Update().SetUpsert(true))
	switch {
	case isUniqueViolation(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return res.UpsertedCount == 1, nil
}

// userStays reports whether the user still exists after something was
// attached to them; if not, it removes what a racing DeleteUser's cleanup
// may have missed.
func (s *DirectoryStore) userStays(ctx context.Context, userID string) (bool, error) {
	ok, err := hasDoc(ctx, s.users, bson.M{"_id": userID})
	if err != nil || ok {
		return ok, err
	}
	return false, s.removeUserData(ctx, userID)
}

// removeUserData deletes a user's memberships, then their places in groups
// (after the memberships: see GroupStore), and licenses. It is idempotent,
// so any call may finish what another began.
func (s *DirectoryStore) removeUserData(ctx context.Context, userID string) error {
	if _, err := s.memberships.DeleteMany(ctx, bson.M{"user_id": userID}); err != nil {
		return err
	}
	if _, err := s.groupMembers.DeleteMany(ctx, bson.M{"user_id": userID}); err != nil {
		return err
	}
	_, err := s.licenses.DeleteMany(ctx, bson.M{"user_id": userID})
	return err
}

// DeleteUser deletes the user, then their memberships, places in groups
// and licenses (see the type's comment for why in that order). A missing
// user is ErrNotFound, after the cleanup all the same, so that retrying a
// DeleteUser that failed half-way completes it.
func (s *DirectoryStore) DeleteUser(ctx context.Context, userID string) error {
	res, err := s.users.DeleteOne(ctx, bson.M{"_id": userID})
	if err != nil {
		return translate("delete user", err)
	}
	if err := s.removeUserData(ctx, userID); err != nil {
		return translate("delete user", err)
	}
	if res.DeletedCount == 0 {
		return translate("delete user", mongo.ErrNoDocuments)
	}
	return nil
}

// ListMembers returns a keyset page of an organization's members: the
// memberships in user id order (memberships_organization_user), then their
// users in one $in query. Pending memberships are left out in the query;
// a membership whose user is gone (a DeleteUser still cleaning up) is
// skipped, and the page is topped up after it.
func (s *DirectoryStore) ListMembers(ctx context.Context, organizationID, afterUserID string, limit int) ([]domain.Member, error) {
	out := []domain.Member{}
	for len(out) < limit {
		want := limit - len(out)
		cur, err := s.memberships.Find(ctx,
			bson.M{"organization_id": organizationID, "user_id": bson.M{"$gt": afterUserID}, "status": notPending},
			options.Find().SetSort(bson.D{{Key: "user_id", Value: 1}}).SetLimit(int64(want)))
		if err != nil {
			return nil, translate("list members", err)
		}
		var ms []membershipDoc
		if err := cur.All(ctx, &ms); err != nil {
			return nil, translate("list members", err)
		}
		if len(ms) == 0 {
			break
		}
		users, err := s.usersByID(ctx, ms)
		if err != nil {
			return nil, translate("list members", err)
		}
		for i := range ms {
			if u, ok := users[ms[i].UserID]; ok {
				out = append(out, domain.Member{User: u, Membership: ms[i].domain()})
			}
		}
		if len(ms) < want {
			break
		}
		afterUserID = ms[len(ms)-1].UserID
	}
	return out, nil
}

// memberSearchChunk is how many memberships SearchMembers checks per users query.
const memberSearchChunk = 500

// SearchMembers returns a keyset page of an organization's members who
// match every term: it walks the organization's memberships in user id
// order (memberships_organization_user) and asks, a chunk at a time, which
// of their users match, until the page is full. Each term is a prefix
// regular expression, anchored, on the lower-case keys every user write
// keeps (email_key, given_name_lc, family_name_lc; see userDoc), so the
// comparison is the store's plain string match on either MongoDB or
// FerretDB.
func (s *DirectoryStore) SearchMembers(ctx context.Context, organizationID string, terms []string, afterUserID string, limit int) ([]domain.Member, error) {
	out := []domain.Member{}
	if limit <= 0 {
		return out, nil
	}
	match := bson.A{}
	for _, t := range terms {
		email, name := "^"+regexp.QuoteMeta(domain.NormalizeEmail(t)), "^"+regexp.QuoteMeta(strings.ToLower(t))
		match = append(match, bson.M{"$or": bson.A{
			bson.M{"email_key": bson.M{"$regex": email}},
			bson.M{"given_name_lc": bson.M{"$regex": name}},
			bson.M{"family_name_lc": bson.M{"$regex": name}},
		}})
	}
	cur, err := s.memberships.Find(ctx,
		bson.M{"organization_id": organizationID, "user_id": bson.M{"$gt": afterUserID}, "status": notPending},
		options.Find().SetSort(bson.D{{Key: "user_id", Value: 1}}).SetBatchSize(memberSearchChunk))
	if err != nil {
		return nil, translate("search members", err)
	}
	defer cur.Close(ctx)
	chunk := make([]membershipDoc, 0, memberSearchChunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		users, err := s.matchingUsers(ctx, chunk, match)
		for i := range chunk {
			if u, ok := users[chunk[i].UserID]; ok && len(out) < limit {
				out = append(out, domain.Member{User: u, Membership: chunk[i].domain()})
			}
		}
		chunk = chunk[:0]
		return err
	}
	for len(out) < limit && cur.Next(ctx) {
		var m membershipDoc
		if err := cur.Decode(&m); err != nil {
			return nil, translate("search members", err)
		}
		if chunk = append(chunk, m); len(chunk) == memberSearchChunk {
			if err := flush(); err != nil {
				return nil, translate("search members", err)
			}
		}
	}
	if err := cur.Err(); err != nil {
		return nil, translate("search members", err)
	}
	if err := flush(); err != nil {
		return nil, translate("search members", err)
	}
	return out, nil
}

// matchingUsers reads the users of the memberships that match every
// condition of match (all of them when it is empty), in one query.
func (s *DirectoryStore) matchingUsers(ctx context.Context, ms []membershipDoc, match bson.A) (map[string]domain.User, error) {
	ids := make([]string, len(ms))
	for i := range ms {
		ids[i] = ms[i].UserID
	}
	filter := bson.M{"_id": bson.M{"$in": ids}}
	if len(match) > 0 {
		filter["$and"] = match
	}
	cur, err := s.users.Find(ctx, filter)
	if err != nil {
		return nil, err
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	users := make(map[string]domain.User, len(docs))
	for i := range docs {
		users[docs[i].ID] = docs[i].domain()
	}
	return users, nil
}

// usersByID reads the users of the memberships in one query.
func (s *DirectoryStore) usersByID(ctx context.Context, ms []membershipDoc) (map[string]domain.User, error) {
	return s.matchingUsers(ctx, ms, nil)
}

// AssignLicense stores a license unless the user holds it already, in one
// upsert, and reports whether it did. ErrNotFound if the user does not
// exist, checked before and again after the write (see the type's comment).
func (s *DirectoryStore) AssignLicense(ctx context.Context, l domain.License) (bool, error) {
	ok, err := hasDoc(ctx, s.users, bson.M{"_id": l.UserID})
	if err != nil {
		return false, translate("assign license", err)
	}
	if !ok {
		return false, translate("assign license", mongo.ErrNoDocuments)
	}
	assigned, err := s.insertLicense(ctx, &l)
	if err != nil {
		return false, translate("assign license", err)
	}
	if ok, err = s.userStays(ctx, l.UserID); err != nil {
		return false, translate("assign license", err)
	}
	if !ok {
		return false, translate("assign license", mongo.ErrNoDocuments)
	}
	return assigned, nil
}

// RevokeLicense removes a license. ErrNotFound if the user does not hold it.
func (s *DirectoryStore) RevokeLicense(ctx context.Context, clientID, userID string) error {
	res, err := s.licenses.DeleteOne(ctx, bson.M{"user_id": userID, "client_id": clientID})
	if err != nil {
		return translate("revoke license", err)
	}
	if res.DeletedCount == 0 {
		return translate("revoke license", mongo.ErrNoDocuments)
	}
	return nil
}

// HasLicense reports whether the user holds the client's license.
func (s *DirectoryStore) HasLicense(ctx context.Context, clientID, userID string) (bool, error) {
	ok, err := hasDoc(ctx, s.licenses, bson.M{"user_id": userID, "client_id": clientID})
	if err != nil {
		return false, translate("has license", err)
	}
	return ok, nil
}

// ListUserLicenses returns a user's licenses, oldest first, ties broken by
// client id.
func (s *DirectoryStore) ListUserLicenses(ctx context.Context, userID string) ([]domain.License, error) {
	return findAll[domain.License, licenseDoc](ctx, s.licenses, "list user licenses", bson.M{"user_id": userID},
		options.Find().SetSort(bson.D{{Key: "assigned_at", Value: 1}, {Key: "client_id", Value: 1}}))
}
