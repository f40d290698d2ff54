package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.UserStore = (*UserStore)(nil)

const usersCollection = "users"

func init() {
	// The email key is unique among the users that have one. FerretDB 1.24
	// has no partial indexes, so instead of a partialFilterExpression the
	// index is sparse and a user without an email stores no email_key field
	// at all (a plain unique index would make all of them collide on null
	// on MongoDB).
	registerIndexes(usersCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "email_key", Value: 1}},
		Options: options.Index().SetName("users_email_key").SetUnique(true).SetSparse(true),
	})
}

// UserStore is the MongoDB ports.UserStore: one document per user, keyed by
// the user id. Email uniqueness is the unique index on the normalised email
// (email_key), so the check and the insert are one atomic step.
type UserStore struct{ coll *collection }

// NewUserStore returns a UserStore on db.
func NewUserStore(db *mongo.Database) *UserStore {
	return &UserStore{coll: collectionOf(db, usersCollection)}
}

// userDoc is the stored form of a domain.User. Rev counts the writes, for
// UpdateUser's compare-and-swap.
type userDoc struct {
	ID    string `bson:"_id"`
	Rev   int64  `bson:"rev"`
	Email string `bson:"email"`
	// EmailKey is domain.NormalizeEmail(Email), absent when that is empty
	// (see the sparse index in init).
	EmailKey      string `bson:"email_key,omitempty"`
	EmailVerified bool   `bson:"email_verified"`
	GivenName     string `bson:"given_name"`
	FamilyName    string `bson:"family_name"`
	// GivenNameLC and FamilyNameLC are strings.ToLower of the names,
	// written with every write of the document: SCIM's user search compares
	// the names case-insensitively, gt and lt included, which no plain
	// query operator does on mixed-case strings (see scim_filter.go). A
	// document written before they existed lacks them until BackfillUsers
	// rewrites it; until then a search sees its names as "".
	GivenNameLC         string    `bson:"given_name_lc"`
	FamilyNameLC        string    `bson:"family_name_lc"`
	Picture             string    `bson:"picture"`
	PhoneNumber         string    `bson:"phone_number"`
	PhoneNumberVerified bool      `bson:"phone_number_verified"`
	PasswordHash        string    `bson:"password_hash"`
	Status              string    `bson:"status"`
	NotBefore           time.Time `bson:"not_before"`
	CreatedAt           time.Time `bson:"created_at"`
	UpdatedAt           time.Time `bson:"updated_at"`
	// Profiles is domain.User.Profiles, keyed by profileKey(organization
	// id); absent when there are none.
	Profiles map[string]profileDoc `bson:"profiles,omitempty"`
	// HomeOrganizationID is always written, "" included: a document
	// without the field was written by an older version, and
	// BackfillDirectory gives it the home its memberships imply (so the
	// field must not be omitted when empty, or a homeless account would be
	// given one at the next start). Until then it reads as "".
	HomeOrganizationID string `bson:"home_organization_id"`
	// PlatformAdmin is domain.User.PlatformAdmin, absent when false: a
	// document written before the field existed reads as an account
	// without the role, which is what every older account is.
	PlatformAdmin bool `bson:"platform_admin,omitempty"`
	// PlatformLocked is domain.User.PlatformLocked, absent when false, as
	// every account suspended before it existed reads.
	PlatformLocked bool `bson:"platform_locked,omitempty"`
}

