package scim

import (
	"strings"
)

// Projection is the attributes and excludedAttributes parameters (RFC 7644
// section 3.4.2.5), which apply to every answer that holds resources: reads,
// lists, and the resources POST, PUT and PATCH return (§3.9). id and
// schemas are always returned.
type Projection struct {
	include, exclude []attrRef
}

// attrRef is an attribute named in a parameter: the top-level key of the
// representation (the extension URN for enterprise attributes) and an
// optional sub-attribute, both lower-case.
type attrRef struct{ key, sub string }

const maxProjected = 50

// ParseProjection reads the two parameters; a bad one is a 400.
func ParseProjection(attributes, excluded string) (Projection, error) {
	var p Projection
	var err error
	if p.include, err = parseRefs("attributes", attributes); err != nil {
		return p, err
	}
	if p.exclude, err = parseRefs("excludedAttributes", excluded); err != nil {
		return p, err
	}
	return p, nil
}

func parseRefs(param, s string) ([]attrRef, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxProjected || len(s) > MaxFilterLen {
		return nil, badValue("%s names at most %d attributes", param, maxProjected)
	}
	var out []attrRef
	for _, part := range parts {
		path := strings.ToLower(strings.TrimSpace(part))
		if path == "" {
			continue
		}
		var r attrRef
		switch lu, le := strings.ToLower(SchemaUser)+":", strings.ToLower(SchemaEnterprise); {
		case path == le:
			r.key = le
		case strings.HasPrefix(path, le+":"):
			r.key, r.sub = le, strings.TrimPrefix(path, le+":")
		default:
			path = strings.TrimPrefix(path, lu)
			r.key, r.sub, _ = strings.Cut(path, ".")
		}
		out = append(out, r)
	}
	return out, nil
}

// Apply prunes a rendered resource in place and returns it.
func (p Projection) Apply(r map[string]any) map[string]any {
	if len(p.include) > 0 {
		for k, v := range r {
			lk := strings.ToLower(k)
			if lk == "id" || lk == "schemas" {
				continue
			}
			var subs []string
			whole := false
			for _, ref := range p.include {
				if ref.key == lk {
					if ref.sub == "" {
						whole = true
					} else {
						subs = append(subs, ref.sub)
					}
				}
			}
			switch {
			case whole:
			case len(subs) > 0:
				r[k] = keepSubs(v, subs)
			default:
				delete(r, k)
			}
		}
	}
	for _, ref := range p.exclude {
		for k, v := range r {
			lk := strings.ToLower(k)
			if lk != ref.key || lk == "id" || lk == "schemas" {
				continue
			}
			if ref.sub == "" {
				delete(r, k)
			} else {
				dropSub(v, ref.sub)
			}
		}
	}
	return r
}

// keepSubs keeps only the named sub-attributes of an object, or of each
// object of a multi-valued attribute.
func keepSubs(v any, subs []string) any {
	keep := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, x := range m {
			for _, s := range subs {
				if strings.EqualFold(k, s) || strings.HasPrefix(s, strings.ToLower(k)+".") {
					out[k] = x
				}
			}
		}
		return out
	}
	switch v := v.(type) {
	case map[string]any:
		return keep(v)
	case []map[string]any:
		out := make([]map[string]any, len(v))
		for i, m := range v {
			out[i] = keep(m)
		}
		return out
	}
	return v
}

func dropSub(v any, sub string) {
	drop := func(m map[string]any) {
		for k := range m {
			if strings.EqualFold(k, sub) {
				delete(m, k)
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		drop(v)
	case []map[string]any:
		for _, m := range v {
			drop(m)
		}
	}
}
