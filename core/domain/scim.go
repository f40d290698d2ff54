package domain

import (
	"reflect"
	"strings"
	"time"
)

// SCIMTokenPrefix marks an organization's SCIM bearer tokens, as cak_ marks
// admin keys.
const SCIMTokenPrefix = "cst_"

// SCIMToken lets one organization's identity provider (Entra ID, Okta, ...)
// provision that organization's users over SCIM. Only its SHA-256 hash is
// kept: it is 256 random bits, like a client secret.
type SCIMToken struct {
	ID             string
	OrganizationID string
	Name           string
	Hash           []byte
	// SignInEmail says which of the provider's values becomes the
	// account's sign-in email when this token writes a user of its home
	// organization; "" reads as SignInPrimaryEmail.
	SignInEmail SignInEmailRule
	CreatedAt   time.Time
}

// SignInEmailRule picks a SCIM user's sign-in email.
type SignInEmailRule string

// The rules.
const (
	// SignInPrimaryEmail: the primary email, else the work email, else the
	// first email; when there is none, userName if it is an address. Entra
	// ID (userName = UPN, mail in emails) and Okta both fit it.
	SignInPrimaryEmail SignInEmailRule = "primary_email"
	// SignInUserName: userName, which must then be an address.
	SignInUserName SignInEmailRule = "user_name"
)

// ValidSignInEmailRule reports whether r is a rule ("" is the default).
func ValidSignInEmailRule(r SignInEmailRule) bool {
	return r == "" || r == SignInPrimaryEmail || r == SignInUserName
}

// UserNameKey is the form in which an organization's user names are
// unique: two names that differ only in case are one name.
func UserNameKey(name string) string { return strings.ToLower(name) }

// OrgProfile is what one organization's directory says about a user beyond
// the account itself: the SCIM attributes that have no place on the
// account. Each organization keeps its own, so one school's identity
// provider never sees or overwrites another's externalId or department.
// The zero value is "nothing recorded".
//
// It holds every attribute of RFC 7643's User and Enterprise User schemas
// (sections 4.1 and 4.3) as the provider sent it, except those kept
// elsewhere: id, the account's name.givenName and name.familyName,
// active, password (never stored as sent), groups (the organization's
// groups) and userName (the membership's, see Membership.UserName).
type OrgProfile struct {
	ExternalID     string
	DisplayName    string
	EmployeeNumber string
	Department     string
	// ManagerID is the manager's SCIM id (a user id); ManagerName their
	// display name as the provider sent it.
	ManagerID    string
	ManagerName  string
	Emails       []MultiValue
	PhoneNumbers []MultiValue

	// name's other sub-attributes.
	FormattedName   string
	MiddleName      string
	HonorificPrefix string
	HonorificSuffix string

	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string
	Locale            string
	Timezone          string

	// The enterprise extension's other attributes.
	CostCenter   string
	Organization string
	Division     string

	Ims              []MultiValue
	Photos           []MultiValue
	Entitlements     []MultiValue
	Roles            []MultiValue
	X509Certificates []MultiValue
	Addresses        []Address
}

// MultiValue is one entry of a SCIM multi-valued attribute such as emails.
type MultiValue struct {
	Value   string
	Display string
	Type    string
	Primary bool
}

// Address is one entry of a SCIM user's addresses (RFC 7643 section
// 4.1.2).
type Address struct {
	Formatted     string
	StreetAddress string
	Locality      string
	Region        string
	PostalCode    string
	Country       string
	Type          string
	Primary       bool
}

// IsZero reports whether nothing is recorded.
func (p OrgProfile) IsZero() bool {
	return reflect.DeepEqual(p.Clone(), OrgProfile{}.Clone())
}

// Equal reports whether two profiles record the same, an empty list
// being the same as none.
func (p OrgProfile) Equal(q OrgProfile) bool {
	return reflect.DeepEqual(p.Clone(), q.Clone())
}

// Clone returns a deep copy, sharing no slices; an empty list becomes nil.
func (p OrgProfile) Clone() OrgProfile {
	for _, l := range []*[]MultiValue{&p.Emails, &p.PhoneNumbers, &p.Ims, &p.Photos, &p.Entitlements, &p.Roles, &p.X509Certificates} {
		*l = cloneList(*l)
	}
	p.Addresses = cloneList(p.Addresses)
	return p
}

func cloneList[T any](l []T) []T {
	if len(l) == 0 {
		return nil
	}
	return append([]T(nil), l...)
}

// CloneProfiles returns a deep copy of a user's profiles, nil if empty.
func CloneProfiles(m map[string]OrgProfile) map[string]OrgProfile {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]OrgProfile, len(m))
	for k, v := range m {
		out[k] = v.Clone()
	}
	return out
}

// UserField is an attribute a user search can filter on, named as SCIM
// names it. Each maps to stored data:
//
//	id                  User.ID                          string, exact
//	userName            Membership.UserName              string, case-insensitive
//	name.givenName      User.GivenName                   string, case-insensitive
//	name.familyName     User.FamilyName                  string, case-insensitive
//	active              User.Status active or invited,   bool
//	                    and the membership not suspended
//	meta.created        User.CreatedAt                   time
//	meta.lastModified   User.UpdatedAt                   time
//	externalId          profile ExternalID               string, exact
//	displayName         profile DisplayName              string, case-insensitive
//	employeeNumber      profile EmployeeNumber           string, case-insensitive
//	department          profile Department               string, case-insensitive
//	manager.value       profile ManagerID                string, exact
//	emails.value        User.Email and every profile email's Value   multi, case-insensitive
//	emails.type         every profile email's Type                   multi, case-insensitive
//	phoneNumbers.value  every profile phone number's Value           multi, case-insensitive
//	phoneNumbers.type   every profile phone number's Type            multi, case-insensitive
//
// "profile" is the user's OrgProfile for the searched organization.
type UserField string

