package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
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

// Bounds of a filter's translation, past which it is refused: the SCIM
// layer allows far less (64 terms), so these only stop a runaway caller
// from building a query the server chokes on or refuses. maxFilterNesting
// bounds the query document's nesting (MongoDB refuses documents nested
// over 100 deep, and the command wraps the filter in a few levels more);
// chains of and, of or and double negations are flattened first, so only
// alternations nest.
const (
	maxFilterTerms   = 512
	maxFilterNesting = 80
)

// errFilterTooLarge refuses a filter beyond the bounds above.
var errFilterTooLarge = errors.New("the filter is too large")

// truth is what a translated condition is known to be.
type truth int

const (
	sometimes truth = iota // it depends on the document: see f
	always
	never
)

// bsonCond is a translated filter: a query document, or a constant. The
// constants are folded away by And, Or and Not, so that no query holds an
// empty document.
type bsonCond struct {
	is truth
	f  bson.D
}

func condOf(f bson.D) bsonCond { return bsonCond{is: sometimes, f: f} }

var (
	condAlways = bsonCond{is: always}
	condNever  = bsonCond{is: never}
)

// userFilterBSON translates a domain.UserFilter into a MongoDB query on the
// users collection, for the members of organizationID that members
// describes (the chunk the query is scoped to; nil in the translation up
// front, which sees no members yet); a nil filter is always true. The
// semantics are domain.Compare's:
//
//   - Case-insensitive fields are compared through their lower-cased
//     copies (email_key, given_name_lc, the profiles' *_lc fields, the
//     multi-values' value_lc and type_lc) with the value lower-cased by
//     strings.ToLower, so eq, gt..le and the regexes need no case folding
//     on the server.
//   - A string that is absent (a missing field, no profile for the
//     organization) is "": the translation decides in Go whether ""
//     satisfies the comparison, and if so adds {field: {$exists: false}}
//     (and "" itself matches as a stored value). A comparison that always
//     or never holds becomes a constant.
//   - co, sw, ew are $regex over regexp.QuoteMeta(value), anchored with \A
//     and \z (not ^ and $, since PCRE's $ also matches before a final
//     newline).
//   - Multi-valued fields match through a dotted path into the profile's
//     array (see compareElements), so that a comparison holds when it
//     holds for one value; emails.value
//     also tries the account's email (email_key), a value that is always
//     there (maybe "").
//   - ne is {$nor: [eq]} and Not is {$nor: [X]}: exactly the negation, as
//     each translated condition is true or false of every document.
//   - active is the status in {active, invited} and the _id not among the
//     members whose membership is suspended, as one document of two
//     conditions, so that it nests no deeper whether any is or not; times
//     are BSON dates, which hold milliseconds, so comparisons are at that
//     precision.
//   - userName is the membership's, and it and id are decided for each
//     member in Go (see compareMembers).
func userFilterBSON(organizationID string, f domain.UserFilter, members *memberFacts) (bsonCond, error) {
	if f == nil {
		return condAlways, nil
	}
	t := filterTranslator{profile: "profiles." + profileKey(organizationID) + ".", members: members}
	c, err := t.translate(f)
	if err == nil && c.is == sometimes && nesting(c.f) > maxFilterNesting {
		err = errFilterTooLarge
	}
	return c, err
}

// nesting is how deeply v's documents and arrays nest.
func nesting(v any) int {
	n := 0
	switch v := v.(type) {
	case bson.D:
		for _, e := range v {
			n = max(n, nesting(e.Value))
		}
	case bson.A:
		for _, e := range v {
			n = max(n, nesting(e))
		}
	default:
		return 0
	}
	return n + 1
}

type filterTranslator struct {
	profile string       // the path prefix of the searched organization's profile
	members *memberFacts // the members the query is scoped to; nil if not known yet
	terms   int
}

