package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Limits on what a provider may store about a user.
const (
	maxAttrLen = 256 // characters in any string attribute
	maxValues  = 10  // entries in emails or phoneNumbers
)

// userAttrs is a SCIM User as this server holds it: the account's fields
// and the organization's profile. PATCH and PUT edit it; rendering shows it.
type userAttrs struct {
	UserName   string
	GivenName  string
	FamilyName string
	Active     bool
	domain.OrgProfile
	// userNameSent and emailsSent record what a request wrote, for email.
	userNameSent, emailsSent bool
}

// attrsOf is a member as the organization orgID sees it. It is active
// while the account may sign in (or is invited) and the organization has
// not suspended its own membership: an organization other than the
// account's home suspends only that.
func attrsOf(m domain.Member, orgID string) userAttrs {
	u := m.User
	a := userAttrs{
		UserName: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Active: (u.Status == domain.UserActive || u.Status == domain.UserInvited) &&
			m.Membership.Status != domain.MembershipSuspended,
		OrgProfile: u.Profiles[orgID].Clone(),
	}
	return a
}

// email is the account email a request asks for. userName decides when
// the request wrote it (every POST and PUT does); a PATCH that wrote only
// the emails moves the account to the new primary email. So a provider
// whose userName and primary email differ settles on its userName, never
// alternating between the two.
func (a *userAttrs) email(before userAttrs) string {
	if !a.userNameSent && a.emailsSent {
		if p, ok := primary(a.Emails); ok && !strings.EqualFold(p.Value, before.UserName) {
			return p.Value
		}
	}
	return a.UserName
}

// materializeEmails makes the emails a user shows stored ones, so that
// PATCH value filters and searches see what GET shows.
func (a *userAttrs) materializeEmails() {
	a.Emails = emailsOf(*a)
}

// primary returns the entry marked primary.
func primary(vs []domain.MultiValue) (domain.MultiValue, bool) {
	for _, v := range vs {
		if v.Primary {
			return v, true
		}
	}
	return domain.MultiValue{}, false
}

// check validates the attributes as a whole, after every change applied.
func (a *userAttrs) check() error {
	if a.UserName == "" {
		return badValue("userName is required")
	}
	if !domain.ValidEmail(domain.NormalizeEmail(a.UserName)) {
		return badValue("userName must be an email address, as it is the account's email")
	}
	for _, f := range []struct{ name, v string }{
		{"name.givenName", a.GivenName}, {"name.familyName", a.FamilyName},
		{"displayName", a.DisplayName}, {"externalId", a.ExternalID},
		{"employeeNumber", a.EmployeeNumber}, {"department", a.Department},
		{"manager.value", a.ManagerID}, {"manager.displayName", a.ManagerName},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if utf8.RuneCountInString(a.GivenName) > 100 || utf8.RuneCountInString(a.FamilyName) > 100 {
		return badValue("names are at most 100 characters")
	}
	for _, l := range []struct {
		name string
		vs   []domain.MultiValue
	}{{"emails", a.Emails}, {"phoneNumbers", a.PhoneNumbers}} {
		if len(l.vs) > maxValues {
			return badValue("%s holds at most %d values", l.name, maxValues)
		}
		primaries := 0
		for _, v := range l.vs {
			if v.Value == "" {
				return badValue("every entry of %s needs a value", l.name)
			}
			if err := checkText(l.name+".value", v.Value); err != nil {
				return err
			}
			if err := checkText(l.name+".type", v.Type); err != nil {
				return err
			}
			if v.Primary {
				primaries++
			}
		}
		if primaries > 1 {
			return badValue("at most one of %s may be primary", l.name)
		}
	}
	for _, e := range a.Emails {
		if !domain.ValidEmail(domain.NormalizeEmail(e.Value)) {
			return badValue("emails must hold email addresses; %q is not one", clip(e.Value))
		}
	}
	return nil
}

func checkText(name, v string) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxAttrLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return badValue("%s must be at most %d printable characters", name, maxAttrLen)
	}
	return nil
}

