package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// backfillBatch bounds the documents one step of BackfillDirectory reads
// and writes.
const backfillBatch = 1000

// backfill is one run of BackfillDirectory: each step reads and writes up
// to batch documents, bounded by timeout (0: by the run's context alone).
type backfill struct {
	batch   int
	timeout time.Duration
}

// BackfillDirectory gives the directory documents an older version wrote
// the fields the directory model has since gained, and returns how many
// memberships and users it changed:
//
//   - a membership without a status becomes active, as every membership
//     was before statuses existed;
//   - a user without a home organization gets the organization of their
//     oldest membership other than pending (by creation time, then
//     organization id), or "" if they have none. A pending membership is
//     an organization's request the holder has not accepted, so it never
//     makes a home;
//   - a membership without a user name is named after its user's email,
//     or, if another member of the organization has that name, the user
//     id, as provisioning names a membership by default; it stays
//     unnamed ("") if the user has no email (or no longer exists).
//
// Open runs it at every start, after the indexes and before any store
// serves, so that no instance of this version reads an unmigrated document:
// a user without the field reads as homeless (no organization's clients may
// change the account), and an UpdateUser of it would store that "" and end
// its migration; a membership without a name is found by no SCIM userName.
// The names cost one write per membership, once. It selects only the documents that lack the field, so a
// finished backfill costs one query on each collection (without an index
// that serves a missing field, a scan), and a "" home is never recomputed.
//
// Several instances starting at once do the same work twice at worst: the
// writes are conditional on the field still lacking, and set values that
// every instance computes alike from the same memberships. The user writes
// also bump the revision, so that an UpdateUser that read the document
// before makes its compare-and-swap again (see updateByRev). On FerretDB
// 1.24, whose conditional updates read and then write, a user write of
// another instance that lands between the two is lost; only documents an
// older version wrote after this version first started are exposed to that.
//
// During a rolling upgrade, instances of the older version may still write
// documents without the fields (their UpdateUser replaces a user document
// whole, dropping the home; their provisioning inserts unnamed
// memberships): those read as above until the next start of an instance
// of this version.
func BackfillDirectory(ctx context.Context, db *mongo.Database) (memberships, users int, err error) {
	return backfill{batch: backfillBatch}.run(ctx, db)
}

// run is BackfillDirectory. Open bounds each step rather than the whole, so
// that a large first backfill makes progress without a deadline that would
// fail every start.
func (b backfill) run(ctx context.Context, db *mongo.Database) (memberships, users int, err error) {
	ms, us := collectionOf(db, membershipsCollection), collectionOf(db, usersCollection)
	memberships, err = b.inSteps(ctx, func(ctx context.Context) (int, bool, error) {
		return b.membershipStatus(ctx, ms)
	})
	if err != nil {
		return memberships, 0, translate("backfill membership status", err)
	}
	users, err = b.inSteps(ctx, func(ctx context.Context) (int, bool, error) {
		return b.homeOrganizations(ctx, us, ms)
	})
	if err != nil {
		return memberships, users, translate("backfill home organizations", err)
	}
	named, err := b.inSteps(ctx, func(ctx context.Context) (int, bool, error) {
		return b.userNames(ctx, ms, us)
	})
	memberships += named
	if err != nil {
		return memberships, users, translate("backfill user names", err)
	}
	return memberships, users, nil
}

