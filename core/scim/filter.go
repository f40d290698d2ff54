package scim

import (
	"strings"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
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
// query.
const (
	MaxFilterLen   = 2048
	maxFilterNodes = 64
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
		return nil, newErr(400, TypeInvalidFilter, "the filter is longer than %d characters", MaxFilterLen)
	}
	if !utf8.ValidString(raw) || strings.ContainsRune(raw, 0) {
		return nil, newErr(400, TypeInvalidFilter, "the filter must be UTF-8 text without NUL characters")
	}
	expr, err := parseExpr(raw)
	if err != nil {
		return nil, newErr(400, TypeInvalidFilter, "the filter is not valid SCIM filter syntax")
	}
	n := 0
	return convert(expr, &n, 0)
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

var errSyntax = newErr(400, TypeInvalidFilter, "the filter is not valid SCIM filter syntax")

// convert translates a parsed filter. Every store accepts a filter of
// maxFilterNodes terms nested maxFilterDepth deep (testsuite.RunSCIMStore
// checks it); larger ones are refused here, as invalidFilter.
func convert(e filter.Expression, n *int, depth int) (domain.UserFilter, error) {
	if *n++; *n > maxFilterNodes {
		return nil, newErr(400, TypeInvalidFilter, "the filter has more than %d terms", maxFilterNodes)
	}
	if depth > maxFilterDepth {
		return nil, newErr(400, TypeInvalidFilter, "the filter nests deeper than %d levels", maxFilterDepth)
	}
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := convert(e.Left, n, depth+1)
		if err != nil {
			return nil, err
		}
		r, err := convert(e.Right, n, depth+1)
		if err != nil {
			return nil, err
		}
		if e.Operator == filter.OR {
			return &domain.Or{Left: l, Right: r}, nil
		}
		return &domain.And{Left: l, Right: r}, nil
	case *filter.NotExpression:
		x, err := convert(e.Expression, n, depth+1)
		if err != nil {
			return nil, err
		}
		return &domain.Not{X: x}, nil
	case *filter.AttributeExpression:
		return compare(e)
	case *filter.ValuePath:
		return nil, newErr(400, TypeInvalidFilter, "value filters such as %s[...] are not supported in searches; compare %s.value or %s.type instead",
			e.AttributePath.AttributeName, e.AttributePath.AttributeName, e.AttributePath.AttributeName)
	}
	return nil, errSyntax
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
		return nil, newErr(400, TypeInvalidFilter, "cannot filter on %q", clip(e.AttributePath.String()))
	}
	op := domain.FilterOp(strings.ToLower(string(e.Operator)))
	info := domain.UserFields[field]
	c := &domain.Compare{Field: field, Op: op}
	if op == domain.OpPr {
		return c, nil
	}
	bad := func(what string) error {
		return newErr(400, TypeInvalidFilter, "%s %s needs %s", field, op, what)
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
