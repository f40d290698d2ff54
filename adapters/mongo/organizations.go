package mongo

import (
	"context"
	"regexp"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.OrganizationStore = (*OrganizationStore)(nil)

const (
	organizationsCollection = "organizations"
	membershipsCollection   = "memberships"
)

func init() {
	registerIndexes(organizationsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "slug", Value: 1}},
		Options: options.Index().SetName("organizations_slug").SetUnique(true),
	},
		// SearchOrganizations: a multikey index of each organization's
		// search terms, which an anchored regex reads as one range.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "search_terms", Value: 1}},
			Options: options.Index().SetName("organizations_search_terms"),
		})
	registerIndexes(membershipsCollection,
		// The natural key, which also serves ListUserMemberships.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "organization_id", Value: 1}},
			Options: options.Index().SetName("memberships_user_organization").SetUnique(true),
		},
		// ListMembers: an organization's memberships in user id order.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "user_id", Value: 1}},
			Options: options.Index().SetName("memberships_organization_user"),
		},
		// At most one membership per user is the primary one that
		// provisioning chose (see DirectoryStore.ensureMembership). Sparse,
		// as FerretDB 1.24 has no partial indexes: only those memberships
		// have the field.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "primary_claim", Value: 1}},
			Options: options.Index().SetName("memberships_primary_claim").SetUnique(true).SetSparse(true),
		},
		// An organization's user names are unique by domain.UserNameKey,
		// and GetMembershipByUserName looks them up here. One composite
		// field rather than (organization_id, key): a compound unique index
		// would make every unnamed member of an organization collide, and
		// FerretDB 1.24 has no partial index to leave them out. Sparse, as
		// an unnamed membership has no user_name_key.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "user_name_key", Value: 1}},
			Options: options.Index().SetName("memberships_user_name_key").SetUnique(true).SetSparse(true),
		},
	)
}

// OrganizationStore is the MongoDB ports.OrganizationStore: one document
// per organization, keyed by its id, and one per membership, unique on
// (user_id, organization_id) and on its user name (user_name_key).
type OrganizationStore struct {
	orgs, memberships *collection
	// groupMembers are the places in groups (GroupStore), which a member
	// leaves with the organization.
	groupMembers *collection
	// termsBackfilled is set once this store has given search terms to
	// the organizations an older version wrote (backfillSearchTerms).
	termsBackfilled atomic.Bool
}

// NewOrganizationStore returns an OrganizationStore on db.
func NewOrganizationStore(db *mongo.Database) *OrganizationStore {
	return &OrganizationStore{
		orgs:         collectionOf(db, organizationsCollection),
		memberships:  collectionOf(db, membershipsCollection),
		groupMembers: collectionOf(db, groupMembersCollection),
	}
}