// inSteps runs step until it reports no more to do, each run bounded by
// b.timeout, and returns the sum of what the runs did.
func (b backfill) inSteps(ctx context.Context, step func(context.Context) (n int, more bool, err error)) (int, error) {
	total := 0
	for {
		stepCtx, cancel := ctx, context.CancelFunc(func() {})
		if b.timeout > 0 {
			stepCtx, cancel = context.WithTimeout(ctx, b.timeout)
		}
		n, more, err := step(stepCtx)
		cancel()
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// lacking returns the _ids of up to b.batch documents without field.
func (b backfill) lacking(ctx context.Context, coll *collection, field string) ([]any, error) {
	cur, err := coll.Find(ctx, bson.M{field: bson.M{"$exists": false}},
		options.Find().SetProjection(bson.M{"_id": 1}).SetLimit(int64(b.batch)))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID any `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	ids := make([]any, len(docs))
	for i := range docs {
		ids[i] = docs[i].ID
	}
	return ids, nil
}

// membershipStatus makes one batch of memberships without a status active;
// more is true while batches come back full.
func (b backfill) membershipStatus(ctx context.Context, ms *collection) (n int, more bool, err error) {
	ids, err := b.lacking(ctx, ms, "status")
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	res, err := ms.UpdateMany(ctx,
		bson.M{"_id": bson.M{"$in": ids}, "status": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"status": string(domain.MembershipActive)}})
	if err != nil {
		return 0, false, err
	}
	return int(res.ModifiedCount), len(ids) == b.batch, nil
}

// homeOrganizations gives one batch of users without a home organization
// the one their memberships imply (see BackfillDirectory): one read of the
// batch's memberships, oldest first, then one write per home.
func (b backfill) homeOrganizations(ctx context.Context, us, ms *collection) (n int, more bool, err error) {
	ids, err := b.lacking(ctx, us, "home_organization_id")
	if err != nil || len(ids) == 0 {
		return 0, false, err
	}
	cur, err := ms.Find(ctx, bson.M{"user_id": bson.M{"$in": ids}, "status": notPending},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "organization_id", Value: 1}}).
			SetProjection(bson.M{"_id": 0, "user_id": 1, "organization_id": 1}))
	if err != nil {
		return 0, false, err
	}
	var oldestFirst []struct {
		UserID         string `bson:"user_id"`
		OrganizationID string `bson:"organization_id"`
	}
	if err := cur.All(ctx, &oldestFirst); err != nil {
		return 0, false, err
	}
	home := make(map[any]string, len(ids))
	for _, m := range oldestFirst {
		if _, ok := home[m.UserID]; !ok {
			home[m.UserID] = m.OrganizationID
		}
	}
	byHome := make(map[string][]any)
	for _, id := range ids {
		byHome[home[id]] = append(byHome[home[id]], id) // "" for a user without memberships
	}
	for org, ids := range byHome {
		res, err := us.UpdateMany(ctx,
			bson.M{"_id": bson.M{"$in": ids}, "home_organization_id": bson.M{"$exists": false}},
			bson.M{"$set": bson.M{"home_organization_id": org}, "$inc": bson.M{"rev": int64(1)}})
		if err != nil {
			return n, false, err
		}
		n += int(res.ModifiedCount)
	}
	return n, len(ids) == b.batch, nil
}

// userNames names one batch of memberships without a user name (see
// BackfillDirectory): one read of the batch, one of its users' emails,
// then one conditional write per membership, which tries the names in turn
// until the unique user_name_key takes one.
func (b backfill) userNames(ctx context.Context, ms, us *collection) (n int, more bool, err error) {
	cur, err := ms.Find(ctx, bson.M{"user_name": bson.M{"$exists": false}},
		options.Find().SetProjection(bson.M{"_id": 1, "user_id": 1, "organization_id": 1}).SetLimit(int64(b.batch)))
	if err != nil {
		return 0, false, err
	}
	var unnamed []struct {
		ID             any    `bson:"_id"`
		UserID         string `bson:"user_id"`
		OrganizationID string `bson:"organization_id"`
	}
	if err := cur.All(ctx, &unnamed); err != nil || len(unnamed) == 0 {
		return 0, false, err
	}
	ids := make([]string, len(unnamed))
	for i := range unnamed {
		ids[i] = unnamed[i].UserID
	}
	cur, err = us.Find(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"_id": 1, "email": 1}))
	if err != nil {
		return 0, false, err
	}
	var users []struct {
		ID    string `bson:"_id"`
		Email string `bson:"email"`
	}
	if err := cur.All(ctx, &users); err != nil {
		return 0, false, err
	}
	email := make(map[string]string, len(users))
	for _, u := range users {
		email[u.ID] = u.Email
	}
	for _, m := range unnamed {
		names := rowNames("", email[m.UserID], m.UserID)
		if names[0] != "" {
			names = append(names, "") // both names taken: unnamed
		}
		for _, name := range names {
			set := bson.M{"user_name": name}
			if key := userNameKey(m.OrganizationID, name); key != "" {
				set["user_name_key"] = key
			}
			res, err := ms.UpdateOne(ctx, bson.M{"_id": m.ID, "user_name": bson.M{"$exists": false}}, bson.M{"$set": set})
			if isUniqueViolation(err) {
				continue
			}
			if err != nil {
				return n, false, err
			}
			n += int(res.ModifiedCount)
			break
		}
	}
	return n, len(unnamed) == b.batch, nil
}
