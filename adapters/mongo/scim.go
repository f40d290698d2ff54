package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.SCIMStore = (*SCIMStore)(nil)

const scimTokensCollection = "scim_tokens"

func init() {
	registerIndexes(scimTokensCollection,
		// GetSCIMToken; unique, so that a hash finds one token.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "hash", Value: 1}},
			Options: options.Index().SetName("scim_tokens_hash").SetUnique(true),
		},
		// ListSCIMTokens: an organization's tokens, oldest first.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}},
			Options: options.Index().SetName("scim_tokens_organization"),
		},
	)
}

// SCIMStore is the MongoDB ports.SCIMStore: one document per SCIM token,
// keyed by its id, with the hash unique; and SCIM's user searches over the
// users collection, scoped through the memberships (see SearchUsers). The
// SCIM attributes are the users' profiles (userDoc.Profiles).
type SCIMStore struct {
	tokens, users, orgs, memberships *collection
	chunk                            int // searchChunk, but in tests
}

// NewSCIMStore returns a SCIMStore on db.
func NewSCIMStore(db *mongo.Database) *SCIMStore {
	return &SCIMStore{
		tokens:      collectionOf(db, scimTokensCollection),
		users:       collectionOf(db, usersCollection),
		orgs:        collectionOf(db, organizationsCollection),
		memberships: collectionOf(db, membershipsCollection),
		chunk:       searchChunk,
	}
}

// scimTokenDoc is the stored form of a domain.SCIMToken.
type scimTokenDoc struct {
	ID             string `bson:"_id"`
	OrganizationID string `bson:"organization_id"`
	Name           string `bson:"name"`
	Hash           []byte `bson:"hash"`
	// SignInEmail is domain.SCIMToken.SignInEmail, absent when "" (the
	// default rule), as on the tokens written before it existed.
	SignInEmail string    `bson:"sign_in_email,omitempty"`
	CreatedAt   time.Time `bson:"created_at"`
}

func (d *scimTokenDoc) domain() domain.SCIMToken {
	return domain.SCIMToken{
		ID: d.ID, OrganizationID: d.OrganizationID, Name: d.Name, Hash: d.Hash,
		SignInEmail: domain.SignInEmailRule(d.SignInEmail), CreatedAt: d.CreatedAt.UTC(),
	}
}

// CreateSCIMToken stores a token. ErrNotFound if the organization does not
// exist (the ports delete no organization, so the check stays true);
// ErrAlreadyExists if the id or the hash is taken, which the unique indexes
// decide in the insert.
func (s *SCIMStore) CreateSCIMToken(ctx context.Context, t domain.SCIMToken) error {
	ok, err := hasDoc(ctx, s.orgs, bson.M{"_id": t.OrganizationID})
	if err != nil {
		return translate("create scim token", err)
	}
	if !ok {
		return translate("create scim token", mongo.ErrNoDocuments)
	}
	_, err = s.tokens.InsertOne(ctx, &scimTokenDoc{
		ID: t.ID, OrganizationID: t.OrganizationID, Name: t.Name, Hash: t.Hash,
		SignInEmail: string(t.SignInEmail), CreatedAt: t.CreatedAt,
	})
	return translateWrite("create scim token", err)
}

// GetSCIMToken returns the token with this hash. ErrNotFound if none.
func (s *SCIMStore) GetSCIMToken(ctx context.Context, hash []byte) (domain.SCIMToken, error) {
	var d scimTokenDoc
	if err := s.tokens.FindOne(ctx, bson.M{"hash": hash}).Decode(&d); err != nil {
		return domain.SCIMToken{}, translate("get scim token", err)
	}
	return d.domain(), nil
}

