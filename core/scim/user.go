package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Limits on what a provider may store about a user.
const (
	maxAttrLen = 256 // characters in any string attribute
	maxValues  = 10  // entries in emails or phoneNumbers
)

// userAttrs is a SCIM User as this server holds it: the organization's
// name for the member, the account's names and status, and the
// organization's profile. PATCH and PUT edit it; rendering shows it.
type userAttrs struct {
	UserName   string
	GivenName  string
	FamilyName string
	Active     bool
	domain.OrgProfile
}

// attrsOf is a member as the organization orgID sees it. It is active
// while the account may sign in (or is invited) and the organization has
// not suspended its own membership: an organization other than the
// account's home suspends only that.
func attrsOf(m domain.Member, orgID string) userAttrs {
	u := m.User
	a := userAttrs{
		UserName: m.Membership.UserName, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Active: (u.Status == domain.UserActive || u.Status == domain.UserInvited) &&
			m.Membership.Status != domain.MembershipSuspended,
		OrgProfile: u.Profiles[orgID].Clone(),
	}
	if a.UserName == "" {
		a.UserName = u.Email // a member named by no one reads as its account
	}
	return a
}

// signInEmail is the account email the attributes ask for under the
// token's rule, or "" when they name none: userName itself, or the
// primary email (else the work one, else the first), else userName if it
// is an address.
func (a *userAttrs) signInEmail(rule domain.SignInEmailRule) string {
	if rule == domain.SignInUserName {
		return a.UserName
	}
	if e, ok := pickEmail(a.Emails); ok {
		return e
	}
	if domain.ValidEmail(domain.NormalizeEmail(a.UserName)) {
		return a.UserName
	}
	return ""
}

// pickEmail is the primary email, else the work email, else the first.
func pickEmail(vs []domain.MultiValue) (string, bool) {
	for _, v := range vs {
		if v.Primary {
			return v.Value, true
		}
	}
	for _, v := range vs {
		if strings.EqualFold(v.Type, "work") {
			return v.Value, true
		}
	}
	if len(vs) > 0 {
		return vs[0].Value, true
	}
	return "", false
}

