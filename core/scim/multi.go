package scim

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// listKind describes one multi-valued attribute (emails, addresses, ...):
// how its entries are read and written, so that PATCH, PUT and checks
// treat every such attribute alike.
type listKind[T any] struct {
	name string // as SCIM spells it, for messages
	// key is the sub-attribute an entry cannot be without ("value"), or ""
	// when any one will do (addresses). Removing it removes the entry.
	key string
	// set sets a lower-case sub-attribute; nil clears it. Sub-attributes
	// this server does not keep ($ref) are ignored.
	set func(e *T, sub string, v any) error
	// get reads a sub-attribute for a value filter: a string, or a bool
	// for primary; false if there is no such sub-attribute.
	get     func(e T, sub string) (any, bool)
	primary func(e *T) *bool
	// texts lists the entry's string sub-attributes, for checks.
	texts func(e T) []string
	// same reports whether two entries are one, for add's upsert.
	same func(a, b T) bool
}

// multiValue is the kind of the attributes of RFC 7643 §2.4's shape.
func multiValue(name string) listKind[domain.MultiValue] {
	return listKind[domain.MultiValue]{
		name: name, key: "value",
		set: func(e *domain.MultiValue, sub string, v any) error {
			switch sub {
			case "value":
				return setString(&e.Value, name+".value", v, false)
			case "display":
				return setString(&e.Display, name+".display", v, false)
			case "type":
				return setString(&e.Type, name+".type", v, false)
			case "primary":
				return setBool(&e.Primary, name+".primary", v)
			}
			return nil
		},
		get: func(e domain.MultiValue, sub string) (any, bool) {
			switch sub {
			case "value":
				return e.Value, true
			case "display":
				return e.Display, true
			case "type":
				return e.Type, true
			case "primary":
				return e.Primary, true
			}
			return nil, false
		},
		primary: func(e *domain.MultiValue) *bool { return &e.Primary },
		texts:   func(e domain.MultiValue) []string { return []string{e.Value, e.Display, e.Type} },
		same: func(a, b domain.MultiValue) bool {
			return strings.EqualFold(a.Value, b.Value) && strings.EqualFold(a.Type, b.Type)
		},
	}
}

// addressKind is addresses (RFC 7643 §4.1.2): one entry per type.
var addressKind = listKind[domain.Address]{
	name: "addresses",
	set: func(e *domain.Address, sub string, v any) error {
		if sub == "primary" {
			return setBool(&e.Primary, "addresses.primary", v)
		}
		if f := addressField(e, sub); f != nil {
			return setString(f, "addresses."+sub, v, false)
		}
		return nil
	},
	get: func(e domain.Address, sub string) (any, bool) {
		if sub == "primary" {
			return e.Primary, true
		}
		if f := addressField(&e, sub); f != nil {
			return *f, true
		}
		return nil, false
	},
	primary: func(e *domain.Address) *bool { return &e.Primary },
	texts: func(e domain.Address) []string {
		// The formatted address may span lines (RFC 7643 §4.1.2); no other
		// control character is printable.
		lines := strings.NewReplacer("\r\n", " ", "\n", " ").Replace(e.Formatted)
		return []string{lines, e.StreetAddress, e.Locality, e.Region, e.PostalCode, e.Country, e.Type}
	},
	same: func(a, b domain.Address) bool { return strings.EqualFold(a.Type, b.Type) },
}

func addressField(e *domain.Address, sub string) *string {
	switch sub {
	case "formatted":
		return &e.Formatted
	case "streetaddress":
		return &e.StreetAddress
	case "locality":
		return &e.Locality
	case "region":
		return &e.Region
	case "postalcode":
		return &e.PostalCode
	case "country":
		return &e.Country
	case "type":
		return &e.Type
	}
	return nil
}

// empty reports whether an entry holds nothing worth keeping.
func (k listKind[T]) empty(e T) bool {
	if k.key != "" {
		v, _ := k.get(e, k.key)
		return v == ""
	}
	ts := k.texts(e)
	for _, t := range ts[:len(ts)-1] { // the type, last, alone is not an address
		if t != "" {
			return false
		}
	}
	return true
}

