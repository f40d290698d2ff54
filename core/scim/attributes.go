package scim

import (
	"slices"
	"strings"
)

// attrDef is an attribute of the User schemas, as RFC 7643 defines it.
type attrDef struct {
	subs  []string // lower-case sub-attributes; none for a simple attribute
	multi bool
	// kept: this server stores (or shows) the attribute. Changes to the
	// others are accepted and ignored, as providers send whatever they map.
	kept bool
}

// RFC 7643 §2.4: the sub-attributes of a multi-valued attribute.
var multiValueSubs = []string{"value", "display", "type", "primary", "$ref"}

// userSchemaAttrs is the core User schema (RFC 7643 §4.1) and the common
// attributes (§3.1), lower-cased.
var userSchemaAttrs = map[string]attrDef{
	"id":         {kept: true},
	"externalid": {kept: true},
	"meta":       {subs: []string{"resourcetype", "created", "lastmodified", "location", "version"}, kept: true},
	"schemas":    {kept: true},
	"username":   {kept: true},
	"name": {subs: []string{"formatted", "familyname", "givenname", "middlename", "honorificprefix", "honorificsuffix"},
		kept: true},
	"displayname":       {kept: true},
	"nickname":          {kept: true},
	"profileurl":        {kept: true},
	"title":             {kept: true},
	"usertype":          {kept: true},
	"preferredlanguage": {kept: true},
	"locale":            {kept: true},
	"timezone":          {kept: true},
	"active":            {kept: true},
	"password":          {},
	"emails":            {subs: multiValueSubs, multi: true, kept: true},
	"phonenumbers":      {subs: multiValueSubs, multi: true, kept: true},
	"ims":               {subs: multiValueSubs, multi: true, kept: true},
	"photos":            {subs: multiValueSubs, multi: true, kept: true},
	"addresses": {subs: []string{"formatted", "streetaddress", "locality", "region", "postalcode", "country", "type", "primary"},
		multi: true, kept: true},
	"groups":           {subs: multiValueSubs, multi: true, kept: true},
	"entitlements":     {subs: multiValueSubs, multi: true, kept: true},
	"roles":            {subs: multiValueSubs, multi: true, kept: true},
	"x509certificates": {subs: multiValueSubs, multi: true, kept: true},
}

// enterpriseSchemaAttrs is the enterprise User extension (RFC 7643 §4.3).
var enterpriseSchemaAttrs = map[string]attrDef{
	"employeenumber": {kept: true},
	"costcenter":     {kept: true},
	"organization":   {kept: true},
	"division":       {kept: true},
	"department":     {kept: true},
	"manager":        {subs: []string{"value", "$ref", "displayname"}, kept: true},
}

// userAttr finds an attribute of the User schemas by its schema URN ("" for
// none) and lower-case name. Without a URN, the enterprise attributes are
// found too, as providers send them both ways.
func userAttr(uri, name string) (attrDef, bool) {
	switch {
	case uri == "" || strings.EqualFold(uri, SchemaUser):
		if d, ok := userSchemaAttrs[name]; ok {
			return d, true
		}
		if uri == "" {
			d, ok := enterpriseSchemaAttrs[name]
			return d, ok
		}
	case strings.EqualFold(uri, SchemaEnterprise):
		d, ok := enterpriseSchemaAttrs[name]
		return d, ok
	}
	return attrDef{}, false
}

// hasSub reports whether sub (lower-case) is one of the attribute's
// sub-attributes.
func (d attrDef) hasSub(sub string) bool { return slices.Contains(d.subs, sub) }