// organizationDoc is the stored form of a domain.Organization. Rev counts
// the writes, for UpdateOrganization's compare-and-swap.
type organizationDoc struct {
	ID   string `bson:"_id"`
	Rev  int64  `bson:"rev"`
	Name string `bson:"name"`
	Slug string `bson:"slug"`
	// MFAPolicy is domain.Organization.MFAPolicy, always written, off for
	// an organization given none. A document without the field was
	// written by an older version, before organizations had a policy: it
	// never set one, so it reads as off and needs no backfill.
	MFAPolicy string    `bson:"mfa_policy"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
	// SearchTerms is domain.OrganizationSearchTerms of the name and slug,
	// written with them and never read back. A document without the field
	// was written by an older version; backfillSearchTerms gives it one.
	SearchTerms []string `bson:"search_terms"`
}

func newOrganizationDoc(o *domain.Organization, rev int64) *organizationDoc {
	return &organizationDoc{
		ID: o.ID, Rev: rev, Name: o.Name, Slug: o.Slug, MFAPolicy: string(o.MFAPolicy.OrOff()),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, SearchTerms: domain.OrganizationSearchTerms(*o),
	}
}

func (d *organizationDoc) domain() domain.Organization {
	return domain.Organization{
		ID: d.ID, Name: d.Name, Slug: d.Slug, MFAPolicy: domain.MFAPolicy(d.MFAPolicy).OrOff(),
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func (d *organizationDoc) revision() int64 { return d.Rev }

// membershipDoc is the stored form of a domain.Membership. Its _id is an
// ObjectID, the driver's unless provisioning chose it (to find its claim
// again by _id); the natural key is the unique (user_id,
// organization_id).
type membershipDoc struct {
	ID             primitive.ObjectID `bson:"_id,omitempty"`
	UserID         string             `bson:"user_id"`
	OrganizationID string             `bson:"organization_id"`
	Role           string             `bson:"role"`
	// Status is domain.MembershipStatus, kept as given. It is nil only on
	// a document an older version wrote, before memberships had a status:
	// those were all active, and read so (BackfillDirectory writes the
	// field at start). Queries that leave pending memberships out use
	// {status: {$ne: "pending"}}, which such documents match too.
	Status  *string `bson:"status"`
	Primary bool    `bson:"primary"`
	// PrimaryClaim is the user id on the membership that provisioning
	// made primary, and absent on every other one; its sparse unique index
	// lets one of two racing activations of a user's memberships be
	// primary.
	PrimaryClaim string `bson:"primary_claim,omitempty"`
	// UserName is domain.Membership.UserName, always written, "" included:
	// a document without the field was written by an older version, and
	// BackfillDirectory names it after its user's email. Until then it
	// reads as "".
	UserName string `bson:"user_name"`
	// UserNameKey is userNameKey(OrganizationID, UserName), absent when the
	// name is "" (see the sparse unique index in init). Derived, never
	// read back.
	UserNameKey string `bson:"user_name_key,omitempty"`
	// ClaimedAt is set on a membership that provisioning writes before the
	// user it creates (see DirectoryStore), at the adapter's clock, and
	// removed once the user exists. Until then the membership is a claim on
	// its name that may still come to nothing.
	ClaimedAt *time.Time `bson:"claimed_at,omitempty"`
	CreatedAt time.Time  `bson:"created_at"`
}

func newMembershipDoc(m *domain.Membership) *membershipDoc {
	status := string(m.Status)
	return &membershipDoc{
		UserID: m.UserID, OrganizationID: m.OrganizationID, Role: m.Role, Status: &status,
		Primary: m.Primary, UserName: m.UserName, UserNameKey: userNameKey(m.OrganizationID, m.UserName),
		CreatedAt: m.CreatedAt,
	}
}

func (d *membershipDoc) domain() domain.Membership {
	status := domain.MembershipActive
	if d.Status != nil {
		status = domain.MembershipStatus(*d.Status)
	}
	return domain.Membership{
		OrganizationID: d.OrganizationID, UserID: d.UserID, Role: d.Role, Status: status, Primary: d.Primary,
		UserName: d.UserName, CreatedAt: d.CreatedAt,
	}
}

// setUserName names the membership, keeping its key in step.
func (d *membershipDoc) setUserName(name string) {
	d.UserName, d.UserNameKey = name, userNameKey(d.OrganizationID, name)
}

// userNameKey is the value of user_name_key: the organization's profile
// key (profileKey, whose escaping leaves no '$' in it), '$', and
// domain.UserNameKey(name); "" for the empty name. The first '$' ends the
// organization, so two different (organization, key) pairs never meet.
func userNameKey(organizationID, name string) string {
	if name == "" {
		return ""
	}
	return profileKey(organizationID) + "$" + domain.UserNameKey(name)
}

// notPending is the condition on a membership that its organization may
// see it: every status but pending (domain.Membership.Visible).
var notPending = bson.M{"$ne": string(domain.MembershipPending)}

func membershipKey(organizationID, userID string) bson.M {
	return bson.M{"user_id": userID, "organization_id": organizationID}
}

// CreateOrganization stores a new organization. ErrAlreadyExists if the id
// or the slug is taken.
func (s *OrganizationStore) CreateOrganization(ctx context.Context, o domain.Organization) error {
	_, err := s.orgs.InsertOne(ctx, newOrganizationDoc(&o, 0))
	return translate("create organization", err)
}

// GetOrganization returns an organization by id. ErrNotFound if there is none.
func (s *OrganizationStore) GetOrganization(ctx context.Context, id string) (domain.Organization, error) {
	return s.findOrganization(ctx, "get organization", bson.M{"_id": id})
}

// GetOrganizationBySlug returns an organization by slug. ErrNotFound if there is none.
func (s *OrganizationStore) GetOrganizationBySlug(ctx context.Context, slug string) (domain.Organization, error) {
	return s.findOrganization(ctx, "get organization by slug", bson.M{"slug": slug})
}

func (s *OrganizationStore) findOrganization(ctx context.Context, op string, filter bson.M) (domain.Organization, error) {
	var d organizationDoc
	if err := s.orgs.FindOne(ctx, filter).Decode(&d); err != nil {
		return domain.Organization{}, translate(op, err)
	}
	return d.domain(), nil
}

// UpdateOrganization applies fn to the stored organization and writes the
// result with a compare-and-swap on its revision (see updateByRev).
func (s *OrganizationStore) UpdateOrganization(ctx context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error) {
	return updateByRev(ctx, s.orgs, "update organization", id,
		func(d *organizationDoc) domain.Organization { return d.domain() },
		func(o *domain.Organization, rev int64) any {
			o.ID = id // the id is the key; fn cannot move the record
			o.MFAPolicy = o.MFAPolicy.OrOff()
			return newOrganizationDoc(o, rev)
		}, fn)
}

// PutMembership creates or replaces the membership in one upsert. The
// organization is checked first: the ports delete no organization, so it
// cannot vanish between the check and the upsert. The user is not checked,
// like the other adapters; DirectoryStore.DeleteUser removes a user's
// memberships after the user. The user name's uniqueness is the unique
// user_name_key index, decided in the upsert itself, which then writes
// nothing.
func (s *OrganizationStore) PutMembership(ctx context.Context, m domain.Membership) error {
	if err := requireOrganization(ctx, s.orgs, "put membership", m.OrganizationID); err != nil {
		return err
	}
	// $set, not a replacement, so that a primary_claim stays with its
	// membership while it is primary. One that stops being primary drops
	// its claim: provisioning reads "the user has no primary membership"
	// from the primary field, and a claim left on a secondary membership
	// would refuse it the claim forever.
	key := userNameKey(m.OrganizationID, m.UserName)
	set := bson.M{
		"role": m.Role, "status": string(m.Status), "primary": m.Primary, "user_name": m.UserName,
		"created_at": m.CreatedAt,
	}
	unset := bson.M{}
	if key != "" {
		set["user_name_key"] = key
	} else {
		unset["user_name_key"] = ""
	}
	if !m.Primary {
		unset["primary_claim"] = ""
	}
	update := bson.M{"$set": set}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	for range upsertAttempts {
		_, err := s.memberships.UpdateOne(ctx, membershipKey(m.OrganizationID, m.UserID),
			update, options.Update().SetUpsert(true))
		if !isUniqueViolation(err) {
			return translate("put membership", err)
		}
		// Either another member has the name, or a racing upsert inserted
		// this membership first (FerretDB reports the race where MongoDB
		// retries): then it matches now.
		taken, err2 := nameTakenByOther(ctx, s.memberships, key, m.UserID)
		if err2 != nil {
			return translate("put membership", err2)
		}
		if taken {
			return translateWrite("put membership", err)
		}
	}
	return translate("put membership", errKeepsChanging)
}

// nameTakenByOther reports whether a membership of a user other than
// userID holds the user name key ("" is never taken).
func nameTakenByOther(ctx context.Context, memberships *collection, key, userID string) (bool, error) {
	if key == "" {
		return false, nil
	}
	return hasDoc(ctx, memberships, bson.M{"user_name_key": key, "user_id": bson.M{"$ne": userID}})
}

// ListOrganizations returns up to limit organizations ordered by id, after
// the id after: a keyset page on _id.
func (s *OrganizationStore) ListOrganizations(ctx context.Context, after string, limit int) ([]domain.Organization, error) {
	if limit <= 0 {
		return []domain.Organization{}, nil
	}
	return findAll[domain.Organization, organizationDoc](ctx, s.orgs, "list organizations", bson.M{"_id": bson.M{"$gt": after}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// SearchOrganizations returns up to limit organizations that query finds,
// ordered by id, after the id after: an anchored regex on search_terms
// matches a document when one of its terms starts with the key, and reads
// one range of organizations_search_terms. The key has only letters,
// digits, marks and spaces; it is quoted all the same.
func (s *OrganizationStore) SearchOrganizations(ctx context.Context, query, after string, limit int) ([]domain.Organization, error) {
	key := domain.OrganizationSearchKey(query)
	if limit <= 0 || key == "" {
		return []domain.Organization{}, nil
	}
	if err := s.backfillSearchTerms(ctx); err != nil {
		return nil, err
	}
	filter := bson.M{"search_terms": primitive.Regex{Pattern: "^" + regexp.QuoteMeta(key)}, "_id": bson.M{"$gt": after}}
	return findAll[domain.Organization, organizationDoc](ctx, s.orgs, "search organizations", filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// backfillSearchTerms gives the organizations an older version wrote,
// without search_terms, their terms, once per store: the first search of
// an instance pays for it, with one scan of the organizations (no index
// serves a missing field), and the later ones nothing. Each write is
// conditional on the field still lacking, so a rename that lands first
// keeps its own terms. During a rolling upgrade an older instance may
// still write organizations without terms; they are found once renamed,
// or after this version restarts.
func (s *OrganizationStore) backfillSearchTerms(ctx context.Context) error {
	if s.termsBackfilled.Load() {
		return nil
	}
	missing := bson.M{"search_terms": bson.M{"$exists": false}}
	var docs []organizationDoc
	cur, err := s.orgs.Find(ctx, missing)
	if err != nil {
		return translate("backfill organization search terms", err)
	}
	if err := cur.All(ctx, &docs); err != nil {
		return translate("backfill organization search terms", err)
	}
	for i := range docs {
		o := docs[i].domain()
		_, err := s.orgs.UpdateOne(ctx, bson.M{"_id": o.ID, "search_terms": bson.M{"$exists": false}},
			bson.M{"$set": bson.M{"search_terms": domain.OrganizationSearchTerms(o)}})
		if err != nil {
			return translate("backfill organization search terms", err)
		}
	}
	s.termsBackfilled.Store(true)
	return nil
}

// GetMembership returns the membership of (organization, user). ErrNotFound
// if there is none.
func (s *OrganizationStore) GetMembership(ctx context.Context, organizationID, userID string) (domain.Membership, error) {
	var d membershipDoc
	if err := s.memberships.FindOne(ctx, membershipKey(organizationID, userID)).Decode(&d); err != nil {
		return domain.Membership{}, translate("get membership", err)
	}
	return d.domain(), nil
}

// GetMembershipByUserName returns the membership whose user_name_key is
// the name's: one lookup on the unique index. ErrNotFound if there is
// none, or the name is "".
func (s *OrganizationStore) GetMembershipByUserName(ctx context.Context, organizationID, userName string) (domain.Membership, error) {
	if userName == "" {
		return domain.Membership{}, translate("get membership by user name", mongo.ErrNoDocuments)
	}
	var d membershipDoc
	if err := s.memberships.FindOne(ctx, bson.M{"user_name_key": userNameKey(organizationID, userName)}).Decode(&d); err != nil {
		return domain.Membership{}, translate("get membership by user name", err)
	}
	return d.domain(), nil
}

// DeleteMembership removes a membership, then the user's places in the
// organization's groups: in that order, so that a GroupStore add racing it
// either is seen by this cleanup or sees the membership gone (see
// GroupStore). The places go even when there is no membership, so that a
// retry completes a call that stopped half-way. ErrNotFound if there is
// none.
func (s *OrganizationStore) DeleteMembership(ctx context.Context, organizationID, userID string) error {
	res, err := s.memberships.DeleteOne(ctx, membershipKey(organizationID, userID))
	if err != nil {
		return translate("delete membership", err)
	}
	_, err = s.groupMembers.DeleteMany(ctx, bson.M{"user_id": userID, "organization_id": organizationID})
	if err != nil {
		return translate("delete membership", err)
	}
	if res.DeletedCount == 0 {
		return translate("delete membership", mongo.ErrNoDocuments)
	}
	return nil
}

// ListUserMemberships returns a user's memberships in every status, oldest
// first, ties broken by organization id.
func (s *OrganizationStore) ListUserMemberships(ctx context.Context, userID string) ([]domain.Membership, error) {
	return findAll[domain.Membership, membershipDoc](ctx, s.memberships, "list user memberships", bson.M{"user_id": userID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "organization_id", Value: 1}}))
}

// requireOrganization returns ErrNotFound, for op, unless the organization
// exists.
func requireOrganization(ctx context.Context, orgs *collection, op, id string) error {
	ok, err := hasDoc(ctx, orgs, bson.M{"_id": id})
	if err != nil {
		return translate(op, err)
	}
	if !ok {
		return translate(op, mongo.ErrNoDocuments)
	}
	return nil
}