// profileDoc is the stored form of a domain.OrgProfile. The _lc fields are
// strings.ToLower of the field before them, for SCIM's case-insensitive
// comparisons (see scim_filter.go); they are derived, never read back. The
// fields SCIM searches are always written; the others only when set, so a
// document written before they existed reads the same as one without
// them.
type profileDoc struct {
	ExternalID       string          `bson:"external_id"`
	DisplayName      string          `bson:"display_name"`
	DisplayNameLC    string          `bson:"display_name_lc"`
	EmployeeNumber   string          `bson:"employee_number"`
	EmployeeNumberLC string          `bson:"employee_number_lc"`
	Department       string          `bson:"department"`
	DepartmentLC     string          `bson:"department_lc"`
	ManagerID        string          `bson:"manager_id"`
	ManagerName      string          `bson:"manager_name"`
	Emails           []multiValueDoc `bson:"emails,omitempty"`
	PhoneNumbers     []multiValueDoc `bson:"phone_numbers,omitempty"`

	FormattedName     string `bson:"formatted_name,omitempty"`
	MiddleName        string `bson:"middle_name,omitempty"`
	HonorificPrefix   string `bson:"honorific_prefix,omitempty"`
	HonorificSuffix   string `bson:"honorific_suffix,omitempty"`
	NickName          string `bson:"nick_name,omitempty"`
	ProfileURL        string `bson:"profile_url,omitempty"`
	Title             string `bson:"title,omitempty"`
	UserType          string `bson:"user_type,omitempty"`
	PreferredLanguage string `bson:"preferred_language,omitempty"`
	Locale            string `bson:"locale,omitempty"`
	Timezone          string `bson:"timezone,omitempty"`
	CostCenter        string `bson:"cost_center,omitempty"`
	Organization      string `bson:"organization,omitempty"`
	Division          string `bson:"division,omitempty"`

	Ims              []multiValueDoc `bson:"ims,omitempty"`
	Photos           []multiValueDoc `bson:"photos,omitempty"`
	Entitlements     []multiValueDoc `bson:"entitlements,omitempty"`
	Roles            []multiValueDoc `bson:"roles,omitempty"`
	X509Certificates []multiValueDoc `bson:"x509_certificates,omitempty"`
	Addresses        []addressDoc    `bson:"addresses,omitempty"`
}

// multiValueDoc is the stored form of a domain.MultiValue, with lower-cased
// copies of its value and type, which every element has (compareElements
// relies on it); Display is written only when set.
type multiValueDoc struct {
	Value   string `bson:"value"`
	ValueLC string `bson:"value_lc"`
	Display string `bson:"display,omitempty"`
	Type    string `bson:"type"`
	TypeLC  string `bson:"type_lc"`
	Primary bool   `bson:"primary"`
}

// addressDoc is the stored form of a domain.Address: its fields, in its
// order, so that each converts to the other (and a field added to one
// fails the build until the other has it).
type addressDoc struct {
	Formatted     string `bson:"formatted,omitempty"`
	StreetAddress string `bson:"street_address,omitempty"`
	Locality      string `bson:"locality,omitempty"`
	Region        string `bson:"region,omitempty"`
	PostalCode    string `bson:"postal_code,omitempty"`
	Country       string `bson:"country,omitempty"`
	Type          string `bson:"type,omitempty"`
	Primary       bool   `bson:"primary,omitempty"`
}

func newProfileDocs(m map[string]domain.OrgProfile) map[string]profileDoc {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]profileDoc, len(m))
	for org, p := range m {
		out[profileKey(org)] = profileDoc{
			ExternalID: p.ExternalID, DisplayName: p.DisplayName, DisplayNameLC: strings.ToLower(p.DisplayName),
			EmployeeNumber: p.EmployeeNumber, EmployeeNumberLC: strings.ToLower(p.EmployeeNumber),
			Department: p.Department, DepartmentLC: strings.ToLower(p.Department),
			ManagerID: p.ManagerID, ManagerName: p.ManagerName,
			Emails: newMultiValueDocs(p.Emails), PhoneNumbers: newMultiValueDocs(p.PhoneNumbers),
			FormattedName: p.FormattedName, MiddleName: p.MiddleName,
			HonorificPrefix: p.HonorificPrefix, HonorificSuffix: p.HonorificSuffix,
			NickName: p.NickName, ProfileURL: p.ProfileURL, Title: p.Title, UserType: p.UserType,
			PreferredLanguage: p.PreferredLanguage, Locale: p.Locale, Timezone: p.Timezone,
			CostCenter: p.CostCenter, Organization: p.Organization, Division: p.Division,
			Ims: newMultiValueDocs(p.Ims), Photos: newMultiValueDocs(p.Photos),
			Entitlements: newMultiValueDocs(p.Entitlements), Roles: newMultiValueDocs(p.Roles),
			X509Certificates: newMultiValueDocs(p.X509Certificates), Addresses: newAddressDocs(p.Addresses),
		}
	}
	return out
}

func newMultiValueDocs(vs []domain.MultiValue) []multiValueDoc {
	if len(vs) == 0 {
		return nil
	}
	out := make([]multiValueDoc, len(vs))
	for i, v := range vs {
		out[i] = multiValueDoc{
			Value: v.Value, ValueLC: strings.ToLower(v.Value), Display: v.Display,
			Type: v.Type, TypeLC: strings.ToLower(v.Type), Primary: v.Primary,
		}
	}
	return out
}

func newAddressDocs(as []domain.Address) []addressDoc {
	if len(as) == 0 {
		return nil
	}
	out := make([]addressDoc, len(as))
	for i, a := range as {
		out[i] = addressDoc(a)
	}
	return out
}