// ListSCIMTokens returns an organization's tokens, oldest first, ties by id.
func (s *SCIMStore) ListSCIMTokens(ctx context.Context, organizationID string) ([]domain.SCIMToken, error) {
	return findAll[domain.SCIMToken, scimTokenDoc](ctx, s.tokens, "list scim tokens", bson.M{"organization_id": organizationID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
}

// DeleteSCIMToken removes one of an organization's tokens. ErrNotFound if
// the organization has no token with that id.
func (s *SCIMStore) DeleteSCIMToken(ctx context.Context, organizationID, id string) error {
	res, err := s.tokens.DeleteOne(ctx, bson.M{"_id": id, "organization_id": organizationID})
	if err != nil {
		return translate("delete scim token", err)
	}
	if res.DeletedCount == 0 {
		return translate("delete scim token", mongo.ErrNoDocuments)
	}
	return nil
}

// searchChunk is how many members one round of SearchUsers scopes its
// query to.
const searchChunk = 2000

// SearchUsers answers a SCIM search of an organization's members.
//
// MongoDB has no join usable here (FerretDB 1.24 has no $lookup), so the
// search is scoped by the organization's memberships, pending ones left
// out (the organization cannot see those accounts): it reads them in
// user id order (memberships_organization_user serves that), searchChunk at
// a time, and for each chunk asks the users collection for
// {_id: {$in: the chunk's user ids}} AND the filter translated for that
// chunk (see userFilterBSON: active and userName are facts of the
// memberships, which the users collection cannot see, so they become
// conditions on the chunk's user ids): a count for the total, and, while
// the page is not full, the matches in _id order with the rest of the
// offset skipped. Chunks go in user id order and each is sorted by _id, so
// the pages come out in user id order across chunks.
//
// The cost grows with the organization, not with the matches: every
// search reads all its memberships and runs a count per chunk, each an
// $in over up to searchChunk ids (looked up by _id, then filtered). That
// is cheap for a school's few thousand members, and chunking keeps every
// command far below the 16 MB limit and the memory bounded for large ones,
// but a search of an organization of a million members reads a million
// memberships and runs 500 counts. A store with joins (Postgres) does
// better; here the alternative, a copy of the membership list on each user
// document, would have to be kept in step without transactions. The
// providers' existence checks are the exception (see candidate).
//
// A membership that vanishes between the reads (a member removed, a user
// deleted) may leave the total off by one for that search: like
// ListMembers, the reads are not one snapshot.
func (s *SCIMStore) SearchUsers(ctx context.Context, q domain.UserQuery) (domain.UserPage, error) {
	page := domain.UserPage{Members: []domain.Member{}}
	// Translated once up front, before any read, to refuse a bad filter
	// and to answer one that never holds; searchMembers translates it
	// again for each chunk, which folds the same way.
	cond, err := userFilterBSON(q.OrganizationID, q.Filter, nil)
	if err != nil {
		return domain.UserPage{}, fmt.Errorf("mongo: search users: %w", err)
	}
	if cond.is == never {
		return page, nil
	}
	skip, want := int64(max(q.Offset, 0)), max(q.Limit, 0)
	if m, ok, err := s.candidate(ctx, q); err != nil {
		return domain.UserPage{}, translate("search users", err)
	} else if ok {
		if m == nil {
			return page, nil
		}
		if page.Total, err = s.searchMembers(ctx, q, []membershipDoc{*m}, &skip, &want, &page); err != nil {
			return domain.UserPage{}, translate("search users", err)
		}
		return page, nil
	}
	cur, err := s.memberships.Find(ctx, bson.M{"organization_id": q.OrganizationID, "status": notPending},
		options.Find().SetSort(bson.D{{Key: "user_id", Value: 1}}).
			SetProjection(memberProjection).SetBatchSize(int32(s.chunk)))
	if err != nil {
		return domain.UserPage{}, translate("search users", err)
	}
	defer cur.Close(ctx)
	chunk := make([]membershipDoc, 0, s.chunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		n, err := s.searchMembers(ctx, q, chunk, &skip, &want, &page)
		page.Total += n
		chunk = chunk[:0]
		return err
	}
	for cur.Next(ctx) {
		var m membershipDoc
		if err := cur.Decode(&m); err != nil {
			return domain.UserPage{}, translate("search users", err)
		}
		if chunk = append(chunk, m); len(chunk) == s.chunk {
			if err := flush(); err != nil {
				return domain.UserPage{}, translate("search users", err)
			}
		}
	}
	if err := cur.Err(); err != nil {
		return domain.UserPage{}, translate("search users", err)
	}
	if err := flush(); err != nil {
		return domain.UserPage{}, translate("search users", err)
	}
	return page, nil
}

// memberProjection leaves out of a search's membership reads what a
// member's domain value does not need.
var memberProjection = bson.M{"_id": 0, "primary_claim": 0, "user_name_key": 0}

// candidate returns the one member a filter can match when it is a
// top-level userName eq or id eq with a value: the providers' existence
// check, answered by one membership lookup (memberships_user_name_key, or
// the natural key) instead of the organization's memberships; the filter
// is still applied to it. ok with m nil means no member can match (there
// is no such membership, or it is pending).
func (s *SCIMStore) candidate(ctx context.Context, q domain.UserQuery) (m *membershipDoc, ok bool, err error) {
	c, isCmp := q.Filter.(*domain.Compare)
	if !isCmp || c == nil || c.Op != domain.OpEq {
		return nil, false, nil
	}
	v, _ := c.Value.(string)
	var filter bson.M
	switch {
	case v == "":
		return nil, false, nil
	case c.Field == domain.FieldID:
		filter = bson.M{"organization_id": q.OrganizationID, "user_id": v, "status": notPending}
	case c.Field == domain.FieldUserName:
		filter = bson.M{"user_name_key": userNameKey(q.OrganizationID, v), "status": notPending}
	default:
		return nil, false, nil
	}
	var d membershipDoc
	err = s.memberships.FindOne(ctx, filter, options.FindOne().SetProjection(memberProjection)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &d, true, nil
}

// searchMembers counts the members of ms (sorted by user id) that match
// q's filter, translated for them, and appends those of them on the page
// to it, consuming *skip and *want; it returns the count.
func (s *SCIMStore) searchMembers(ctx context.Context, q domain.UserQuery, ms []membershipDoc, skip *int64, want *int, page *domain.UserPage) (int, error) {
	facts := newMemberFacts(ms)
	cond, err := userFilterBSON(q.OrganizationID, q.Filter, facts)
	if err != nil || cond.is == never {
		return 0, err
	}
	var scope any = bson.D{{Key: "$in", Value: facts.ids}}
	if len(facts.ids) == 1 {
		// The providers' lookups (see candidate): an equality, which
		// FerretDB 1.24 answers from its _id index, where it scans for $in.
		scope = facts.ids[0]
	}
	filter := bson.D{{Key: "_id", Value: scope}}
	if cond.is == sometimes {
		filter = bson.D{{Key: "$and", Value: bson.A{filter, cond.f}}}
	}
	n, err := s.users.CountDocuments(ctx, filter)
	if err != nil || *want == 0 {
		return int(n), err
	}
	if *skip >= n {
		*skip -= n
		return int(n), nil
	}
	cur, err := s.users.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetSkip(*skip).SetLimit(int64(*want)))
	if err != nil {
		return 0, err
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, err
	}
	*skip = 0
	byUser := make(map[string]*membershipDoc, len(ms))
	for i := range ms {
		byUser[ms[i].UserID] = &ms[i]
	}
	for i := range docs {
		if m, ok := byUser[docs[i].ID]; ok && *want > 0 {
			page.Members = append(page.Members, domain.Member{User: docs[i].domain(), Membership: m.domain()})
			*want--
		}
	}
	return int(n), nil
}

// memberFacts is what the users collection cannot see of the members a
// query is scoped to: their memberships' status and user name.
type memberFacts struct {
	ids       []string // the members' user ids
	names     []string // names[i] is domain.UserNameKey of ids[i]'s user name
	suspended []string // the ids of those whose membership is suspended
}

func newMemberFacts(ms []membershipDoc) *memberFacts {
	f := &memberFacts{ids: make([]string, len(ms)), names: make([]string, len(ms))}
	for i := range ms {
		f.ids[i], f.names[i] = ms[i].UserID, domain.UserNameKey(ms[i].UserName)
		if ms[i].domain().Status == domain.MembershipSuspended {
			f.suspended = append(f.suspended, ms[i].UserID)
		}
	}
	return f
}