// check validates a whole list.
func (k listKind[T]) check(list []T) error {
	if len(list) > maxValues {
		return badValue("%s holds at most %d values", k.name, maxValues)
	}
	primaries := 0
	for _, e := range list {
		if k.empty(e) {
			return badValue("every entry of %s needs a value", k.name)
		}
		for _, t := range k.texts(e) {
			if err := checkTextLen(k.name, t, limitOf(k.name)); err != nil {
				return err
			}
		}
		if *k.primary(&e) {
			primaries++
		}
	}
	if primaries > 1 {
		return badValue("at most one of %s may be primary", k.name)
	}
	return nil
}

// apply runs one PATCH operation (or a PUT's replace) on the list.
func (k listKind[T]) apply(list *[]T, op string, t target, v any) error {
	if t.filter == nil && t.sub == "" {
		return k.applyWhole(list, op, v)
	}
	match, err := k.matching(*list, t.filter)
	if err != nil {
		return err
	}
	if op == "remove" {
		return k.removeMatched(list, t, match)
	}
	return k.setMatched(list, t, v, match)
}

// applyWhole runs an operation whose path is the whole attribute: remove
// clears the list, replace swaps it, add merges into it.
func (k listKind[T]) applyWhole(list *[]T, op string, v any) error {
	if op == "remove" {
		*list = nil
		return nil
	}
	vs, err := k.parse(v)
	if err != nil {
		return err
	}
	if op == "replace" {
		*list = nil
	}
	for _, nv := range vs {
		*list = k.upsert(*list, nv)
	}
	return nil
}

// matching returns the indexes of the entries a value filter selects: every
// entry when there is no filter.
func (k listKind[T]) matching(list []T, f filter.Expression) ([]int, error) {
	if f != nil {
		// Checked on an empty entry first, so a bad filter is refused
		// whether or not the list has entries.
		var zero T
		if _, err := k.eval(f, zero); err != nil {
			return nil, err
		}
	}
	var match []int
	for i, e := range list {
		if f == nil {
			match = append(match, i)
			continue
		}
		ok, err := k.eval(f, e)
		if err != nil {
			return nil, err
		}
		if ok {
			match = append(match, i)
		}
	}
	return match, nil
}

// removeMatched removes the matched entries, or only the target's
// sub-attribute from each, dropping an entry left empty.
func (k listKind[T]) removeMatched(list *[]T, t target, match []int) error {
	if t.sub == "" || t.sub == k.key {
		*list = removeAt(*list, match)
		return nil
	}
	for _, i := range match {
		if err := k.set(&(*list)[i], t.sub, nil); err != nil {
			return err
		}
	}
	*list = k.dropEmpty(*list)
	return nil
}

// setMatched writes v over each matched entry, or over its target
// sub-attribute; add and replace do the same here. A filter that matches
// nothing seeds the entry it describes.
func (k listKind[T]) setMatched(list *[]T, t target, v any, match []int) error {
	if len(match) == 0 {
		// Providers treat a filtered path as an upsert: replace
		// emails[type eq "work"].value when there is no work email yet.
		seed, ok := k.seed(t.filter)
		if !ok {
			return newErr(fault.Invalid, TypeNoTarget, "no value of %s matches %q", k.name, clip(t.path))
		}
		*list = append(*list, seed)
		match = []int{len(*list) - 1}
	}
	for _, i := range match {
		e := &(*list)[i]
		if t.sub == "" {
			vs, err := k.parse(v)
			if err != nil {
				return err
			}
			if len(vs) != 1 {
				return badValue("%s: a filtered path takes one value", k.name)
			}
			nv := vs[0]
			if typ, _ := k.get(nv, "type"); typ == "" {
				old, _ := k.get(*e, "type")
				_ = k.set(&nv, "type", old)
			}
			*e = nv
		} else if err := k.set(e, t.sub, v); err != nil {
			return err
		}
		if *k.primary(e) {
			k.onlyPrimary(*list, i)
		}
	}
	*list = k.dropEmpty(*list)
	return nil
}

// dropEmpty removes the entries an operation emptied (an address whose
// last field was removed).
func (k listKind[T]) dropEmpty(list []T) []T {
	out := list[:0]
	for _, e := range list {
		if !k.empty(e) {
			out = append(out, e)
		}
	}
	return out
}