// profilesDomain decodes the profiles into fresh values: nil if there are
// none, and nil slices for empty lists.
func profilesDomain(m map[string]profileDoc) map[string]domain.OrgProfile {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]domain.OrgProfile, len(m))
	for key, d := range m {
		out[profileOrgID(key)] = domain.OrgProfile{
			ExternalID: d.ExternalID, DisplayName: d.DisplayName, EmployeeNumber: d.EmployeeNumber,
			Department: d.Department, ManagerID: d.ManagerID, ManagerName: d.ManagerName,
			Emails: multiValuesDomain(d.Emails), PhoneNumbers: multiValuesDomain(d.PhoneNumbers),
			FormattedName: d.FormattedName, MiddleName: d.MiddleName,
			HonorificPrefix: d.HonorificPrefix, HonorificSuffix: d.HonorificSuffix,
			NickName: d.NickName, ProfileURL: d.ProfileURL, Title: d.Title, UserType: d.UserType,
			PreferredLanguage: d.PreferredLanguage, Locale: d.Locale, Timezone: d.Timezone,
			CostCenter: d.CostCenter, Organization: d.Organization, Division: d.Division,
			Ims: multiValuesDomain(d.Ims), Photos: multiValuesDomain(d.Photos),
			Entitlements: multiValuesDomain(d.Entitlements), Roles: multiValuesDomain(d.Roles),
			X509Certificates: multiValuesDomain(d.X509Certificates), Addresses: addressesDomain(d.Addresses),
		}
	}
	return out
}

func multiValuesDomain(ds []multiValueDoc) []domain.MultiValue {
	if len(ds) == 0 {
		return nil
	}
	out := make([]domain.MultiValue, len(ds))
	for i, d := range ds {
		out[i] = domain.MultiValue{Value: d.Value, Display: d.Display, Type: d.Type, Primary: d.Primary}
	}
	return out
}

func addressesDomain(ds []addressDoc) []domain.Address {
	if len(ds) == 0 {
		return nil
	}
	out := make([]domain.Address, len(ds))
	for i, d := range ds {
		out[i] = domain.Address(d)
	}
	return out
}