func (t *filterTranslator) translate(f domain.UserFilter) (bsonCond, error) {
	if t.terms++; t.terms > maxFilterTerms {
		return bsonCond{}, errFilterTooLarge
	}
	switch f := f.(type) {
	case *domain.Compare:
		if f == nil {
			return bsonCond{}, errors.New("nil comparison in the filter")
		}
		return t.compare(f)
	case *domain.And:
		if f == nil {
			return bsonCond{}, errors.New("nil and in the filter")
		}
		l, r, err := t.pair(f.Left, f.Right)
		if err != nil {
			return bsonCond{}, err
		}
		return and(l, r), nil
	case *domain.Or:
		if f == nil {
			return bsonCond{}, errors.New("nil or in the filter")
		}
		l, r, err := t.pair(f.Left, f.Right)
		if err != nil {
			return bsonCond{}, err
		}
		return or(l, r), nil
	case *domain.Not:
		if f == nil {
			return bsonCond{}, errors.New("nil not in the filter")
		}
		x, err := t.translate(f.X)
		if err != nil {
			return bsonCond{}, err
		}
		return not(x), nil
	default:
		return bsonCond{}, fmt.Errorf("unknown filter node %T", f)
	}
}

func (t *filterTranslator) pair(l, r domain.UserFilter) (bsonCond, bsonCond, error) {
	if l == nil || r == nil {
		return bsonCond{}, bsonCond{}, errors.New("missing operand in the filter")
	}
	lc, err := t.translate(l)
	if err != nil {
		return bsonCond{}, bsonCond{}, err
	}
	rc, err := t.translate(r)
	return lc, rc, err
}

// and, or and not combine conditions, folding constants and flattening
// nested $and and $or lists.
func and(l, r bsonCond) bsonCond {
	switch {
	case l.is == never || r.is == never:
		return condNever
	case l.is == always:
		return r
	case r.is == always:
		return l
	}
	return condOf(bson.D{{Key: "$and", Value: append(operands("$and", l.f), operands("$and", r.f)...)}})
}

func or(l, r bsonCond) bsonCond {
	switch {
	case l.is == always || r.is == always:
		return condAlways
	case l.is == never:
		return r
	case r.is == never:
		return l
	}
	return condOf(bson.D{{Key: "$or", Value: append(operands("$or", l.f), operands("$or", r.f)...)}})
}

func not(x bsonCond) bsonCond {
	switch x.is {
	case always:
		return condNever
	case never:
		return condAlways
	}
	// Not Not X is X.
	if len(x.f) == 1 && x.f[0].Key == "$nor" {
		if a, ok := x.f[0].Value.(bson.A); ok && len(a) == 1 {
			if d, ok := a[0].(bson.D); ok {
				return condOf(d)
			}
		}
	}
	return condOf(bson.D{{Key: "$nor", Value: bson.A{x.f}}})
}

// operands is f's list if f is an op list itself, else f alone.
func operands(op string, f bson.D) bson.A {
	if len(f) == 1 && f[0].Key == op {
		if a, ok := f[0].Value.(bson.A); ok {
			return append(bson.A(nil), a...)
		}
	}
	return bson.A{f}
}

// activeStatuses are the statuses for which active is true.
var activeStatuses = bson.A{string(domain.UserActive), string(domain.UserInvited)}

func (t *filterTranslator) compare(c *domain.Compare) (bsonCond, error) {
	info, ok := domain.UserFields[c.Field]
	if !ok {
		return bsonCond{}, fmt.Errorf("unknown filter field %q", c.Field)
	}
	if c.Op == domain.OpNe {
		eq := *c
		eq.Op = domain.OpEq
		x, err := t.compare(&eq)
		if err != nil {
			return bsonCond{}, err
		}
		return not(x), nil
	}
	switch info.Kind {
	case domain.KindBool:
		return t.compareActive(c)
	case domain.KindTime:
		return compareTime(c)
	case domain.KindString, domain.KindExact:
	default:
		return bsonCond{}, fmt.Errorf("filter field %q has an unknown kind", c.Field)
	}
	var v string
	if c.Op != domain.OpPr {
		s, ok := c.Value.(string)
		if !ok {
			return bsonCond{}, fmt.Errorf("filter field %q takes a string, not %T", c.Field, c.Value)
		}
		v = s
	}
	if info.Kind == domain.KindString {
		v = strings.ToLower(v)
	}
	p := t.profile
	switch c.Field {
	case domain.FieldID:
		return t.compareMembers(c.Op, v, func(m *memberFacts) []string { return m.ids })
	case domain.FieldUserName:
		return t.compareMembers(c.Op, v, func(m *memberFacts) []string { return m.names })
	case domain.FieldGivenName:
		return compareString("given_name_lc", c.Op, v)
	case domain.FieldFamilyName:
		return compareString("family_name_lc", c.Op, v)
	case domain.FieldExternalID:
		return compareString(p+"external_id", c.Op, v)
	case domain.FieldDisplayName:
		return compareString(p+"display_name_lc", c.Op, v)
	case domain.FieldEmployeeNumber:
		return compareString(p+"employee_number_lc", c.Op, v)
	case domain.FieldDepartment:
		return compareString(p+"department_lc", c.Op, v)
	case domain.FieldManagerID:
		return compareString(p+"manager_id", c.Op, v)
	case domain.FieldEmailValue:
		account, err := compareString("email_key", c.Op, v)
		if err != nil {
			return bsonCond{}, err
		}
		profile, err := compareElements(p+"emails", "value_lc", c.Op, v)
		return or(account, profile), err
	case domain.FieldEmailType:
		return compareElements(p+"emails", "type_lc", c.Op, v)
	case domain.FieldPhoneValue:
		return compareElements(p+"phone_numbers", "value_lc", c.Op, v)
	case domain.FieldPhoneType:
		return compareElements(p+"phone_numbers", "type_lc", c.Op, v)
	}
	return bsonCond{}, fmt.Errorf("filter field %q has no mapping", c.Field)
}

