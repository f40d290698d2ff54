package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
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
		return nil, newErr(fault.Invalid, TypeInvalidSyntax, "schemas must include %s", SchemaPatchOp)
	}
	switch n := len(req.Operations); {
	case n == 0:
		return nil, newErr(fault.Invalid, TypeInvalidSyntax, "Operations must hold at least one operation")
	case n > MaxOperations:
		return nil, newErr(fault.Invalid, TypeInvalidSyntax, "a request holds at most %d operations", MaxOperations)
	}
	ops := make([]PatchOp, len(req.Operations))
	for i, o := range req.Operations {
		op := strings.ToLower(strings.TrimSpace(o.Op))
		switch op {
		case "add", "replace", "remove":
		default:
			return nil, newErr(fault.Invalid, TypeInvalidSyntax, "operation %d: op must be add, replace or remove", i+1)
		}
		path := strings.TrimSpace(o.Path)
		if path == "" && op == "remove" {
			return nil, newErr(fault.Invalid, TypeNoTarget, "operation %d: remove needs a path", i+1)
		}
		value, err := opValue(i, op, o.Value)
		if err != nil {
			return nil, err
		}
		if path == "" && op != "remove" {
			if _, ok := value.(map[string]any); !ok {
				return nil, newErr(fault.Invalid, TypeInvalidValue, "operation %d: without a path, value must be an object", i+1)
			}
		}
		if len(path) > MaxFilterLen {
			return nil, newErr(fault.Invalid, TypeInvalidPath, "operation %d: the path is too long", i+1)
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
		return nil, newErr(fault.Invalid, TypeInvalidValue, "operation %d: %s needs a value", i+1, op)
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
		return newErr(fault.Invalid, TypeInvalidSyntax, "the body is not a valid JSON object of the expected shape")
	}
	if d.More() {
		return newErr(fault.Invalid, TypeInvalidSyntax, "the body holds more than one JSON value")
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
		return t, newErr(fault.Invalid, TypeInvalidPath, "the path %q is not valid", clip(path))
	}
	name := strings.ToLower(p.AttributePath.AttributeName)
	t.sub = strings.ToLower(p.AttributePath.SubAttributeName())
	if p.SubAttribute != nil {
		if t.sub != "" {
			return t, newErr(fault.Invalid, TypeInvalidPath, "the path %q is not valid", clip(path))
		}
		t.sub = strings.ToLower(*p.SubAttribute)
	}
	t.filter = p.ValueExpression
	def, ok := userAttr(p.AttributePath.URI(), name)
	if !ok || t.sub != "" && !def.hasSub(t.sub) {
		t.unknown = true
		return t, newErr(fault.Invalid, TypeInvalidPath, "%q is not an attribute of the User schemas", clip(path))
	}
	if t.filter != nil && !def.multi {
		return t, newErr(fault.Invalid, TypeInvalidPath, "%s is not multi-valued; it takes no [filter]", clip(name))
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
			return newErr(fault.Invalid, TypeMutability, "%s is read-only", t.attr)
		}
		return a.apply(o.Op, t, o.Value)
	}
	return a.applyObject(o.Op, o.Value.(map[string]any))
}

// applyObject applies a path-less value: each key is a path (Entra ID
// sends "name.givenName" and enterprise URN-prefixed keys).
func (a *userAttrs) applyObject(op string, v map[string]any) error {
	if err := oneSpellingEach(v); err != nil {
		return err
	}
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
			return newErr(fault.Invalid, TypeMutability, "userName is required and cannot be removed")
		}
		return setString(&a.UserName, "userName", v, false)
	case "active":
		if remove {
			return newErr(fault.Invalid, TypeMutability, "active cannot be removed; set it to false")
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
			p := &a.OrgProfile
			p.EmployeeNumber, p.Department, p.ManagerID, p.ManagerName = "", "", "", ""
			p.CostCenter, p.Organization, p.Division = "", "", ""
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
	case "addresses":
		return addressKind.apply(&a.Addresses, op, t, v)
	}
	if dst, name, ok := a.stringAttr(t.attr); ok {
		return setString(dst, name, v, remove)
	}
	if list, name, ok := a.valueList(t.attr); ok {
		return multiValue(name).apply(list, op, t, v)
	}
	return nil
}

// stringAttr is the simple string attribute of a lower-case name, with
// its SCIM spelling.
func (a *userAttrs) stringAttr(name string) (*string, string, bool) {
	p := &a.OrgProfile
	m := map[string]struct {
		dst  *string
		name string
	}{
		"displayname": {&p.DisplayName, "displayName"}, "externalid": {&p.ExternalID, "externalId"},
		"nickname": {&p.NickName, "nickName"}, "profileurl": {&p.ProfileURL, "profileUrl"},
		"title": {&p.Title, "title"}, "usertype": {&p.UserType, "userType"},
		"preferredlanguage": {&p.PreferredLanguage, "preferredLanguage"},
		"locale":            {&p.Locale, "locale"}, "timezone": {&p.Timezone, "timezone"},
		"employeenumber": {&p.EmployeeNumber, "employeeNumber"}, "department": {&p.Department, "department"},
		"costcenter": {&p.CostCenter, "costCenter"}, "organization": {&p.Organization, "organization"},
		"division": {&p.Division, "division"},
	}
	f, ok := m[name]
	return f.dst, f.name, ok
}

