package mongo_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// BenchmarkSCIMLookups measures the providers' lookups, one filter of one
// comparison each, in an organization of benchMembers members, each named
// after its email (as provisioning names them by default):
//
//	CALIMATIC_TEST_MONGO_URI=mongodb://127.0.0.1:27118/ go test -run '^$' \
//	  -bench SCIMLookups -benchtime 200x ./adapters/mongo/
func BenchmarkSCIMLookups(b *testing.B) {
	const benchMembers = 500
	db := testDB(b)
	users, orgs, scim := mongoadapter.NewUserStore(db), mongoadapter.NewOrganizationStore(db), mongoadapter.NewSCIMStore(db)
	org := uuid.NewString()
	require.NoError(b, orgs.CreateOrganization(b.Context(), domain.Organization{
		ID: org, Name: "Bench", Slug: "bench-" + org[:8], CreatedAt: scimEpoch, UpdatedAt: scimEpoch,
	}))
	members := make([]domain.User, benchMembers)
	for i := range members {
		u := scimUser("Bench"+strconv.Itoa(i), domain.UserActive)
		u.Profiles = map[string]domain.OrgProfile{org: {ExternalID: "ext-" + u.ID}}
		require.NoError(b, users.CreateUser(b.Context(), u))
		require.NoError(b, orgs.PutMembership(b.Context(), domain.Membership{
			OrganizationID: org, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive,
			UserName: u.Email, CreatedAt: scimEpoch,
		}))
		members[i] = u
	}
	for _, tc := range []struct {
		name  string
		field domain.UserField
		value func(u domain.User) string
	}{
		{"userName eq", domain.FieldUserName, func(u domain.User) string { return u.Email }},
		{"externalId eq", domain.FieldExternalID, func(u domain.User) string { return "ext-" + u.ID }},
		{"id eq", domain.FieldID, func(u domain.User) string { return u.ID }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				u := members[i%len(members)]
				i++
				page, err := scim.SearchUsers(b.Context(), domain.UserQuery{OrganizationID: org, Limit: 10,
					Filter: &domain.Compare{Field: tc.field, Op: domain.OpEq, Value: tc.value(u)}})
				if err != nil || page.Total != 1 {
					b.Fatal(fmt.Sprint("search: ", page.Total, err))
				}
			}
		})
	}
}