// stringOperator is the condition on a stored string for op and v, and
// whether "" satisfies it; nil if every string does (co, sw, ew with "").
// The caller has lower-cased v for case-insensitive fields.
func stringOperator(op domain.FilterOp, v string) (cond any, emptyHolds bool, err error) {
	switch op {
	case domain.OpEq:
		return v, v == "", nil
	case domain.OpCo, domain.OpSw, domain.OpEw:
		if v == "" {
			return nil, true, nil
		}
		pattern := regexp.QuoteMeta(v)
		switch op {
		case domain.OpSw:
			pattern = `\A` + pattern
		case domain.OpEw:
			pattern += `\z`
		}
		return bson.D{{Key: "$regex", Value: pattern}}, false, nil
	case domain.OpGt:
		return bson.D{{Key: "$gt", Value: v}}, false, nil
	case domain.OpGe:
		return bson.D{{Key: "$gte", Value: v}}, v == "", nil
	case domain.OpLt:
		return bson.D{{Key: "$lt", Value: v}}, v != "", nil
	case domain.OpLe:
		return bson.D{{Key: "$lte", Value: v}}, true, nil
	case domain.OpPr:
		return bson.D{{Key: "$gt", Value: ""}}, false, nil
	}
	return nil, false, fmt.Errorf("unknown filter operator %q", op)
}

// compareString compares a single string stored at path, which may be
// absent: then it is "".
func compareString(path string, op domain.FilterOp, v string) (bsonCond, error) {
	cond, emptyHolds, err := stringOperator(op, v)
	switch {
	case err != nil:
		return bsonCond{}, err
	case cond == nil:
		return condAlways, nil
	}
	f := condOf(bson.D{{Key: path, Value: cond}})
	if emptyHolds {
		f = or(f, condOf(bson.D{{Key: path, Value: bson.D{{Key: "$exists", Value: false}}}}))
	}
	return f, nil
}

// compareElements compares the strings at field of the documents in the
// array at path, and holds if the comparison holds for one of them: no
// array, or an empty one, holds nothing. Every element is written with the
// field (see multiValueDoc), so there is no absent value to consider.
//
// It is a condition on the dotted path path.field, which a query applies
// to each element of the array, holding if it holds for one: exactly the
// semantics wanted, as each comparison is a single operator (with two, as
// in {$gt: a, $lt: b}, different elements could satisfy each; $elemMatch
// would tie them to one element). $elemMatch is not used: FerretDB 1.24
// silently matches nothing with $elemMatch over documents.
func compareElements(path, field string, op domain.FilterOp, v string) (bsonCond, error) {
	cond, _, err := stringOperator(op, v)
	if err != nil {
		return bsonCond{}, err
	}
	if cond == nil {
		// Every string holds: any element will do.
		cond = bson.D{{Key: "$gte", Value: ""}}
	}
	return condOf(bson.D{{Key: path + "." + field, Value: cond}}), nil
}

