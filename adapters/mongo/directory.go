package mongo

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"
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
// is a sequence of single-document atomic writes, ordered so that a crash
// between two leaves nothing visible half-done and a retry completes it:
//
//   - Provision writes the user, then the license, then the membership
//     (or the change of a pending membership to active). Until the
//     membership exists, and is other than pending, the user is no member
//     of the organization: ListMembers and every organization-scoped check
//     look the user up through it. A pending membership gets no license. A
//     retried row finds the user by email and completes the rest.
//   - DeleteUser deletes the user first, which hides everything else:
//     ListMembers joins memberships to existing users, and the email is free
//     at once. Memberships and licenses go next; a retried DeleteUser
//     finishes that cleanup even though the user is gone.
//   - A write that attaches something to a user (a license, a membership
//     by provisioning) checks afterwards that the user still exists, and
//     cleans up after a DeleteUser that ran in between: either that
//     DeleteUser's cleanup saw the new document, or the check sees the user
//     gone.
type DirectoryStore struct {
	users, orgs, memberships, licenses *mongo.Collection
}

// NewDirectoryStore returns a DirectoryStore on db. It is both the
// DirectoryStore and the LicenseStore.
func NewDirectoryStore(db *mongo.Database) *DirectoryStore {
	return &DirectoryStore{
		users:       db.Collection(usersCollection),
		orgs:        db.Collection(organizationsCollection),
		memberships: db.Collection(membershipsCollection),
		licenses:    db.Collection(licensesCollection),
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

// Provision runs each row on its own (see provisionRow). A row's failure is
// in its result; any other error fails the whole call.
func (s *DirectoryStore) Provision(ctx context.Context, rows []domain.ProvisionRow) ([]domain.ProvisionResult, error) {
	// Each row is its own atomic unit and costs several round trips, so
	// rows run on provisionLanes goroutines. Rows of one email share a lane
	// and keep their order, so a repeated email in one batch is "existing"
	// after the row that made it, as with the other stores.
	lanes := make([][]int, min(provisionLanes, len(rows)))
	for i := range rows {
		h := fnv.New32a()
		h.Write([]byte(domain.NormalizeEmail(rows[i].User.Email)))
		lane := int(h.Sum32() % uint32(len(lanes)))
		lanes[lane] = append(lanes[lane], i)
	}
	results := make([]domain.ProvisionResult, len(rows))
	errs := make([]error, len(lanes))
	var wg sync.WaitGroup
	for l, idx := range lanes {
		wg.Go(func() {
			for _, i := range idx {
				res, err := s.provisionRow(ctx, &rows[i])
				if err != nil {
					errs[l] = translateWrite("provision", err)
					return
				}
				results[i] = res
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// provisionLanes is how many rows of a batch are provisioned at once.
const provisionLanes = 16

// provisionRow checks the organization before writing anything, so that a
// row for a missing organization writes nothing (the ports delete no
// organization, so the check stays true). Then it finds or creates the
// user and ensures the membership, with the license, in the order the
// type's comment explains. If a DeleteUser removed the user meanwhile, it
// cleans up and runs the row again: the email is free now.
func (s *DirectoryStore) provisionRow(ctx context.Context, row *domain.ProvisionRow) (domain.ProvisionResult, error) {
	ok, err := hasDoc(ctx, s.orgs, bson.M{"_id": row.OrganizationID})
	if err != nil {
		return domain.ProvisionResult{}, err
	}
	if !ok {
		return domain.ProvisionResult{Err: translate("provision", mongo.ErrNoDocuments)}, nil
	}
	for range upsertAttempts {
		var res domain.ProvisionResult
		var rowErr error
		res.User, res.Created, rowErr, err = s.ensureUser(ctx, &row.User)
		if err != nil || rowErr != nil {
			return domain.ProvisionResult{Err: rowErr}, err
		}
		j := joining{s: s, row: row, userID: res.User.ID, home: res.User.HomeOrganizationID, verified: res.User.EmailVerified, created: res.Created}
		if res.Membership, res.Joined, err = s.ensureMembership(ctx, &j); err != nil {
			return domain.ProvisionResult{}, err
		}
		res.LicenseAssigned = j.assigned
		if ok, err := s.userStays(ctx, res.User.ID); err != nil || ok {
			return res, err
		}
	}
	return domain.ProvisionResult{}, errKeepsChanging
}

// ensureUser returns the user with u's email, creating u if there is none,
// in one upsert on the unique email key; created reports whether this call
// made the user (the stored id is u's fresh one). Of racing upserts of one
// email MongoDB retries the losers itself, while FerretDB fails them with a
// duplicate key: they look again and find the winner. rowErr is the row's
// own failure: u's id is taken by another user.
func (s *DirectoryStore) ensureUser(ctx context.Context, u *domain.User) (got domain.User, created bool, rowErr, err error) {
	doc := newUserDoc(u, 0)
	if doc.EmailKey == "" {
		// No email to find the user by: create them.
		_, err := s.users.InsertOne(ctx, doc)
		if isUniqueViolation(err) {
			return domain.User{}, false, translateWrite("provision", err), nil
		}
		got = *u
		got.Profiles = domain.CloneProfiles(u.Profiles) // share nothing with the row
		return got, err == nil, nil, err
	}
	for range upsertAttempts {
		var d userDoc
		err := s.users.FindOneAndUpdate(ctx, bson.M{"email_key": doc.EmailKey}, bson.M{"$setOnInsert": doc},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
		if err == nil {
			return d.domain(), d.ID == u.ID, nil, nil
		}
		if !isUniqueViolation(err) {
			return domain.User{}, false, nil, err
		}
		// Either a racing row made the user (the next attempt finds
		// them), or u's id is taken by a user with another email.
		taken, err2 := hasDoc(ctx, s.users, bson.M{"_id": u.ID})
		if err2 != nil {
			return domain.User{}, false, nil, err2
		}
		if taken {
			return domain.User{}, false, translateWrite("provision", err), nil
		}
	}
	return domain.User{}, false, nil, errKeepsChanging
}

// joining is one row's user joining the row's organization: whether the
// row may link the user (asked at most once), and the row's license,
// assigned at most once.
type joining struct {
	s        *DirectoryStore
	row      *domain.ProvisionRow
	userID   string
	home     string // the found user's home organization
	verified bool   // the found user's email is verified
	created  bool

	link, linkKnown    bool
	licensed, assigned bool
}

// mayLink reports whether the row's membership is active at once: the row
// made the user, says to link a user whose email is verified and found one,
// the user's home is one of row.VisibleIn, or
// the user has a membership other than pending in one of them (the caller
// sees the account already). The home counts on its own because a
// concurrent row that created the user writes the home membership only
// after the user.
func (j *joining) mayLink(ctx context.Context) (bool, error) {
	if j.linkKnown {
		return j.link, nil
	}
	link := j.created || j.row.LinkExisting && j.verified || j.home != "" && slices.Contains(j.row.VisibleIn, j.home)
	if !link && len(j.row.VisibleIn) > 0 {
		var err error
		link, err = hasDoc(ctx, j.s.memberships, bson.M{
			"user_id": j.userID, "organization_id": bson.M{"$in": j.row.VisibleIn}, "status": notPending,
		})
		if err != nil {
			return false, err
		}
	}
	j.link, j.linkKnown = link, true
	return link, nil
}

// license assigns the row's license, if it names one; only the first call
// writes.
func (j *joining) license(ctx context.Context) error {
	if j.licensed || j.row.LicenseClientID == "" {
		return nil
	}
	l := domain.License{ClientID: j.row.LicenseClientID, UserID: j.userID, AssignedAt: j.row.Now}
	assigned, err := j.s.insertLicense(ctx, &l)
	if err != nil {
		return err
	}
	j.licensed, j.assigned = true, assigned
	return nil
}

// ensureMembership returns the user's membership in the row's organization
// and whether this call inserted it. A missing one is inserted, active if
// the row may link the user (j.mayLink) and pending otherwise; an existing
// one keeps its role and status, except that a pending one the row may
// link is activated, on the condition that it is still pending. The
// license is assigned when the membership is, or is about to become,
// visible: before the write that makes it so, so that a member is never
// seen without it.
//
// A membership that becomes active is primary when the user has no
// primary membership. Two racing activations of one user's memberships
// (in two organizations) would both see none; the primary one carries
// primary_claim, unique per user, so only one of them is written as
// primary and the other, failing, looks again and is written as
// secondary. A membership written meanwhile by
// OrganizationStore.PutMembership, which sets Primary as its caller says,
// is not covered: that caller decides primary itself.
func (s *DirectoryStore) ensureMembership(ctx context.Context, j *joining) (domain.Membership, bool, error) {
	key := membershipKey(j.row.OrganizationID, j.userID)
	for range upsertAttempts {
		var d membershipDoc
		err := s.memberships.FindOne(ctx, key).Decode(&d)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return domain.Membership{}, false, err
		}
		found := err == nil
		if found && d.domain().Visible() {
			return d.domain(), false, j.license(ctx)
		}
		link, err := j.mayLink(ctx)
		if err != nil {
			return domain.Membership{}, false, err
		}
		if found && !link {
			return d.domain(), false, nil
		}
		m := domain.Membership{
			OrganizationID: j.row.OrganizationID, UserID: j.userID, Role: j.row.Role,
			Status: domain.MembershipPending, CreatedAt: j.row.Now,
		}
		if found {
			m = d.domain()
		}
		if link {
			if err := j.license(ctx); err != nil {
				return domain.Membership{}, false, err
			}
			hasPrimary, err := hasDoc(ctx, s.memberships, bson.M{"user_id": j.userID, "primary": true})
			if err != nil {
				return domain.Membership{}, false, err
			}
			m.Status, m.Primary = domain.MembershipActive, !hasPrimary
		}
		done, err := s.writeMembership(ctx, &m, found)
		if err != nil || done {
			return m, done && !found, err
		}
		// A racing row inserted this membership or changed it, or another
		// membership took the primary claim: look again.
	}
	return domain.Membership{}, false, errKeepsChanging
}

// writeMembership inserts m, or, if it exists (pending), activates it on
// the condition that it is still pending; done is false when a racing
// write got there first.
func (s *DirectoryStore) writeMembership(ctx context.Context, m *domain.Membership, exists bool) (done bool, err error) {
	d := newMembershipDoc(m)
	if m.Primary {
		d.PrimaryClaim = m.UserID
	}
	if !exists {
		_, err = s.memberships.InsertOne(ctx, d)
	} else {
		var res *mongo.UpdateResult
		filter := membershipKey(m.OrganizationID, m.UserID)
		filter["status"] = string(domain.MembershipPending)
		set := bson.M{"status": string(m.Status), "primary": m.Primary}
		if d.Primary {
			set["primary_claim"] = d.PrimaryClaim
		}
		res, err = s.memberships.UpdateOne(ctx, filter, bson.M{"$set": set})
		if err == nil {
			return res.MatchedCount == 1, nil
		}
	}
	if !isUniqueViolation(err) {
		return err == nil, err
	}
	if !m.Primary {
		return false, nil
	}
	// The claim may be a stale one, left by an older version on a
	// membership that is no longer primary: no primary membership holds
	// it, so it claims nothing. Drop it for the next attempt.
	_, err = s.memberships.UpdateMany(ctx, bson.M{"primary_claim": m.UserID, "primary": false},
		bson.M{"$unset": bson.M{"primary_claim": ""}})
	return false, err
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

// removeUserData deletes a user's memberships and licenses. It is
// idempotent, so any call may finish what another began.
func (s *DirectoryStore) removeUserData(ctx context.Context, userID string) error {
	if _, err := s.memberships.DeleteMany(ctx, bson.M{"user_id": userID}); err != nil {
		return err
	}
	_, err := s.licenses.DeleteMany(ctx, bson.M{"user_id": userID})
	return err
}

// DeleteUser deletes the user, then their memberships and licenses (see
// the type's comment for why in that order). A missing user is
// ErrNotFound, after the cleanup all the same, so that retrying a
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

// usersByID reads the users of the memberships in one query.
func (s *DirectoryStore) usersByID(ctx context.Context, ms []membershipDoc) (map[string]domain.User, error) {
	ids := make([]string, len(ms))
	for i := range ms {
		ids[i] = ms[i].UserID
	}
	cur, err := s.users.Find(ctx, bson.M{"_id": bson.M{"$in": ids}})
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
