package scim

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Schema URNs.
const (
	SchemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaListResp   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaSPC        = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResType    = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// Bounds on a filter, so a request cannot make a store build an enormous
// query. maxFilterTerms comparisons, each at most two after the rewriting
// of time comparisons, nested maxFilterDepth levels plus that rewriting's
// two, stay within what every store answers (domain.Compare: 150
// comparisons, 20 deep; testsuite.RunSCIMStore checks it).
const (
	MaxFilterLen   = 2048
	maxFilterTerms = 64
	maxFilterDepth = 16
)

// filterFields maps a lower-cased attribute path, without its schema URN,
// to the searchable field. A bare multi-valued attribute (emails) means its
// value.
var filterFields = map[string]domain.UserField{
	"id":                 domain.FieldID,
	"username":           domain.FieldUserName,
	"name.givenname":     domain.FieldGivenName,
	"name.familyname":    domain.FieldFamilyName,
	"active":             domain.FieldActive,
	"meta.created":       domain.FieldCreated,
	"meta.lastmodified":  domain.FieldLastModified,
	"externalid":         domain.FieldExternalID,
	"displayname":        domain.FieldDisplayName,
	"emails":             domain.FieldEmailValue,
	"emails.value":       domain.FieldEmailValue,
	"emails.type":        domain.FieldEmailType,
	"phonenumbers":       domain.FieldPhoneValue,
	"phonenumbers.value": domain.FieldPhoneValue,
	"phonenumbers.type":  domain.FieldPhoneType,
}

// enterpriseFields are the enterprise extension's searchable attributes.
var enterpriseFields = map[string]domain.UserField{
	"employeenumber": domain.FieldEmployeeNumber,
	"department":     domain.FieldDepartment,
	"manager":        domain.FieldManagerID,
	"manager.value":  domain.FieldManagerID,
}

// ParseFilter parses a Users filter (RFC 7644 section 3.4.2.2) into a
// store-neutral UserFilter. An empty filter is nil: every user.
func ParseFilter(raw string) (domain.UserFilter, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	if len(raw) > MaxFilterLen {
		return nil, newErr(fault.Invalid, TypeInvalidFilter, "the filter is longer than %d characters", MaxFilterLen)
	}
	if !utf8.ValidString(raw) || strings.ContainsRune(raw, 0) {
		return nil, newErr(fault.Invalid, TypeInvalidFilter, "the filter must be UTF-8 text without NUL characters")
	}
	expr, err := parseExpr(raw)
	if err != nil {
		return nil, newErr(fault.Invalid, TypeInvalidFilter, "the filter is not valid SCIM filter syntax")
	}
	var c converter
	f, _, err := c.convert(expr)
	return f, err
}

// parseExpr runs the parser, which may panic on input it does not expect;
// a panic is a syntax error here.
func parseExpr(raw string) (expr filter.Expression, err error) {
	defer func() {
		if recover() != nil {
			expr, err = nil, errSyntax
		}
	}()
	return filter.ParseFilter([]byte(raw))
}

var errSyntax = newErr(fault.Invalid, TypeInvalidFilter, "the filter is not valid SCIM filter syntax")

// converter translates a parsed filter, counting its comparisons.
type converter struct{ terms int }

// convert translates e and returns its height: the and, or and not levels
// above its deepest comparison. A run of one operator (a or b or c ...) is
// written flat, so it becomes a balanced tree, as high as the logarithm of
// its length, rather than a chain as deep as it is long: a provider's
// 64 alternatives are not 64 levels of nesting, and no store is sent one.
func (c *converter) convert(e filter.Expression) (domain.UserFilter, int, error) {
	var f domain.UserFilter
	height := 0
	switch e := e.(type) {
	case *filter.LogicalExpression:
		var parts []operand
		for _, x := range runOf(e, e.Operator, nil) {
			f, h, err := c.convert(x)
			if err != nil {
				return nil, 0, err
			}
			parts = append(parts, operand{f, h})
		}
		top := balance(parts, e.Operator == filter.OR)
		f, height = top.f, top.height
	case *filter.NotExpression:
		x, h, err := c.convert(e.Expression)
		if err != nil {
			return nil, 0, err
		}
		f, height = &domain.Not{X: x}, h+1
	case *filter.AttributeExpression:
		if c.terms++; c.terms > maxFilterTerms {
			return nil, 0, newErr(fault.Invalid, TypeInvalidFilter, "the filter has more than %d comparisons", maxFilterTerms)
		}
		x, err := compare(e)
		if err != nil {
			return nil, 0, err
		}
		f = x
	case *filter.ValuePath:
		return nil, 0, newErr(fault.Invalid, TypeInvalidFilter, "value filters such as %s[...] are not supported in searches; compare %s.value or %s.type instead",
			e.AttributePath.AttributeName, e.AttributePath.AttributeName, e.AttributePath.AttributeName)
	default:
		return nil, 0, errSyntax
	}
	if height > maxFilterDepth {
		return nil, 0, newErr(fault.Invalid, TypeInvalidFilter, "the filter nests deeper than %d levels of and, or and not", maxFilterDepth)
	}
	return f, height, nil
}

// operand is a translated operand of an and or an or, with its height.
type operand struct {
	f      domain.UserFilter
	height int
}

// runOf appends to out the operands of the run of op that e heads, in
// order: the parser nests a or b or c as ((a or b) or c), and parentheses
// around the same operator change nothing, as and and or are associative.
func runOf(e filter.Expression, op filter.LogicalOperator, out []filter.Expression) []filter.Expression {
	if l, ok := e.(*filter.LogicalExpression); ok && l.Operator == op {
		return runOf(l.Right, op, runOf(l.Left, op, out))
	}
	return append(out, e)
}

// balance joins operands with and (or with or) into the lowest tree that
// keeps their order: it joins the adjacent pair whose higher member is
// lowest, the leftmost of equals, until one is left. Equal operands make
// a balanced tree; a deep operand is joined last, so a level of
// parentheses costs one level.
func balance(parts []operand, or bool) operand {
	for len(parts) > 1 {
		best := 0
		for i := 1; i+1 < len(parts); i++ {
			if max(parts[i].height, parts[i+1].height) < max(parts[best].height, parts[best+1].height) {
				best = i
			}
		}
		l, r := parts[best], parts[best+1]
		joined := operand{height: max(l.height, r.height) + 1}
		if or {
			joined.f = &domain.Or{Left: l.f, Right: r.f}
		} else {
			joined.f = &domain.And{Left: l.f, Right: r.f}
		}
		parts = slices.Replace(parts, best, best+2, joined)
	}
	return parts[0]
}

// userField resolves an attribute path of the User resource.
func userField(p filter.AttributePath) (domain.UserField, bool) {
	name := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		name += "." + strings.ToLower(*p.SubAttribute)
	}
	switch uri := p.URI(); {
	case uri == "" || strings.EqualFold(uri, SchemaUser):
		if f, ok := filterFields[name]; ok {
			return f, true
		}
		if uri == "" { // lenient: enterprise attributes without their URN
			f, ok := enterpriseFields[name]
			return f, ok
		}
	case strings.EqualFold(uri, SchemaEnterprise):
		f, ok := enterpriseFields[name]
		return f, ok
	}
	return "", false
}