// check validates the attributes as a whole, after every change applied.
func (a *userAttrs) check() error {
	if strings.TrimSpace(a.UserName) == "" {
		return badValue("userName is required")
	}
	p := &a.OrgProfile
	for _, f := range []struct{ name, v string }{
		{"userName", a.UserName},
		{"name.givenName", a.GivenName}, {"name.familyName", a.FamilyName},
		{"name.formatted", p.FormattedName}, {"name.middleName", p.MiddleName},
		{"name.honorificPrefix", p.HonorificPrefix}, {"name.honorificSuffix", p.HonorificSuffix},
		{"manager.value", p.ManagerID}, {"manager.displayName", p.ManagerName},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	for name := range userSchemaAttrs {
		if dst, spelled, ok := a.stringAttr(name); ok {
			if err := checkTextLen(spelled, *dst, limitOf(spelled)); err != nil {
				return err
			}
		}
	}
	for name := range enterpriseSchemaAttrs {
		if dst, spelled, ok := a.stringAttr(name); ok {
			if err := checkText(spelled, *dst); err != nil {
				return err
			}
		}
	}
	if utf8.RuneCountInString(a.GivenName) > 100 || utf8.RuneCountInString(a.FamilyName) > 100 {
		return badValue("names are at most 100 characters")
	}
	for name := range userSchemaAttrs {
		if list, spelled, ok := a.valueList(name); ok {
			if err := multiValue(spelled).check(*list); err != nil {
				return err
			}
		}
	}
	if err := addressKind.check(p.Addresses); err != nil {
		return err
	}
	for _, e := range p.Emails {
		if !domain.ValidEmail(domain.NormalizeEmail(e.Value)) {
			return badValue("emails must hold email addresses; %q is not one", clip(e.Value))
		}
	}
	return nil
}

func checkText(name, v string) error { return checkTextLen(name, v, maxAttrLen) }

func checkTextLen(name, v string, limit int) error {
	if !domain.PrintableText(v, limit) {
		return badValue("%s must be at most %d printable characters", name, limit)
	}
	return nil
}

// limitOf is the longest value an attribute takes, in characters: a DER
// certificate in base64 and a signed URL run past the usual bound.
func limitOf(name string) int {
	switch name {
	case "x509Certificates":
		return 8192
	case "photos", "profileUrl":
		return 2048
	}
	return maxAttrLen
}

// timestamp writes SCIM's date-times (xsd:dateTime, RFC 3339) in UTC.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// renderUser is the SCIM representation of an organization's member.
// base is the SCIM root URL (".../scim/v2").
func renderUser(m domain.Member, orgID, base string) map[string]any {
	u := m.User
	if orgID == "" {
		orgID = m.Membership.OrganizationID
	}
	a := attrsOf(m, orgID)
	p := a.OrgProfile
	r := map[string]any{
		"schemas":  []string{SchemaUser},
		"id":       u.ID,
		"userName": a.UserName,
		"active":   a.Active,
		"emails":   renderValues(emailsOf(a, u.Email)),
	}
	name := map[string]any{}
	formatted := p.FormattedName
	if formatted == "" {
		formatted = u.Name()
	}
	putStrings(name, "formatted", formatted, "givenName", u.GivenName, "familyName", u.FamilyName,
		"middleName", p.MiddleName, "honorificPrefix", p.HonorificPrefix, "honorificSuffix", p.HonorificSuffix)
	r["name"] = name
	if p.DisplayName != "" {
		r["displayName"] = p.DisplayName
	} else if n := u.Name(); n != "" {
		r["displayName"] = n
	}
	putStrings(r, "externalId", p.ExternalID, "nickName", p.NickName, "profileUrl", p.ProfileURL,
		"title", p.Title, "userType", p.UserType, "preferredLanguage", p.PreferredLanguage,
		"locale", p.Locale, "timezone", p.Timezone)
	for _, l := range []struct {
		name string
		vs   []domain.MultiValue
	}{
		{"phoneNumbers", p.PhoneNumbers}, {"ims", p.Ims}, {"photos", p.Photos},
		{"entitlements", p.Entitlements}, {"roles", p.Roles}, {"x509Certificates", p.X509Certificates},
	} {
		if len(l.vs) > 0 {
			r[l.name] = renderValues(l.vs)
		}
	}
	if len(p.Addresses) > 0 {
		r["addresses"] = renderAddresses(p.Addresses)
	}
	ent := map[string]any{}
	putStrings(ent, "employeeNumber", p.EmployeeNumber, "department", p.Department,
		"costCenter", p.CostCenter, "organization", p.Organization, "division", p.Division)
	if p.ManagerID != "" {
		mgr := map[string]any{"value": p.ManagerID, "$ref": base + "/Users/" + p.ManagerID}
		if p.ManagerName != "" {
			mgr["displayName"] = p.ManagerName
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

// withGroups adds the groups a user is in to its representation. They are
// not part of its version: a group's members change with the group.
func withGroups(r map[string]any, groups []domain.Group, base string) map[string]any {
	if len(groups) == 0 {
		return r
	}
	gs := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		gs = append(gs, map[string]any{
			"value": g.ID, "display": g.DisplayName, "$ref": base + "/Groups/" + g.ID, "type": "direct",
		})
	}
	r["groups"] = gs
	return r
}

// putStrings sets each non-empty value under its key; kv alternates keys
// and values.
func putStrings(dst map[string]any, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			dst[kv[i]] = kv[i+1]
		}
	}
}

// emailsOf is the emails a user shows: the organization's, as sent, or,
// when it sent none, the account's email.
func emailsOf(a userAttrs, account string) []domain.MultiValue {
	if len(a.Emails) > 0 || account == "" {
		return a.Emails
	}
	return []domain.MultiValue{{Value: account, Type: "work", Primary: true}}
}

func renderValues(vs []domain.MultiValue) []map[string]any {
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		e := map[string]any{"value": v.Value, "primary": v.Primary}
		putStrings(e, "display", v.Display, "type", v.Type)
		out = append(out, e)
	}
	return out
}

func renderAddresses(as []domain.Address) []map[string]any {
	out := make([]map[string]any, 0, len(as))
	for _, v := range as {
		e := map[string]any{"primary": v.Primary}
		putStrings(e, "formatted", v.Formatted, "streetAddress", v.StreetAddress, "locality", v.Locality,
			"region", v.Region, "postalCode", v.PostalCode, "country", v.Country, "type", v.Type)
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
