package mongo

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/calimatic/calimatic-auth/core/domain"
)

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