func compare(e *filter.AttributeExpression) (domain.UserFilter, error) {
	field, ok := userField(e.AttributePath)
	if !ok {
		return nil, newErr(fault.Invalid, TypeInvalidFilter, "cannot filter on %q", clip(e.AttributePath.String()))
	}
	op := domain.FilterOp(strings.ToLower(string(e.Operator)))
	info := domain.UserFields[field]
	c := &domain.Compare{Field: field, Op: op}
	if op == domain.OpPr {
		return c, nil
	}
	bad := func(what string) error {
		return newErr(fault.Invalid, TypeInvalidFilter, "%s %s needs %s", field, op, what)
	}
	switch info.Kind {
	case domain.KindBool:
		if op != domain.OpEq && op != domain.OpNe {
			return nil, bad("eq, ne or pr")
		}
		b, ok := boolValue(e.CompareValue)
		if !ok {
			return nil, bad("true or false")
		}
		c.Value = b
	case domain.KindTime:
		s, ok := e.CompareValue.(string)
		if !ok || op == domain.OpCo || op == domain.OpSw || op == domain.OpEw {
			return nil, bad("an RFC 3339 date-time and eq, ne, gt, ge, lt, le or pr")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, bad("an RFC 3339 date-time")
		}
		return millisecondCompare(field, op, t), nil
	default:
		s, ok := e.CompareValue.(string)
		if !ok {
			return nil, bad("a string")
		}
		c.Value = s
	}
	return c, nil
}

// millisecondCompare compares a time at the millisecond, the precision
// SCIM shows times at: a provider that filters with the lastModified it was
// shown ("…05.123Z") must find the same users whatever finer precision a
// store keeps (nanoseconds in memory, microseconds in PostgreSQL,
// milliseconds in MongoDB). Each comparison becomes bounds on whole
// milliseconds, which hold the same at every finer precision.
func millisecondCompare(field domain.UserField, op domain.FilterOp, t time.Time) domain.UserFilter {
	t = t.Truncate(time.Millisecond)
	next := t.Add(time.Millisecond)
	at := func(op domain.FilterOp, v time.Time) *domain.Compare {
		return &domain.Compare{Field: field, Op: op, Value: v}
	}
	eq := &domain.And{Left: at(domain.OpGe, t), Right: at(domain.OpLt, next)}
	switch op {
	case domain.OpEq:
		return eq
	case domain.OpNe:
		return &domain.Not{X: eq}
	case domain.OpGt:
		return at(domain.OpGe, next)
	case domain.OpLe:
		return at(domain.OpLt, next)
	}
	return at(op, t) // ge, lt
}

// boolValue accepts JSON booleans and, as Entra ID sends them, the strings
// "true" and "false" in any case.
func boolValue(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// clip shortens request values echoed in messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
