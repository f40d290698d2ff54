package testsuite

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// ---- search fixtures ----

// putMember makes the user a member named after their email, as
// provisioning names one.
func putMember(t *testing.T, s SCIMStores, orgID, userID string) {
	t.Helper()
	u, err := s.Users.GetUser(t.Context(), userID)
	require.NoError(t, err)
	require.NoError(t, s.Orgs.PutMembership(t.Context(), domain.Membership{
		OrganizationID: orgID, UserID: userID, Role: domain.RoleMember, UserName: u.Email, CreatedAt: epoch,
	}))
}

func memberIDs(ms []domain.Member) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.User.ID)
	}
	return out
}

func eq(f domain.UserField, v any) domain.UserFilter {
	return &domain.Compare{Field: f, Op: domain.OpEq, Value: v}
}

func cmpf(f domain.UserField, op domain.FilterOp, v any) domain.UserFilter {
	return &domain.Compare{Field: f, Op: op, Value: v}
}

func pr(f domain.UserField) domain.UserFilter { return &domain.Compare{Field: f, Op: domain.OpPr} }

// searchDir is one organization's directory made for the search checks.
// Its members, by name:
//
//	alice  active       Alice / Smith     full profile, manager bob
//	bob    invited      Bob / Jones       profile with work email and mobile
//	carol  suspended    Carol / SMITH     no profile at all
//	dave   deactivated  (no names)        a profile for another organization only
//	erin   active       50%_off / back\slash  metacharacters, a phone without a value
//	frank  active       Frank / O'Brien   metacharacters; profile without employee number
//
// outsider is a member of another organization only, who looks like alice
// and even has a profile for this organization.
type searchDir struct {
	org, other domain.Organization
	suffix     string
	users      map[string]domain.User
}

func (d *searchDir) id(name string) string { return d.users[name].ID }

// ids returns the named members' ids in id order.
func (d *searchDir) ids(names ...string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		u, ok := d.users[n]
		if !ok {
			panic("no member " + n)
		}
		out = append(out, u.ID)
	}
	slices.Sort(out)
	return out
}

// searchDirMembers is every member's name.
var searchDirMembers = []string{"alice", "bob", "carol", "dave", "erin", "frank"}

