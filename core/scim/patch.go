package scim

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// MaxOperations bounds one PATCH request.
const MaxOperations = 100

// PatchOp is one operation of a PATCH request (RFC 7644 section 3.5.2).
type PatchOp struct {
	Op    string // add, replace or remove, lower-cased
	Path  string // "" for a path-less add or replace
	Value any    // decoded JSON; numbers as json.Number
}

// ParsePatch reads a PatchOp request body. Operation names are accepted in
// any case, as Entra ID sends "Replace".
func ParsePatch(body []byte) ([]PatchOp, error) {
	var req struct {
		Schemas    []string
		Operations []struct {
			Op    string
			Path  string
			Value json.RawMessage
		}
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	if !containsFold(req.Schemas, SchemaPatchOp) {
		return nil, newErr(400, TypeInvalidSyntax, "schemas must include %s", SchemaPatchOp)
	}
	switch n := len(req.Operations); {
	case n == 0:
		return nil, newErr(400, TypeInvalidSyntax, "Operations must hold at least one operation")
	case n > MaxOperations:
		return nil, newErr(400, TypeInvalidSyntax, "a request holds at most %d operations", MaxOperations)
	}
	ops := make([]PatchOp, len(req.Operations))
	for i, o := range req.Operations {
		op := strings.ToLower(strings.TrimSpace(o.Op))
		switch op {
		case "add", "replace", "remove":
		default:
			return nil, newErr(400, TypeInvalidSyntax, "operation %d: op must be add, replace or remove", i+1)
		}
		path := strings.TrimSpace(o.Path)
		if path == "" && op == "remove" {
			return nil, newErr(400, TypeNoTarget, "operation %d: remove needs a path", i+1)
		}
		value, err := opValue(i, op, o.Value)
		if err != nil {
			return nil, err
		}
		if path == "" && op != "remove" {
			if _, ok := value.(map[string]any); !ok {
				return nil, newErr(400, TypeInvalidValue, "operation %d: without a path, value must be an object", i+1)
			}
		}
		if len(path) > MaxFilterLen {
			return nil, newErr(400, TypeInvalidPath, "operation %d: the path is too long", i+1)
		}
		ops[i] = PatchOp{Op: op, Path: path, Value: value}
	}
	return ops, nil
}

// opValue decodes an operation's value. RFC 7644 §3.5.2.1 and §3.5.2.3: add
// and replace carry a value. A null one is an unassigned value (RFC 7643
// §2.5): replacing with it clears the target, but there is nothing to add.
func opValue(i int, op string, raw json.RawMessage) (any, error) {
	null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	if op != "remove" && (len(raw) == 0 || null && op == "add") {
		return nil, newErr(400, TypeInvalidValue, "operation %d: %s needs a value", i+1, op)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	if err := decodeStrict(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeStrict decodes a JSON object with numbers kept as json.Number.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return newErr(400, TypeInvalidSyntax, "the body is not a valid JSON object of the expected shape")
	}
	if d.More() {
		return newErr(400, TypeInvalidSyntax, "the body holds more than one JSON value")
	}
	return nil
}

func containsFold(xs []string, x string) bool {
	for _, s := range xs {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}

// target is where a path points in a User.
type target struct {
	attr   string            // canonical lower-case attribute; "" if not kept
	sub    string            // lower-case sub-attribute, "" for the whole
	filter filter.Expression // value filter on a multi-valued attribute
	path   string            // as sent, for messages
	// unknown: the path names no attribute of the User schemas.
	unknown bool
}

// Attributes the client cannot write.
var readOnly = map[string]bool{"id": true, "meta": true, "groups": true, "schemas": true}

// resolvePath parses a PATCH path, or a path-less value's key, of a User.
// An attribute of the User schemas that this server does not keep
// resolves to attr "": its changes are accepted and ignored, as providers
// send whatever they map. A path outside the schemas is an invalidPath
// error, with unknown set.
func resolvePath(path string) (target, error) {
	t := target{path: path}
	if strings.EqualFold(path, SchemaEnterprise) {
		t.attr = "enterprise"
		return t, nil
	}
	p, err := parsePath(path)
	if err != nil {
		return t, newErr(400, TypeInvalidPath, "the path %q is not valid", clip(path))
	}
	name := strings.ToLower(p.AttributePath.AttributeName)
	t.sub = strings.ToLower(p.AttributePath.SubAttributeName())
	if p.SubAttribute != nil {
		if t.sub != "" {
			return t, newErr(400, TypeInvalidPath, "the path %q is not valid", clip(path))
		}
		t.sub = strings.ToLower(*p.SubAttribute)
	}
	t.filter = p.ValueExpression
	def, ok := userAttr(p.AttributePath.URI(), name)
	if !ok || t.sub != "" && !def.hasSub(t.sub) {
		t.unknown = true
		return t, newErr(400, TypeInvalidPath, "%q is not an attribute of the User schemas", clip(path))
	}
	if t.filter != nil && !def.multi {
		return t, newErr(400, TypeInvalidPath, "%s is not multi-valued; it takes no [filter]", clip(name))
	}
	if def.kept {
		t.attr = name
	}
	return t, nil
}

func parsePath(path string) (p filter.Path, err error) {
	defer func() {
		if recover() != nil {
			err = errSyntax
		}
	}()
	return filter.ParsePath([]byte(path))
}

// applyPatch runs PATCH operations on a copy of a and returns it; a is
// untouched if any operation fails. The operations see the emails the user
// is shown, stored or not, so that a value filter finds the one shown.
func applyPatch(a userAttrs, ops []PatchOp) (userAttrs, error) {
	a.OrgProfile = a.OrgProfile.Clone()
	a.materializeEmails()
	for _, o := range ops {
		if err := a.applyOp(o); err != nil {
			return userAttrs{}, err
		}
	}
	return a, nil
}

func (a *userAttrs) applyOp(o PatchOp) error {
	if o.Path != "" {
		t, err := resolvePath(o.Path)
		if err != nil {
			return err
		}
		if readOnly[t.attr] {
			return newErr(400, TypeMutability, "%s is read-only", t.attr)
		}
		return a.apply(o.Op, t, o.Value)
	}
	return a.applyObject(o.Op, o.Value.(map[string]any))
}

// applyObject applies a path-less value: each key is a path (Entra ID
// sends "name.givenName" and enterprise URN-prefixed keys).
func (a *userAttrs) applyObject(op string, v map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(v)) { // "name" before "name.givenName"
		val := v[k]
		t, err := resolvePath(k)
		if t.unknown {
			// Only an operation's path is refused when unknown: a body
			// (POST, PUT, a path-less value) may carry extensions this
			// server does not know.
			continue
		}
		if err != nil {
			return err
		}
		if readOnly[t.attr] {
			continue // the resource's own id, meta and schemas, echoed back
		}
		if err := a.apply(op, t, val); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one operation on one target.
func (a *userAttrs) apply(op string, t target, v any) error {
	remove := op == "remove"
	switch t.attr {
	case "":
		return nil
	case "username":
		if remove {
			return newErr(400, TypeMutability, "userName is required and cannot be removed")
		}
		a.userNameSent = true
		return setString(&a.UserName, "userName", v, false)
	case "displayname":
		return setString(&a.DisplayName, "displayName", v, remove)
	case "externalid":
		return setString(&a.ExternalID, "externalId", v, remove)
	case "employeenumber":
		return setString(&a.EmployeeNumber, "employeeNumber", v, remove)
	case "department":
		return setString(&a.Department, "department", v, remove)
	case "active":
		if remove {
			return newErr(400, TypeMutability, "active cannot be removed; set it to false")
		}
		b, ok := boolValue(v)
		if !ok {
			return badValue("active must be true or false")
		}
		a.Active = b
		return nil
	case "name":
		return a.applyName(t.sub, v, remove)
	case "manager":
		return a.applyManager(t.sub, v, remove)
	case "enterprise":
		if remove {
			a.EmployeeNumber, a.Department, a.ManagerID, a.ManagerName = "", "", "", ""
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return badValue("%s must be an object", SchemaEnterprise)
		}
		for k, val := range obj {
			name := strings.ToLower(k)
			if !enterpriseSchemaAttrs[name].kept {
				continue
			}
			if err := a.apply(op, target{attr: name, path: k}, val); err != nil {
				return err
			}
		}
		return nil
	case "emails":
		a.emailsSent = true
		return applyMulti(&a.Emails, "emails", op, t, v)
	case "phonenumbers":
		return applyMulti(&a.PhoneNumbers, "phoneNumbers", op, t, v)
	}
	return nil
}

func (a *userAttrs) applyName(sub string, v any, remove bool) error {
	switch sub {
	case "givenname":
		return setString(&a.GivenName, "name.givenName", v, remove)
	case "familyname":
		return setString(&a.FamilyName, "name.familyName", v, remove)
	case "":
		if remove || v == nil {
			a.GivenName, a.FamilyName = "", ""
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return badValue("name must be an object")
		}
		for k, val := range obj {
			if err := a.applyName(strings.ToLower(k), val, false); err != nil {
				return err
			}
		}
	}
	return nil // formatted, middleName, ...: not kept
}

func (a *userAttrs) applyManager(sub string, v any, remove bool) error {
	switch sub {
	case "value":
		return setString(&a.ManagerID, "manager.value", v, remove)
	case "displayname":
		return setString(&a.ManagerName, "manager.displayName", v, remove)
	case "":
		if remove || v == nil {
			a.ManagerID, a.ManagerName = "", ""
			return nil
		}
		switch v := v.(type) {
		case string: // Entra ID sends the manager's id alone
			a.ManagerID, a.ManagerName = strings.TrimSpace(v), ""
			return nil
		case map[string]any:
			for k, val := range v {
				if err := a.applyManager(strings.ToLower(k), val, false); err != nil {
					return err
				}
			}
			return nil
		}
		return badValue("manager must be an id or an object with a value")
	}
	return nil
}

// setString sets or clears a string attribute. null clears it.
func setString(dst *string, name string, v any, remove bool) error {
	if remove || v == nil {
		*dst = ""
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return badValue("%s must be a string", name)
	}
	*dst = strings.TrimSpace(s)
	return nil
}

// applyMulti runs an operation on emails or phoneNumbers.
func applyMulti(list *[]domain.MultiValue, name, op string, t target, v any) error {
	if t.filter == nil && t.sub == "" {
		if op == "remove" {
			*list = nil
			return nil
		}
		vs, err := parseValues(name, v)
		if err != nil {
			return err
		}
		if op == "replace" {
			*list = nil
		}
		for _, nv := range vs {
			*list = upsertValue(*list, nv)
		}
		return nil
	}
	var match []int
	for i, e := range *list {
		if t.filter == nil {
			match = append(match, i)
			continue
		}
		ok, err := evalValue(t.filter, e)
		if err != nil {
			return err
		}
		if ok {
			match = append(match, i)
		}
	}
	if op == "remove" {
		if t.sub == "" || t.sub == "value" {
			*list = removeAt(*list, match)
			return nil
		}
		for _, i := range match {
			if err := setSub(&(*list)[i], name, t.sub, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if len(match) == 0 {
		// Providers treat a filtered path as an upsert: replace
		// emails[type eq "work"].value when there is no work email yet.
		seed, ok := seedFrom(t.filter)
		if !ok {
			return newErr(400, TypeNoTarget, "no value of %s matches %q", name, clip(t.path))
		}
		*list = append(*list, seed)
		match = []int{len(*list) - 1}
	}
	for _, i := range match {
		if t.sub == "" {
			vs, err := parseValues(name, v)
			if err != nil {
				return err
			}
			if len(vs) != 1 {
				return badValue("%s: a filtered path takes one value", name)
			}
			nv := vs[0]
			if nv.Type == "" {
				nv.Type = (*list)[i].Type
			}
			(*list)[i] = nv
		} else if err := setSub(&(*list)[i], name, t.sub, v); err != nil {
			return err
		}
		if (*list)[i].Primary {
			onlyPrimary(*list, i)
		}
	}
	return nil
}

func removeAt(vs []domain.MultiValue, idx []int) []domain.MultiValue {
	out := vs[:0:0]
	for i, v := range vs {
		drop := false
		for _, j := range idx {
			drop = drop || i == j
		}
		if !drop {
			out = append(out, v)
		}
	}
	return out
}

func onlyPrimary(vs []domain.MultiValue, keep int) {
	for j := range vs {
		if j != keep {
			vs[j].Primary = false
		}
	}
}

// upsertValue adds a value, replacing one with the same value and type; a
// new primary value takes primary from the rest.
func upsertValue(vs []domain.MultiValue, nv domain.MultiValue) []domain.MultiValue {
	i := -1
	for j, v := range vs {
		if strings.EqualFold(v.Value, nv.Value) && strings.EqualFold(v.Type, nv.Type) {
			i = j
		}
	}
	if i < 0 {
		vs = append(vs, nv)
		i = len(vs) - 1
	} else {
		vs[i] = nv
	}
	if nv.Primary {
		onlyPrimary(vs, i)
	}
	return vs
}

// setSub sets one sub-attribute of a value; nil clears it.
func setSub(e *domain.MultiValue, name, sub string, v any) error {
	switch sub {
	case "value":
		return setString(&e.Value, name+".value", v, false)
	case "type":
		return setString(&e.Type, name+".type", v, false)
	case "primary":
		if v == nil {
			e.Primary = false
			return nil
		}
		b, ok := boolValue(v)
		if !ok {
			return badValue("%s.primary must be true or false", name)
		}
		e.Primary = b
	}
	return nil // display: not kept
}

// parseValues reads one value object or an array of them.
func parseValues(name string, v any) ([]domain.MultiValue, error) {
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case map[string]any:
		items = []any{v}
	case nil:
		return nil, nil
	default:
		return nil, badValue("%s must be an array of objects", name)
	}
	if len(items) > maxValues {
		return nil, badValue("%s holds at most %d values", name, maxValues)
	}
	out := make([]domain.MultiValue, 0, len(items))
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, badValue("%s must be an array of objects", name)
		}
		var mv domain.MultiValue
		for k, val := range obj {
			if err := setSub(&mv, name, strings.ToLower(k), val); err != nil {
				return nil, err
			}
		}
		if mv.Value == "" {
			return nil, badValue("every entry of %s needs a value", name)
		}
		out = append(out, mv)
	}
	return out, nil
}

// seedFrom makes the value a filter like type eq "work" describes, to
// create when no value matches; ok is false for any other filter.
func seedFrom(f filter.Expression) (domain.MultiValue, bool) {
	var mv domain.MultiValue
	var walk func(filter.Expression) bool
	walk = func(e filter.Expression) bool {
		switch e := e.(type) {
		case *filter.LogicalExpression:
			return e.Operator == filter.AND && walk(e.Left) && walk(e.Right)
		case *filter.AttributeExpression:
			if e.Operator != filter.EQ {
				return false
			}
			return setSub(&mv, "", strings.ToLower(e.AttributePath.AttributeName), e.CompareValue) == nil
		}
		return false
	}
	return mv, walk(f)
}

// evalValue evaluates a value filter ([type eq "work"]) on one value. This
// runs on one resource already loaded, never as a search.
func evalValue(f filter.Expression, e domain.MultiValue) (bool, error) {
	switch f := f.(type) {
	case *filter.LogicalExpression:
		l, err := evalValue(f.Left, e)
		if err != nil {
			return false, err
		}
		r, err := evalValue(f.Right, e)
		if err != nil {
			return false, err
		}
		if f.Operator == filter.OR {
			return l || r, nil
		}
		return l && r, nil
	case *filter.NotExpression:
		x, err := evalValue(f.Expression, e)
		return !x, err
	case *filter.AttributeExpression:
		return evalCompare(f, e)
	}
	return false, newErr(400, TypeInvalidFilter, "unsupported value filter")
}

func evalCompare(f *filter.AttributeExpression, e domain.MultiValue) (bool, error) {
	op := filter.CompareOperator(strings.ToLower(string(f.Operator)))
	switch strings.ToLower(f.AttributePath.AttributeName) {
	case "primary":
		if op == filter.PR {
			return true, nil
		}
		b, ok := boolValue(f.CompareValue)
		if !ok || (op != filter.EQ && op != filter.NE) {
			return false, newErr(400, TypeInvalidFilter, "primary compares with eq or ne and a boolean")
		}
		return (e.Primary == b) == (op == filter.EQ), nil
	case "value":
		return compareString(op, e.Value, f.CompareValue)
	case "type":
		return compareString(op, e.Type, f.CompareValue)
	case "display":
		return compareString(op, "", f.CompareValue)
	}
	return false, newErr(400, TypeInvalidFilter, "cannot filter values on %q", clip(f.AttributePath.AttributeName))
}

// compareString is a case-insensitive comparison, as emails and phone
// numbers are (RFC 7643 caseExact false).
func compareString(op filter.CompareOperator, have string, want any) (bool, error) {
	if op == filter.PR {
		return have != "", nil
	}
	w, ok := want.(string)
	if !ok {
		return false, newErr(400, TypeInvalidFilter, "%s needs a string", op)
	}
	h, w := strings.ToLower(have), strings.ToLower(w)
	switch op {
	case filter.EQ:
		return h == w, nil
	case filter.NE:
		return h != w, nil
	case filter.CO:
		return strings.Contains(h, w), nil
	case filter.SW:
		return strings.HasPrefix(h, w), nil
	case filter.EW:
		return strings.HasSuffix(h, w), nil
	case filter.GT:
		return h > w, nil
	case filter.GE:
		return h >= w, nil
	case filter.LT:
		return h < w, nil
	case filter.LE:
		return h <= w, nil
	}
	return false, newErr(400, TypeInvalidFilter, "unknown operator %q", clip(string(op)))
}