// compareMembers translates a comparison of a fact of the members the
// query is scoped to, of[i] being ids[i]'s: the user name, which the users
// collection does not hold, and the id. It is decided in Go for each
// member (v is lower-cased for the name, as the names are), and becomes
// {_id: {$in: the members it holds for}}, or {_id: {$nin: those it does
// not}} when that list is shorter (the query is scoped to the members' ids
// already), or a constant when it holds for all or none: so a search of
// one candidate (see candidate) is a lookup by _id alone. Before the
// members are known it is a placeholder of the same shape.
func (t *filterTranslator) compareMembers(op domain.FilterOp, v string, of func(*memberFacts) []string) (bsonCond, error) {
	holds, err := stringHolds(op, v)
	if err != nil {
		return bsonCond{}, err
	}
	if cond, _, _ := stringOperator(op, v); cond == nil {
		return condAlways, nil
	}
	if t.members == nil {
		return condOf(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}), nil
	}
	var in, out []string
	for i, value := range of(t.members) {
		if id := t.members.ids[i]; holds(value) {
			in = append(in, id)
		} else {
			out = append(out, id)
		}
	}
	switch {
	case len(in) == 0:
		return condNever, nil
	case len(out) == 0:
		return condAlways, nil
	case len(in) <= len(out):
		return condOf(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: in}}}}), nil
	}
	return condOf(bson.D{{Key: "_id", Value: bson.D{{Key: "$nin", Value: out}}}}), nil
}

// stringHolds is stringOperator's comparison made in Go: whether a stored
// string (lower-cased for a case-insensitive field, as v is) satisfies op
// and v. Strings order by byte, as MongoDB's do.
func stringHolds(op domain.FilterOp, v string) (func(string) bool, error) {
	switch op {
	case domain.OpEq:
		return func(s string) bool { return s == v }, nil
	case domain.OpCo:
		return func(s string) bool { return strings.Contains(s, v) }, nil
	case domain.OpSw:
		return func(s string) bool { return strings.HasPrefix(s, v) }, nil
	case domain.OpEw:
		return func(s string) bool { return strings.HasSuffix(s, v) }, nil
	case domain.OpGt:
		return func(s string) bool { return s > v }, nil
	case domain.OpGe:
		return func(s string) bool { return s >= v }, nil
	case domain.OpLt:
		return func(s string) bool { return s < v }, nil
	case domain.OpLe:
		return func(s string) bool { return s <= v }, nil
	case domain.OpPr:
		return func(s string) bool { return s != "" }, nil
	}
	return nil, fmt.Errorf("unknown filter operator %q", op)
}

// compareActive translates active: the account's status is active or
// invited and the membership is not suspended. pr always holds (every
// member has a value); ne, through not, is {$nor: [eq]}, which negates
// both conditions together.
func (t *filterTranslator) compareActive(c *domain.Compare) (bsonCond, error) {
	switch c.Op {
	case domain.OpPr:
		return condAlways, nil
	case domain.OpEq:
		b, ok := c.Value.(bool)
		if !ok {
			return bsonCond{}, fmt.Errorf("filter field %q takes a bool, not %T", c.Field, c.Value)
		}
		d := bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: activeStatuses}}}}
		if t.members != nil && len(t.members.suspended) > 0 {
			d = append(d, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: t.members.suspended}}})
		}
		active := condOf(d)
		if !b {
			return not(active), nil
		}
		return active, nil
	}
	return bsonCond{}, fmt.Errorf("filter field %q takes no %q", c.Field, c.Op)
}

func compareTime(c *domain.Compare) (bsonCond, error) {
	path := "created_at"
	if c.Field == domain.FieldLastModified {
		path = "updated_at"
	}
	if c.Op == domain.OpPr {
		return condAlways, nil
	}
	v, ok := c.Value.(time.Time)
	if !ok {
		return bsonCond{}, fmt.Errorf("filter field %q takes a time, not %T", c.Field, c.Value)
	}
	var op string
	switch c.Op {
	case domain.OpEq:
		return condOf(bson.D{{Key: path, Value: v}}), nil
	case domain.OpGt:
		op = "$gt"
	case domain.OpGe:
		op = "$gte"
	case domain.OpLt:
		op = "$lt"
	case domain.OpLe:
		op = "$lte"
	default:
		return bsonCond{}, fmt.Errorf("filter field %q takes no %q", c.Field, c.Op)
	}
	return condOf(bson.D{{Key: path, Value: bson.D{{Key: op, Value: v}}}}), nil
}