func removeAt[T any](vs []T, idx []int) []T {
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

func (k listKind[T]) onlyPrimary(vs []T, keep int) {
	for j := range vs {
		if j != keep {
			*k.primary(&vs[j]) = false
		}
	}
}

// upsert adds an entry, replacing the same one; a new primary entry takes
// primary from the rest.
func (k listKind[T]) upsert(vs []T, nv T) []T {
	i := -1
	for j, v := range vs {
		if k.same(v, nv) {
			i = j
		}
	}
	if i < 0 {
		vs = append(vs, nv)
		i = len(vs) - 1
	} else {
		vs[i] = nv
	}
	if *k.primary(&nv) {
		k.onlyPrimary(vs, i)
	}
	return vs
}

// parse reads one entry object or an array of them.
func (k listKind[T]) parse(v any) ([]T, error) {
	var items []any
	switch v := v.(type) {
	case []any:
		items = v
	case map[string]any:
		items = []any{v}
	case nil:
		return nil, nil
	default:
		return nil, badValue("%s must be an array of objects", k.name)
	}
	if len(items) > maxValues {
		return nil, badValue("%s holds at most %d values", k.name, maxValues)
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, badValue("%s must be an array of objects", k.name)
		}
		var e T
		for key, val := range obj {
			if err := k.set(&e, strings.ToLower(key), val); err != nil {
				return nil, err
			}
		}
		if k.empty(e) {
			return nil, badValue("every entry of %s needs a value", k.name)
		}
		out = append(out, e)
	}
	return out, nil
}

// seed makes the entry a filter like type eq "work" describes, to create
// when none matches; false for any other filter.
func (k listKind[T]) seed(f filter.Expression) (T, bool) {
	var e T
	var walk func(filter.Expression) bool
	walk = func(x filter.Expression) bool {
		switch x := x.(type) {
		case *filter.LogicalExpression:
			return x.Operator == filter.AND && walk(x.Left) && walk(x.Right)
		case *filter.AttributeExpression:
			sub := strings.ToLower(x.AttributePath.AttributeName)
			if _, ok := k.get(e, sub); !ok || x.Operator != filter.EQ {
				return false
			}
			return k.set(&e, sub, x.CompareValue) == nil
		}
		return false
	}
	return e, walk(f)
}

// eval evaluates a value filter ([type eq "work"]) on one entry. This runs
// on one resource already loaded, never as a search.
func (k listKind[T]) eval(f filter.Expression, e T) (bool, error) {
	return evalFilter(f, func(f *filter.AttributeExpression) (bool, error) {
		op := filter.CompareOperator(strings.ToLower(string(f.Operator)))
		sub := strings.ToLower(f.AttributePath.AttributeName)
		have, ok := k.get(e, sub)
		if !ok {
			return false, newErr(fault.Invalid, TypeInvalidFilter, "cannot filter %s on %q", k.name, clip(f.AttributePath.AttributeName))
		}
		if b, isBool := have.(bool); isBool {
			if op == filter.PR {
				return true, nil
			}
			want, ok := boolValue(f.CompareValue)
			if !ok || (op != filter.EQ && op != filter.NE) {
				return false, newErr(fault.Invalid, TypeInvalidFilter, "%s compares with eq or ne and a boolean", sub)
			}
			return (b == want) == (op == filter.EQ), nil
		}
		return compareString(op, have.(string), f.CompareValue)
	})
}

// evalFilter evaluates a filter's and, or and not over its comparisons,
// which leaf evaluates.
func evalFilter(f filter.Expression, leaf func(*filter.AttributeExpression) (bool, error)) (bool, error) {
	switch f := f.(type) {
	case *filter.LogicalExpression:
		l, err := evalFilter(f.Left, leaf)
		if err != nil {
			return false, err
		}
		r, err := evalFilter(f.Right, leaf)
		if err != nil {
			return false, err
		}
		if f.Operator == filter.OR {
			return l || r, nil
		}
		return l && r, nil
	case *filter.NotExpression:
		x, err := evalFilter(f.Expression, leaf)
		return !x, err
	case *filter.AttributeExpression:
		return leaf(f)
	}
	return false, newErr(fault.Invalid, TypeInvalidFilter, "unsupported filter")
}

// setBool sets or clears a boolean sub-attribute; null clears it.
func setBool(dst *bool, name string, v any) error {
	if v == nil {
		*dst = false
		return nil
	}
	b, ok := boolValue(v)
	if !ok {
		return badValue("%s must be true or false", name)
	}
	*dst = b
	return nil
}

// evalValue evaluates a value filter on one value of RFC 7643 §2.4's shape.
func evalValue(f filter.Expression, e domain.MultiValue) (bool, error) {
	return multiValue("value").eval(f, e)
}