func newSearchDir(t *testing.T, s SCIMStores) *searchDir {
	t.Helper()
	d := &searchDir{
		org: createOrganization(t, s.Orgs), other: createOrganization(t, s.Orgs),
		suffix: strings.ReplaceAll(uuid.NewString(), "-", ""), users: map[string]domain.User{},
	}
	mk := func(name, domainPart string, hours int, status domain.UserStatus, given, family string) domain.User {
		u := sampleUser()
		u.Email = name + "." + d.suffix + "@" + domainPart
		u.GivenName, u.FamilyName, u.Status = given, family, status
		u.CreatedAt = epoch.Add(time.Duration(hours) * time.Hour)
		u.UpdatedAt = u.CreatedAt.Add(30 * time.Minute)
		return u
	}
	bob := mk("bob", "y.test", 1, domain.UserInvited, "Bob", "Jones")
	bob.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "ext-bob", DisplayName: "Bob Jones", EmployeeNumber: "e200", Department: "science",
		Emails:       []domain.MultiValue{{Value: "bob@school.test", Type: "work", Primary: true}},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 0200", Type: "Mobile"}},
	}}
	alice := mk("alice", "x.test", 0, domain.UserActive, "Alice", "Smith")
	alice.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "EXT-Alice", DisplayName: "Alice Smith", EmployeeNumber: "E100", Department: "Math",
		ManagerID: bob.ID, ManagerName: "Bob Jones",
		Emails: []domain.MultiValue{
			{Value: "alice.work@school.test", Type: "work", Primary: true},
			{Value: "Alice.Home@Mail.test", Type: "home"},
		},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 0100", Type: "work"}},
	}}
	carol := mk("carol", "x.test", 2, domain.UserSuspended, "Carol", "SMITH")
	dave := mk("dave", "z.test", 3, domain.UserDeactivated, "", "")
	dave.Profiles = map[string]domain.OrgProfile{d.other.ID: {
		ExternalID: "EXT-Alice", DisplayName: "Dave Other", EmployeeNumber: "E100", Department: "Math",
		ManagerID:    bob.ID,
		Emails:       []domain.MultiValue{{Value: "dave@school.test", Type: "work"}},
		PhoneNumbers: []domain.MultiValue{{Value: "+1 555 0300", Type: "work"}},
	}}
	erin := mk("erin", "x.test", 4, domain.UserActive, "50%_off", `back\slash`)
	erin.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "x_y", DisplayName: "a.*b", Department: "100%",
		PhoneNumbers: []domain.MultiValue{{Value: "", Type: "fax"}},
	}}
	frank := mk("frank", "x.test", 5, domain.UserActive, "Frank", "O'Brien")
	frank.Profiles = map[string]domain.OrgProfile{d.org.ID: {
		ExternalID: "xzy", DisplayName: "aXYZb", Department: "R&D [lab] (x|y)+?^$",
	}}
	for name, u := range map[string]domain.User{"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin, "frank": frank} {
		require.NoError(t, s.Users.CreateUser(t.Context(), u), name)
		putMember(t, s, d.org.ID, u.ID)
		d.users[name] = u
	}
	putMember(t, s, d.other.ID, dave.ID)

	outsider := mk("outsider", "x.test", 0, domain.UserActive, "Alice", "Smith")
	outsider.Profiles = map[string]domain.OrgProfile{d.org.ID: alice.Profiles[d.org.ID].Clone(), d.other.ID: alice.Profiles[d.org.ID].Clone()}
	require.NoError(t, s.Users.CreateUser(t.Context(), outsider))
	putMember(t, s, d.other.ID, outsider.ID)
	d.users["outsider"] = outsider
	return d
}

// expect checks that filter matches exactly the named members.
func (d *searchDir) expect(t *testing.T, s SCIMStores, filter domain.UserFilter, names ...string) {
	t.Helper()
	page, err := s.SCIM.SearchUsers(t.Context(), domain.UserQuery{OrganizationID: d.org.ID, Filter: filter, Limit: 100})
	require.NoError(t, err, describeFilter(filter))
	want := d.ids(names...)
	got := memberIDs(page.Members)
	if !assert.Equal(t, d.names(want), d.names(got), describeFilter(filter)) {
		return
	}
	assert.Equal(t, len(want), page.Total, "total of %s", describeFilter(filter))
}

// names turns ids back into member names, to make failures readable.
func (d *searchDir) names(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		name := id
		for n, u := range d.users {
			if u.ID == id {
				name = n
			}
		}
		out = append(out, name)
	}
	return out
}

func describeFilter(f domain.UserFilter) string {
	switch f := f.(type) {
	case nil:
		return "<nil>"
	case *domain.Compare:
		if f.Op == domain.OpPr {
			return string(f.Field) + " pr"
		}
		if tm, ok := f.Value.(time.Time); ok {
			return string(f.Field) + " " + string(f.Op) + " " + tm.Format(time.RFC3339)
		}
		return string(f.Field) + " " + string(f.Op) + " " + strings.TrimSpace(strings.ReplaceAll(
			strings.ReplaceAll(fmtValue(f.Value), "\n", " "), "\t", " "))
	case *domain.And:
		return "(" + describeFilter(f.Left) + " and " + describeFilter(f.Right) + ")"
	case *domain.Or:
		return "(" + describeFilter(f.Left) + " or " + describeFilter(f.Right) + ")"
	case *domain.Not:
		return "not(" + describeFilter(f.X) + ")"
	}
	return "?"
}

func fmtValue(v any) string {
	switch v := v.(type) {
	case string:
		return `"` + v + `"`
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return "?"
}