// valueList is the multi-valued attribute of RFC 7643 §2.4's shape of a
// lower-case name, with its SCIM spelling.
func (a *userAttrs) valueList(name string) (*[]domain.MultiValue, string, bool) {
	p := &a.OrgProfile
	switch name {
	case "emails":
		return &p.Emails, "emails", true
	case "phonenumbers":
		return &p.PhoneNumbers, "phoneNumbers", true
	case "ims":
		return &p.Ims, "ims", true
	case "photos":
		return &p.Photos, "photos", true
	case "entitlements":
		return &p.Entitlements, "entitlements", true
	case "roles":
		return &p.Roles, "roles", true
	case "x509certificates":
		return &p.X509Certificates, "x509Certificates", true
	}
	return nil, "", false
}

func (a *userAttrs) applyName(sub string, v any, remove bool) error {
	p := &a.OrgProfile
	switch sub {
	case "givenname":
		return setString(&a.GivenName, "name.givenName", v, remove)
	case "familyname":
		return setString(&a.FamilyName, "name.familyName", v, remove)
	case "formatted":
		return setString(&p.FormattedName, "name.formatted", v, remove)
	case "middlename":
		return setString(&p.MiddleName, "name.middleName", v, remove)
	case "honorificprefix":
		return setString(&p.HonorificPrefix, "name.honorificPrefix", v, remove)
	case "honorificsuffix":
		return setString(&p.HonorificSuffix, "name.honorificSuffix", v, remove)
	case "":
		if remove || v == nil {
			a.GivenName, a.FamilyName = "", ""
			p.FormattedName, p.MiddleName, p.HonorificPrefix, p.HonorificSuffix = "", "", "", ""
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
	return nil
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

// compareString is a case-insensitive comparison, as emails and phone
// numbers are (RFC 7643 caseExact false).
func compareString(op filter.CompareOperator, have string, want any) (bool, error) {
	return compareText(op, have, want, true)
}

// compareExact is a case-exact comparison, as id and externalId are.
func compareExact(op filter.CompareOperator, have string, want any) (bool, error) {
	return compareText(op, have, want, false)
}

func compareText(op filter.CompareOperator, have string, want any, fold bool) (bool, error) {
	if op == filter.PR {
		return have != "", nil
	}
	w, ok := want.(string)
	if !ok {
		return false, newErr(fault.Invalid, TypeInvalidFilter, "%s needs a string", op)
	}
	h := have
	if fold {
		h, w = strings.ToLower(have), strings.ToLower(w)
	}
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
	return false, newErr(fault.Invalid, TypeInvalidFilter, "unknown operator %q", clip(string(op)))
}

// oneSpellingEach refuses an object that sets one attribute twice under
// different spellings: "nickName" and its URN-qualified name, "name" and
// "name.givenName", the enterprise extension's object and one of its
// attributes by URN. Which one won would depend on the order the keys are
// applied in, and a gateway reading the body could take the other, as with
// a duplicate key (which the HTTP adapter refuses before this).
func oneSpellingEach(v map[string]any) error {
	type spelled struct {
		t   target
		key string
	}
	var seen []spelled
	add := func(key string) error {
		t, err := resolvePath(key)
		if err != nil || t.unknown || readOnly[t.attr] {
			return nil // applyObject reports or skips these
		}
		for _, o := range seen {
			// The whole attribute overlaps every part of it; a sub-attribute
			// of every value overlaps that of the values a filter picks; one
			// filter, however spelled, picks the same values.
			whole := t.sub == "" && t.filter == nil || o.t.sub == "" && o.t.filter == nil
			same := t.sub == o.t.sub && (t.filter == nil || o.t.filter == nil || filterKey(t.filter) == filterKey(o.t.filter))
			if o.t.attr == t.attr && (whole || same) {
				return newErr(fault.Invalid, TypeInvalidSyntax, "%q and %q set the same attribute; send it once", clip(o.key), clip(key))
			}
		}
		seen = append(seen, spelled{t, key})
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		t, err := resolvePath(k)
		if err == nil && t.attr == "enterprise" && t.sub == "" {
			// The extension's object stands for each attribute it holds.
			inner, _ := v[k].(map[string]any)
			for _, ik := range slices.Sorted(maps.Keys(inner)) {
				if err := add(SchemaEnterprise + ":" + ik); err != nil {
					return err
				}
			}
			continue
		}
		if err := add(k); err != nil {
			return err
		}
	}
	return nil
}

// filterKey is a value filter in one spelling: rendered from its syntax
// tree (so spacing does not count) and lower-cased (attribute names and
// the values SCIM compares here are case-insensitive).
func filterKey(f filter.Expression) string { return strings.ToLower(fmt.Sprint(f)) }