// timestamp writes SCIM's date-times (xsd:dateTime, RFC 3339) in UTC.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// renderUser is the SCIM representation of an organization's member.
// base is the SCIM root URL (".../scim/v2").
func renderUser(m domain.Member, orgID, base string) map[string]any {
	u, a := m.User, attrsOf(m, m.Membership.OrganizationID)
	if orgID != "" {
		a = attrsOf(m, orgID)
	}
	r := map[string]any{
		"schemas":  []string{SchemaUser},
		"id":       u.ID,
		"userName": u.Email,
		"active":   a.Active,
		"emails":   renderValues(emailsOf(a)),
	}
	name := map[string]any{"formatted": u.Name()}
	if u.GivenName != "" {
		name["givenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["familyName"] = u.FamilyName
	}
	r["name"] = name
	if a.DisplayName != "" {
		r["displayName"] = a.DisplayName
	} else if n := u.Name(); n != "" {
		r["displayName"] = n
	}
	if a.ExternalID != "" {
		r["externalId"] = a.ExternalID
	}
	if len(a.PhoneNumbers) > 0 {
		r["phoneNumbers"] = renderValues(a.PhoneNumbers)
	}
	if m.Membership.Role != "" {
		r["groups"] = []map[string]any{{
			"value": m.Membership.Role, "display": m.Membership.Role,
			"$ref": base + "/Groups/" + m.Membership.Role, "type": "direct",
		}}
	}
	ent := map[string]any{}
	if a.EmployeeNumber != "" {
		ent["employeeNumber"] = a.EmployeeNumber
	}
	if a.Department != "" {
		ent["department"] = a.Department
	}
	if a.ManagerID != "" {
		mgr := map[string]any{"value": a.ManagerID, "$ref": base + "/Users/" + a.ManagerID}
		if a.ManagerName != "" {
			mgr["displayName"] = a.ManagerName
		}
		ent["manager"] = mgr
	}
	if len(ent) > 0 {
		r["schemas"] = []string{SchemaUser, SchemaEnterprise}
		r[SchemaEnterprise] = ent
	}
	meta := map[string]any{
		"resourceType": "User",
		"created":      timestamp(u.CreatedAt),
		"lastModified": timestamp(u.UpdatedAt),
		"location":     base + "/Users/" + u.ID,
	}
	r["meta"] = meta
	// The version covers what the organization sees, but not
	// lastModified: another organization's profile change touches the
	// account's modification time and must not break this one's If-Match.
	delete(meta, "lastModified")
	meta["version"] = etag(r)
	meta["lastModified"] = timestamp(u.UpdatedAt)
	return r
}

// emailsOf is the emails a user shows: the profile's, with the primary one
// being the account's email, or the account's email alone.
func emailsOf(a userAttrs) []domain.MultiValue {
	vs := append([]domain.MultiValue(nil), a.Emails...)
	for i := range vs {
		if vs[i].Primary {
			vs[i].Value = a.UserName
			return vs
		}
	}
	for i := range vs {
		if strings.EqualFold(vs[i].Value, a.UserName) {
			vs[i].Primary = true
			return vs
		}
	}
	return append([]domain.MultiValue{{Value: a.UserName, Type: "work", Primary: true}}, vs...)
}

func renderValues(vs []domain.MultiValue) []map[string]any {
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		e := map[string]any{"value": v.Value, "primary": v.Primary}
		if v.Type != "" {
			e["type"] = v.Type
		}
		out = append(out, e)
	}
	return out
}

// etag is a weak entity tag over the representation (RFC 7644 section
// 3.14): any change to what the resource shows changes it.
func etag(r map[string]any) string {
	b, _ := json.Marshal(r) // maps of strings, bools and slices: cannot fail
	sum := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(sum[:12]) + `"`
}
