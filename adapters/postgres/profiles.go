package postgres

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// profileDoc is the stored form of a domain.OrgProfile: one value of the
// users.profiles object, keyed by organization id. Its JSON names are the
// schema (SearchUsers and the users_profiles index read them), fixed here
// rather than derived from the domain's Go names. Empty strings and lists
// are left out; a missing key reads as empty.
type profileDoc struct {
	ExternalID     string          `json:"externalId,omitempty"`
	DisplayName    string          `json:"displayName,omitempty"`
	EmployeeNumber string          `json:"employeeNumber,omitempty"`
	Department     string          `json:"department,omitempty"`
	ManagerID      string          `json:"managerId,omitempty"`
	ManagerName    string          `json:"managerName,omitempty"`
	Emails         []multiValueDoc `json:"emails,omitempty"`
	PhoneNumbers   []multiValueDoc `json:"phoneNumbers,omitempty"`
}

// multiValueDoc is the stored form of a domain.MultiValue.
type multiValueDoc struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
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

func toMultiValueDocs(vs []domain.MultiValue) []multiValueDoc {
	if len(vs) == 0 {
		return nil
	}
	out := make([]multiValueDoc, len(vs))
	for i, v := range vs {
		out[i] = multiValueDoc{Value: v.Value, Type: v.Type, Primary: v.Primary}
	}
	return out
}

func fromMultiValueDocs(vs []multiValueDoc) []domain.MultiValue {
	if len(vs) == 0 {
		return nil
	}
	out := make([]domain.MultiValue, len(vs))
	for i, v := range vs {
		out[i] = domain.MultiValue{Value: v.Value, Type: v.Type, Primary: v.Primary}
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
		strs := []string{org, p.ExternalID, p.DisplayName, p.EmployeeNumber, p.Department, p.ManagerID, p.ManagerName}
		for _, v := range p.Emails {
			strs = append(strs, v.Value, v.Type)
		}
		for _, v := range p.PhoneNumbers {
			strs = append(strs, v.Value, v.Type)
		}
		for _, s := range strs {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("profiles: %w", errBadText)
			}
		}
		docs[org] = profileDoc{
			ExternalID:     p.ExternalID,
			DisplayName:    p.DisplayName,
			EmployeeNumber: p.EmployeeNumber,
			Department:     p.Department,
			ManagerID:      p.ManagerID,
			ManagerName:    p.ManagerName,
			Emails:         toMultiValueDocs(p.Emails),
			PhoneNumbers:   toMultiValueDocs(p.PhoneNumbers),
		}
	}
	return json.Marshal(docs)
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
		out[org] = domain.OrgProfile{
			ExternalID:     d.ExternalID,
			DisplayName:    d.DisplayName,
			EmployeeNumber: d.EmployeeNumber,
			Department:     d.Department,
			ManagerID:      d.ManagerID,
			ManagerName:    d.ManagerName,
			Emails:         fromMultiValueDocs(d.Emails),
			PhoneNumbers:   fromMultiValueDocs(d.PhoneNumbers),
		}
	}
	return out, nil
}