// The searchable fields.
const (
	FieldID             UserField = "id"
	FieldUserName       UserField = "userName"
	FieldGivenName      UserField = "name.givenName"
	FieldFamilyName     UserField = "name.familyName"
	FieldActive         UserField = "active"
	FieldCreated        UserField = "meta.created"
	FieldLastModified   UserField = "meta.lastModified"
	FieldExternalID     UserField = "externalId"
	FieldDisplayName    UserField = "displayName"
	FieldEmployeeNumber UserField = "employeeNumber"
	FieldDepartment     UserField = "department"
	FieldManagerID      UserField = "manager.value"
	FieldEmailValue     UserField = "emails.value"
	FieldEmailType      UserField = "emails.type"
	FieldPhoneValue     UserField = "phoneNumbers.value"
	FieldPhoneType      UserField = "phoneNumbers.type"
)

// FieldKind is how a field's values compare.
type FieldKind int

// Field kinds.
const (
	KindString FieldKind = iota + 1 // compared case-insensitively
	KindExact                       // a string compared byte for byte
	KindBool
	KindTime
)

// FieldInfo describes a searchable field.
type FieldInfo struct {
	Kind FieldKind
	// Multi: the field has any number of values, and a comparison holds
	// when it holds for any one of them.
	Multi bool
}

// UserFields lists every searchable field.
var UserFields = map[UserField]FieldInfo{
	FieldID:             {Kind: KindExact},
	FieldUserName:       {Kind: KindString},
	FieldGivenName:      {Kind: KindString},
	FieldFamilyName:     {Kind: KindString},
	FieldActive:         {Kind: KindBool},
	FieldCreated:        {Kind: KindTime},
	FieldLastModified:   {Kind: KindTime},
	FieldExternalID:     {Kind: KindExact},
	FieldDisplayName:    {Kind: KindString},
	FieldEmployeeNumber: {Kind: KindString},
	FieldDepartment:     {Kind: KindString},
	FieldManagerID:      {Kind: KindExact},
	FieldEmailValue:     {Kind: KindString, Multi: true},
	FieldEmailType:      {Kind: KindString, Multi: true},
	FieldPhoneValue:     {Kind: KindString, Multi: true},
	FieldPhoneType:      {Kind: KindString, Multi: true},
}

// FilterOp is a comparison of RFC 7644 section 3.4.2.2.
type FilterOp string

// The comparisons.
const (
	OpEq FilterOp = "eq"
	OpNe FilterOp = "ne"
	OpCo FilterOp = "co"
	OpSw FilterOp = "sw"
	OpEw FilterOp = "ew"
	OpPr FilterOp = "pr"
	OpGt FilterOp = "gt"
	OpGe FilterOp = "ge"
	OpLt FilterOp = "lt"
	OpLe FilterOp = "le"
)

// UserFilter is a search condition over UserFields: a *Compare, *And, *Or
// or *Not. Stores translate it into their own query language; it is never
// evaluated by loading every user.
type UserFilter interface{ userFilter() }

// Compare is one comparison. Its semantics, which every store implements:
//
//   - A string field that is absent or empty has the value "". Case-
//     insensitive fields compare after lower-casing both sides.
//   - eq, co (contains), sw (starts with), ew (ends with), gt, ge, lt, le
//     compare the stored value with Value; gt..le order strings by byte
//     (after lower-casing, for case-insensitive fields) and times by instant.
//   - ne is exactly Not{eq}.
//   - pr (present) holds when the value is non-empty; for a multi-valued
//     field, when it has a non-empty value. active and the meta times are
//     always present.
//   - On a multi-valued field every comparison but ne holds if it holds for
//     any one value.
//   - active takes only eq, ne and pr, with a bool. Time fields take eq, ne,
//     gt, ge, lt, le and pr, with a time.Time. String fields take every op,
//     with a string. The SCIM layer rejects anything else before a store
//     sees it; a store may assume well-typed input.
//   - Times compare at the precision the store keeps (at least a
//     millisecond). The SCIM layer sends only whole-millisecond bounds, so
//     its answers agree across stores.
//   - A store answers any filter of up to 150 comparisons or nested 20
//     deep; the SCIM layer sends smaller ones.
type Compare struct {
	Field UserField
	Op    FilterOp
	Value any // string, bool or time.Time; nil for pr
}

// And holds when both sides hold.
type And struct{ Left, Right UserFilter }

// Or holds when either side holds.
type Or struct{ Left, Right UserFilter }

// Not holds when X does not.
type Not struct{ X UserFilter }

func (*Compare) userFilter() {}
func (*And) userFilter()     {}
func (*Or) userFilter()      {}
func (*Not) userFilter()     {}

// UserQuery is a search of one organization's members.
type UserQuery struct {
	OrganizationID string
	Filter         UserFilter // nil matches every member
	// Offset skips that many matches, in user id order; Limit bounds the
	// page (0 returns no members, only the total).
	Offset, Limit int
}

// UserPage is one page of a search: the members on it, in user id order,
// and how many match in all.
type UserPage struct {
	Members []Member
	Total   int
}
