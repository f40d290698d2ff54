package postgres

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// profileDoc is the stored form of a domain.OrgProfile: one value of the
// users.profiles object, keyed by organization id. Its JSON names are the
// schema (SearchUsers and the users_profiles index read them, and
// migrations 00004 and 00006 list them), fixed here rather than derived
// from the domain's Go names, so that renaming a Go field never orphans
// stored data. Empty strings and lists are left out; a missing key reads as
// empty, so a document written before a key existed still reads.
type profileDoc struct {
	ExternalID     string `json:"externalId,omitempty"`
	DisplayName    string `json:"displayName,omitempty"`
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	Department     string `json:"department,omitempty"`
	ManagerID      string `json:"managerId,omitempty"`
	ManagerName    string `json:"managerName,omitempty"`

	FormattedName     string `json:"formattedName,omitempty"`
	MiddleName        string `json:"middleName,omitempty"`
	HonorificPrefix   string `json:"honorificPrefix,omitempty"`
	HonorificSuffix   string `json:"honorificSuffix,omitempty"`
	NickName          string `json:"nickName,omitempty"`
	ProfileURL        string `json:"profileUrl,omitempty"`
	Title             string `json:"title,omitempty"`
	UserType          string `json:"userType,omitempty"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
	Locale            string `json:"locale,omitempty"`
	Timezone          string `json:"timezone,omitempty"`
	CostCenter        string `json:"costCenter,omitempty"`
	Organization      string `json:"organization,omitempty"`
	Division          string `json:"division,omitempty"`

	Emails           []multiValueDoc `json:"emails,omitempty"`
	PhoneNumbers     []multiValueDoc `json:"phoneNumbers,omitempty"`
	Ims              []multiValueDoc `json:"ims,omitempty"`
	Photos           []multiValueDoc `json:"photos,omitempty"`
	Entitlements     []multiValueDoc `json:"entitlements,omitempty"`
	Roles            []multiValueDoc `json:"roles,omitempty"`
	X509Certificates []multiValueDoc `json:"x509Certificates,omitempty"`
	Addresses        []addressDoc    `json:"addresses,omitempty"`
}

// multiValueDoc is the stored form of a domain.MultiValue. value is always
// written, as it was before display existed.
type multiValueDoc struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// addressDoc is the stored form of a domain.Address.
type addressDoc struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	Country       string `json:"country,omitempty"`
	Type          string `json:"type,omitempty"`
	Primary       bool   `json:"primary,omitempty"`
}

// The profileDoc keys SearchUsers reads.
const (
	docExternalID     = "externalId"
	docDisplayName    = "displayName"
	docEmployeeNumber = "employeeNumber"
	docDepartment     = "department"
	docManagerID      = "managerId"
	docEmails         = "emails"
	docPhoneNumbers   = "phoneNumbers"
	docValue          = "value"
	docType           = "type"
)

func toProfileDoc(p domain.OrgProfile) profileDoc {
	return profileDoc{
		ExternalID:        p.ExternalID,
		DisplayName:       p.DisplayName,
		EmployeeNumber:    p.EmployeeNumber,
		Department:        p.Department,
		ManagerID:         p.ManagerID,
		ManagerName:       p.ManagerName,
		FormattedName:     p.FormattedName,
		MiddleName:        p.MiddleName,
		HonorificPrefix:   p.HonorificPrefix,
		HonorificSuffix:   p.HonorificSuffix,
		NickName:          p.NickName,
		ProfileURL:        p.ProfileURL,
		Title:             p.Title,
		UserType:          p.UserType,
		PreferredLanguage: p.PreferredLanguage,
		Locale:            p.Locale,
		Timezone:          p.Timezone,
		CostCenter:        p.CostCenter,
		Organization:      p.Organization,
		Division:          p.Division,
		Emails:            mapList(p.Emails, toMultiValueDoc),
		PhoneNumbers:      mapList(p.PhoneNumbers, toMultiValueDoc),
		Ims:               mapList(p.Ims, toMultiValueDoc),
		Photos:            mapList(p.Photos, toMultiValueDoc),
		Entitlements:      mapList(p.Entitlements, toMultiValueDoc),
		Roles:             mapList(p.Roles, toMultiValueDoc),
		X509Certificates:  mapList(p.X509Certificates, toMultiValueDoc),
		Addresses:         mapList(p.Addresses, toAddressDoc),
	}
}

func (d profileDoc) profile() domain.OrgProfile {
	return domain.OrgProfile{
		ExternalID:        d.ExternalID,
		DisplayName:       d.DisplayName,
		EmployeeNumber:    d.EmployeeNumber,
		Department:        d.Department,
		ManagerID:         d.ManagerID,
		ManagerName:       d.ManagerName,
		FormattedName:     d.FormattedName,
		MiddleName:        d.MiddleName,
		HonorificPrefix:   d.HonorificPrefix,
		HonorificSuffix:   d.HonorificSuffix,
		NickName:          d.NickName,
		ProfileURL:        d.ProfileURL,
		Title:             d.Title,
		UserType:          d.UserType,
		PreferredLanguage: d.PreferredLanguage,
		Locale:            d.Locale,
		Timezone:          d.Timezone,
		CostCenter:        d.CostCenter,
		Organization:      d.Organization,
		Division:          d.Division,
		Emails:            mapList(d.Emails, multiValueDoc.value),
		PhoneNumbers:      mapList(d.PhoneNumbers, multiValueDoc.value),
		Ims:               mapList(d.Ims, multiValueDoc.value),
		Photos:            mapList(d.Photos, multiValueDoc.value),
		Entitlements:      mapList(d.Entitlements, multiValueDoc.value),
		Roles:             mapList(d.Roles, multiValueDoc.value),
		X509Certificates:  mapList(d.X509Certificates, multiValueDoc.value),
		Addresses:         mapList(d.Addresses, addressDoc.address),
	}
}

func toMultiValueDoc(v domain.MultiValue) multiValueDoc {
	return multiValueDoc{Value: v.Value, Display: v.Display, Type: v.Type, Primary: v.Primary}
}

func (d multiValueDoc) value() domain.MultiValue {
	return domain.MultiValue{Value: d.Value, Display: d.Display, Type: d.Type, Primary: d.Primary}
}

func toAddressDoc(a domain.Address) addressDoc {
	return addressDoc{
		Formatted: a.Formatted, StreetAddress: a.StreetAddress, Locality: a.Locality, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country, Type: a.Type, Primary: a.Primary,
	}
}

func (d addressDoc) address() domain.Address {
	return domain.Address{
		Formatted: d.Formatted, StreetAddress: d.StreetAddress, Locality: d.Locality, Region: d.Region,
		PostalCode: d.PostalCode, Country: d.Country, Type: d.Type, Primary: d.Primary,
	}
}

// mapList converts each element of a list into a fresh list, nil when the
// list is empty (as domain.OrgProfile.Clone leaves it).
func mapList[T, U any](l []T, f func(T) U) []U {
	if len(l) == 0 {
		return nil
	}
	out := make([]U, len(l))
	for i, v := range l {
		out[i] = f(v)
	}
	return out
}

// encodeProfiles returns the users.profiles document of a user's profiles:
// '{}' when there are none. A zero profile is kept (as {}), so that the
// map comes back with the keys it went in with. Text jsonb cannot hold
// faithfully is refused with errBadText, as a text column refuses it:
// encoding/json would silently replace invalid UTF-8, and jsonb refuses
// \u0000.
func encodeProfiles(profiles map[string]domain.OrgProfile) (json.RawMessage, error) {
	docs := make(map[string]profileDoc, len(profiles))
	for org, p := range profiles {
		d := toProfileDoc(p)
		if !storableText(reflect.ValueOf(org)) || !storableText(reflect.ValueOf(d)) {
			return nil, fmt.Errorf("profiles: %w", errBadText)
		}
		docs[org] = d
	}
	return json.Marshal(docs)
}

// storableText reports whether every string in v, through its struct
// fields and list elements, is valid UTF-8 without a NUL byte. It walks the
// document rather than a list of its fields, so a field added to the
// document is checked without being named here.
func storableText(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
	case reflect.Struct:
		for i := range v.NumField() {
			if !storableText(v.Field(i)) {
				return false
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if !storableText(v.Index(i)) {
				return false
			}
		}
	}
	return true
}

// decodeProfiles reads a users.profiles document into fresh values (nil
// when there are none), sharing nothing with any other user value.
func decodeProfiles(raw []byte) (map[string]domain.OrgProfile, error) {
	var docs map[string]profileDoc
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &docs); err != nil {
			return nil, fmt.Errorf("decode profiles: %w", err)
		}
	}
	if len(docs) == 0 {
		return nil, nil
	}
	out := make(map[string]domain.OrgProfile, len(docs))
	for org, d := range docs {
		out[org] = d.profile()
	}
	return out, nil
}