// profileKey is the field name of an organization's profile under
// profiles. Organization ids are UUIDs, stored as they are; but a field name
// must not contain "." (a query would read it as a path), start with "$",
// hold a NUL or be empty, so '%', '.', '$' and NUL are percent-escaped and
// the empty id is "%" (which no escaped id is: every '%' of one is followed
// by two hex digits). The mapping is one-to-one and profileOrgID inverts it.
func profileKey(organizationID string) string {
	if organizationID == "" {
		return "%"
	}
	if !strings.ContainsAny(organizationID, "%.$\x00") {
		return organizationID
	}
	var b strings.Builder
	for i := 0; i < len(organizationID); i++ {
		switch c := organizationID[i]; c {
		case '%', '.', '$', 0:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// profileOrgID inverts profileKey.
func profileOrgID(key string) string {
	if key == "%" {
		return ""
	}
	if !strings.Contains(key, "%") {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] == '%' && i+2 < len(key) {
			if v, err := strconv.ParseUint(key[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(key[i])
	}
	return b.String()
}

func newUserDoc(u *domain.User, rev int64) *userDoc {
	return &userDoc{
		ID: u.ID, Rev: rev, Email: u.Email, EmailKey: domain.NormalizeEmail(u.Email),
		EmailVerified: u.EmailVerified, GivenName: u.GivenName, FamilyName: u.FamilyName,
		GivenNameLC: strings.ToLower(u.GivenName), FamilyNameLC: strings.ToLower(u.FamilyName),
		Picture: u.Picture, PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified,
		PasswordHash: u.PasswordHash, Status: string(u.Status), HomeOrganizationID: u.HomeOrganizationID,
		PlatformAdmin: u.PlatformAdmin, PlatformLocked: u.PlatformLocked, NotBefore: u.NotBefore, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		Profiles: newProfileDocs(u.Profiles),
	}
}

func (d *userDoc) domain() domain.User {
	return domain.User{
		ID: d.ID, Email: d.Email, EmailVerified: d.EmailVerified, GivenName: d.GivenName,
		FamilyName: d.FamilyName, Picture: d.Picture, PhoneNumber: d.PhoneNumber,
		PhoneNumberVerified: d.PhoneNumberVerified, PasswordHash: d.PasswordHash,
		Status: domain.UserStatus(d.Status), HomeOrganizationID: d.HomeOrganizationID,
		PlatformAdmin: d.PlatformAdmin, PlatformLocked: d.PlatformLocked, NotBefore: d.NotBefore, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Profiles: profilesDomain(d.Profiles),
	}
}

func (d *userDoc) revision() int64 { return d.Rev }

// CreateUser stores a new user. ErrAlreadyExists if the id or the email is
// taken: the unique indexes on _id and email_key decide, in the insert.
func (s *UserStore) CreateUser(ctx context.Context, u domain.User) error {
	_, err := s.coll.InsertOne(ctx, newUserDoc(&u, 0))
	return translate("create user", err)
}

// GetUser returns a user by id. ErrNotFound if there is none.
func (s *UserStore) GetUser(ctx context.Context, id string) (domain.User, error) {
	var d userDoc
	if err := s.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return domain.User{}, translate("get user", err)
	}
	return d.domain(), nil
}

// GetUserByEmail returns the user with this email, compared
// case-insensitively through the normalised key.
func (s *UserStore) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	key := domain.NormalizeEmail(email)
	if key == "" {
		return domain.User{}, translate("get user by email", mongo.ErrNoDocuments)
	}
	var d userDoc
	if err := s.coll.FindOne(ctx, bson.M{"email_key": key}).Decode(&d); err != nil {
		return domain.User{}, translate("get user by email", err)
	}
	return d.domain(), nil
}

// UpdateUser applies fn to the stored user and writes the result with a
// compare-and-swap on its revision (see updateByRev). A change to a taken
// email fails on the unique index, writing nothing.
//
// The result's Profiles are a copy: fn may have put the caller's own map
// there.
func (s *UserStore) UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	u, err := updateByRev(ctx, s.coll, "update user", id,
		func(d *userDoc) domain.User { return d.domain() },
		func(u *domain.User, rev int64) any {
			u.ID = id // the id is the key; fn cannot move the record
			return newUserDoc(u, rev)
		}, fn)
	u.Profiles = domain.CloneProfiles(u.Profiles)
	return u, err
}

// BackfillUsers rewrites the user documents that an older version wrote
// without the lower-cased names (given_name_lc, family_name_lc), which
// SCIM's searches compare, or with an email_key of the older normalisation
// (Go's Unicode lower-casing, which made the Kelvin sign a "k", where
// domain.NormalizeEmail now lower-cases ASCII only: only addresses with
// other characters differ); it returns how many it rewrote. Module runs it
// in the background at every start (runBackfill): it finds nothing to do
// once every document has them, but it costs a scan of the users
// collection (no index serves a missing field), paid once per start.
// Until it has rewritten a document, and for documents that instances of
// an older version still running during a rolling upgrade write after it
// ran (the next start completes those), a search sees that user's names as
// "".
//
// Each document is rewritten through updateByRev with no change, so a
// concurrent UpdateUser is never lost: whichever writes second starts from
// the other's revision. The rewrite writes home_organization_id as read,
// "" when absent, which would end that field's backfill: runBackfill starts
// after Open has run BackfillDirectory, so the documents it finds have it.
func BackfillUsers(ctx context.Context, db *mongo.Database) (int, error) {
	coll := collectionOf(db, usersCollection)
	cur, err := coll.Find(ctx, bson.M{"$or": bson.A{
		bson.M{"given_name_lc": bson.M{"$exists": false}},
		bson.M{"email": bson.M{"$regex": "[^\\x00-\\x7f]"}},
	}}, options.Find().SetProjection(bson.M{"_id": 1, "given_name_lc": 1, "email": 1, "email_key": 1}))
	if err != nil {
		return 0, translate("backfill users", err)
	}
	var docs []struct {
		ID       string  `bson:"_id"`
		GivenLC  *string `bson:"given_name_lc"`
		Email    string  `bson:"email"`
		EmailKey string  `bson:"email_key"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, translate("backfill users", err)
	}
	n := 0
	for _, id := range docs {
		if id.GivenLC != nil && id.EmailKey == domain.NormalizeEmail(id.Email) {
			continue // a non-ASCII address whose key is already current
		}
		_, err := updateByRev(ctx, coll, "backfill users", id.ID,
			func(d *userDoc) domain.User { return d.domain() },
			func(u *domain.User, rev int64) any { return newUserDoc(u, rev) },
			func(*domain.User) error { return nil })
		switch {
		case errors.Is(err, domain.ErrNotFound):
			// Deleted meanwhile.
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}
