package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func scimID(prefix string) string { return prefix + randomID() }

// The adapter's own tests of SearchUsers' translation, against a fixed
// directory: each filter's matches, in user id order.
func TestSCIMSearchTranslation(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	users, orgs, scim := postgres.NewUserStore(pool), postgres.NewOrganizationStore(pool), postgres.NewSCIMStore(pool)

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	orgA, orgB := scimID("org-a-"), scimID("org-b-")
	for _, id := range []string{orgA, orgB} {
		require.NoError(t, orgs.CreateOrganization(ctx, domain.Organization{ID: id, Name: id, Slug: id, CreatedAt: t0}))
	}
	p := scimID("u-")
	u1, u2, u3, u4 := p+"-1", p+"-2", p+"-3", p+"-4"
	all := []domain.User{
		{ID: u1, Email: p + "alice@example.com", GivenName: "Alice", FamilyName: "Smith", Status: domain.UserActive,
			CreatedAt: t0, UpdatedAt: t0, Profiles: map[string]domain.OrgProfile{
				orgA: {ExternalID: "ext-1", DisplayName: "Alice S", Department: "R&D_100%", ManagerID: u2,
					EmployeeNumber: "E7", ManagerName: "Bob",
					Emails:       []domain.MultiValue{{Value: "Alice.Work@Corp.com", Type: "Work", Primary: true}},
					PhoneNumbers: []domain.MultiValue{{Value: "+1 555", Type: "mobile"}}},
				orgB: {ExternalID: "ext-B"},
			}},
		{ID: u2, Email: p + "bob@example.com", GivenName: "Bob", Status: domain.UserSuspended,
			CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour), Profiles: map[string]domain.OrgProfile{
				orgA: {ExternalID: "ext-2", Department: "Sales"},
			}},
		{ID: u3, Email: p + "carol@example.com", GivenName: "Carol", Status: domain.UserInvited},
		// u4 has a profile for A but is a member of B only.
		{ID: u4, Email: p + "dave@example.com", Status: domain.UserActive, Profiles: map[string]domain.OrgProfile{
			orgA: {ExternalID: "ext-1"},
		}},
	}
	for _, u := range all {
		require.NoError(t, users.CreateUser(ctx, u))
	}
	// userName is the membership's own name: in A, u1 and u2 are named in
	// mixed case (u2 beyond ASCII) and u3 has no name; in B, u1 has another.
	for _, m := range []domain.Membership{
		{OrganizationID: orgA, UserID: u1, UserName: p + "Alice@Example.com"},
		{OrganizationID: orgA, UserID: u2, UserName: p + "BJÖRN@Example.com"},
		{OrganizationID: orgA, UserID: u3},
		{OrganizationID: orgB, UserID: u1, UserName: "Alice-B"},
		{OrganizationID: orgB, UserID: u4, UserName: p + "dave@example.com"},
	} {
		m.Role = "member"
		require.NoError(t, orgs.PutMembership(ctx, m))
	}

	got, err := users.GetUser(ctx, u1)
	require.NoError(t, err)
	assert.Equal(t, all[0].Profiles, got.Profiles, "profiles round-trip")

	cmp := func(f domain.UserField, op domain.FilterOp, v any) *domain.Compare {
		return &domain.Compare{Field: f, Op: op, Value: v}
	}
	cases := []struct {
		name   string
		org    string
		filter domain.UserFilter
		want   []string
	}{
		{"no filter", orgA, nil, []string{u1, u2, u3}},
		{"externalId eq", orgA, cmp(domain.FieldExternalID, domain.OpEq, "ext-1"), []string{u1}},
		{"externalId is exact", orgA, cmp(domain.FieldExternalID, domain.OpEq, "EXT-1"), nil},
		{"externalId eq empty", orgA, cmp(domain.FieldExternalID, domain.OpEq, ""), []string{u3}},
		{"externalId ne", orgA, cmp(domain.FieldExternalID, domain.OpNe, "ext-1"), []string{u2, u3}},
		{"externalId of another organization", orgB, cmp(domain.FieldExternalID, domain.OpEq, "ext-1"), nil},
		{"externalId in B", orgB, cmp(domain.FieldExternalID, domain.OpEq, "ext-B"), []string{u1}},
		{"externalId pr", orgA, cmp(domain.FieldExternalID, domain.OpPr, nil), []string{u1, u2}},
		{"userName eq", orgA, cmp(domain.FieldUserName, domain.OpEq, p+"ALICE@example.com"), []string{u1}},
		{"userName eq beyond ASCII", orgA, cmp(domain.FieldUserName, domain.OpEq, p+"björn@EXAMPLE.com"), []string{u2}},
		{"userName eq empty", orgA, cmp(domain.FieldUserName, domain.OpEq, ""), []string{u3}},
		{"userName is not the account email", orgA, cmp(domain.FieldUserName, domain.OpEq, p+"bob@example.com"), nil},
		{"userName ne", orgA, cmp(domain.FieldUserName, domain.OpNe, p+"alice@example.com"), []string{u2, u3}},
		{"userName sw", orgA, cmp(domain.FieldUserName, domain.OpSw, p+"BJÖ"), []string{u2}},
		{"userName ew", orgA, cmp(domain.FieldUserName, domain.OpEw, "@EXAMPLE.COM"), []string{u1, u2}},
		{"userName co", orgA, cmp(domain.FieldUserName, domain.OpCo, "ÖRN@"), []string{u2}},
		{"userName gt", orgA, cmp(domain.FieldUserName, domain.OpGt, p+"B"), []string{u2}},
		{"userName pr", orgA, cmp(domain.FieldUserName, domain.OpPr, nil), []string{u1, u2}},
		{"userName in another organization", orgB, cmp(domain.FieldUserName, domain.OpEq, "alice-b"), []string{u1}},
		{"userName of another organization", orgB, cmp(domain.FieldUserName, domain.OpEq, p+"alice@example.com"), nil},
		{"emails.value profile email", orgA, cmp(domain.FieldEmailValue, domain.OpEq, "alice.work@CORP.com"), []string{u1}},
		{"emails.value account email", orgA, cmp(domain.FieldEmailValue, domain.OpEq, p+"bob@example.com"), []string{u2}},
		{"emails.value co", orgA, cmp(domain.FieldEmailValue, domain.OpCo, "@corp."), []string{u1}},
		{"emails.value pr", orgA, cmp(domain.FieldEmailValue, domain.OpPr, nil), []string{u1, u2, u3}},
		{"emails.value ne", orgA, cmp(domain.FieldEmailValue, domain.OpNe, "alice.work@corp.com"), []string{u2, u3}},
		{"emails.type eq", orgA, cmp(domain.FieldEmailType, domain.OpEq, "WORK"), []string{u1}},
		{"emails.type eq empty matches no value", orgA, cmp(domain.FieldEmailType, domain.OpEq, ""), nil},
		{"emails.type ne", orgA, cmp(domain.FieldEmailType, domain.OpNe, "work"), []string{u2, u3}},
		{"phoneNumbers.value pr", orgA, cmp(domain.FieldPhoneValue, domain.OpPr, nil), []string{u1}},
		{"phoneNumbers.type eq", orgA, cmp(domain.FieldPhoneType, domain.OpEq, "Mobile"), []string{u1}},
		{"department co escapes %", orgA, cmp(domain.FieldDepartment, domain.OpCo, "D%1"), nil},
		{"department co escapes _", orgA, cmp(domain.FieldDepartment, domain.OpCo, "&d_1"), []string{u1}},
		{"department co _ is literal", orgA, cmp(domain.FieldDepartment, domain.OpCo, "s_l"), nil},
		{"department ew %", orgA, cmp(domain.FieldDepartment, domain.OpEw, "0%"), []string{u1}},
		{"department sw", orgA, cmp(domain.FieldDepartment, domain.OpSw, "r&D_"), []string{u1}},
		{"department co backslash", orgA, cmp(domain.FieldDepartment, domain.OpCo, `\`), nil},
		{"department co empty", orgA, cmp(domain.FieldDepartment, domain.OpCo, ""), []string{u1, u2, u3}},
		{"department pr", orgA, cmp(domain.FieldDepartment, domain.OpPr, nil), []string{u1, u2}},
		{"displayName eq", orgA, cmp(domain.FieldDisplayName, domain.OpEq, "alice s"), []string{u1}},
		{"employeeNumber eq", orgA, cmp(domain.FieldEmployeeNumber, domain.OpEq, "e7"), []string{u1}},
		{"manager.value eq", orgA, cmp(domain.FieldManagerID, domain.OpEq, u2), []string{u1}},
		{"active eq true", orgA, cmp(domain.FieldActive, domain.OpEq, true), []string{u1, u3}},
		{"active eq false", orgA, cmp(domain.FieldActive, domain.OpEq, false), []string{u2}},
		{"active ne true", orgA, cmp(domain.FieldActive, domain.OpNe, true), []string{u2}},
		{"active pr", orgA, cmp(domain.FieldActive, domain.OpPr, nil), []string{u1, u2, u3}},
		{"meta.created eq", orgA, cmp(domain.FieldCreated, domain.OpEq, t0), []string{u1}},
		{"meta.created gt", orgA, cmp(domain.FieldCreated, domain.OpGt, t0), []string{u2}},
		{"meta.created ge", orgA, cmp(domain.FieldCreated, domain.OpGe, t0.In(time.FixedZone("x", 3600))), []string{u1, u2}},
		{"meta.created lt: a zero time is the earliest", orgA, cmp(domain.FieldCreated, domain.OpLt, t0), []string{u3}},
		{"meta.created ne", orgA, cmp(domain.FieldCreated, domain.OpNe, t0), []string{u2, u3}},
		{"meta.lastModified le", orgA, cmp(domain.FieldLastModified, domain.OpLe, t0), []string{u1, u3}},
		{"givenName gt", orgA, cmp(domain.FieldGivenName, domain.OpGt, "B"), []string{u2, u3}},
		{"givenName lt", orgA, cmp(domain.FieldGivenName, domain.OpLt, "b"), []string{u1}},
		{"familyName eq empty", orgA, cmp(domain.FieldFamilyName, domain.OpEq, ""), []string{u2, u3}},
		{"id eq", orgA, cmp(domain.FieldID, domain.OpEq, u2), []string{u2}},
		{"id of a non-member", orgA, cmp(domain.FieldID, domain.OpEq, u4), nil},
		{"injection is a value", orgA, cmp(domain.FieldDisplayName, domain.OpEq, "x' OR '1'='1"), nil},
		{"and", orgA, &domain.And{
			Left:  cmp(domain.FieldActive, domain.OpEq, true),
			Right: cmp(domain.FieldGivenName, domain.OpSw, "c"),
		}, []string{u3}},
		{"or", orgA, &domain.Or{
			Left:  cmp(domain.FieldExternalID, domain.OpEq, "ext-2"),
			Right: cmp(domain.FieldGivenName, domain.OpSw, "c"),
		}, []string{u2, u3}},
		{"not of a multi-valued field", orgA, &domain.Not{X: cmp(domain.FieldEmailType, domain.OpPr, nil)}, []string{u2, u3}},
		{"not of an and", orgA, &domain.Not{X: &domain.And{
			Left:  cmp(domain.FieldActive, domain.OpEq, true),
			Right: cmp(domain.FieldDepartment, domain.OpEq, ""),
		}}, []string{u1, u2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: c.org, Filter: c.filter, Limit: 100})
			require.NoError(t, err)
			var ids []string
			for _, m := range page.Members {
				ids = append(ids, m.User.ID)
				assert.Equal(t, c.org, m.Membership.OrganizationID)
			}
			assert.Equal(t, c.want, ids)
			assert.Equal(t, len(c.want), page.Total)
		})
	}

	t.Run("members carry their profiles", func(t *testing.T) {
		page, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: orgA,
			Filter: cmp(domain.FieldID, domain.OpEq, u1), Limit: 1})
		require.NoError(t, err)
		require.Len(t, page.Members, 1)
		assert.Equal(t, all[0].Profiles, page.Members[0].User.Profiles)
	})

	t.Run("paging", func(t *testing.T) {
		for _, c := range []struct {
			offset, limit int
			want          []string
		}{
			{0, 2, []string{u1, u2}},
			{1, 1, []string{u2}},
			{2, 10, []string{u3}},
			{3, 10, nil},
			{50, 10, nil},
			{0, 0, nil},
			{1, 0, nil},
		} {
			page, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: orgA, Offset: c.offset, Limit: c.limit})
			require.NoError(t, err)
			var ids []string
			for _, m := range page.Members {
				ids = append(ids, m.User.ID)
			}
			assert.Equal(t, c.want, ids, "offset %d limit %d", c.offset, c.limit)
			assert.Equal(t, 3, page.Total, "offset %d limit %d", c.offset, c.limit)
			assert.NotNil(t, page.Members)
		}
	})

	t.Run("a long conjunction is translated flat", func(t *testing.T) {
		var f domain.UserFilter = cmp(domain.FieldActive, domain.OpPr, nil)
		for range 300 {
			f = &domain.And{Left: f, Right: cmp(domain.FieldDepartment, domain.OpCo, "")}
		}
		page, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: orgA, Filter: f, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 3, page.Total)
	})

	t.Run("a deep negation within bounds", func(t *testing.T) {
		var f domain.UserFilter = cmp(domain.FieldExternalID, domain.OpEq, "ext-1")
		for range 400 {
			f = &domain.Not{X: f}
		}
		page, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: orgA, Filter: f, Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, 1, page.Total)
	})

	t.Run("an oversized filter is refused", func(t *testing.T) {
		var f domain.UserFilter = cmp(domain.FieldActive, domain.OpPr, nil)
		for range 2000 {
			f = &domain.Or{Left: f, Right: cmp(domain.FieldDepartment, domain.OpCo, "x")}
		}
		_, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: orgA, Filter: f, Limit: 10})
		assert.Error(t, err)
		deep := domain.UserFilter(cmp(domain.FieldActive, domain.OpPr, nil))
		for range 5000 {
			deep = &domain.Not{X: deep}
		}
		_, err = scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: orgA, Filter: deep, Limit: 10})
		assert.Error(t, err)
	})

	t.Run("an unknown organization has no members", func(t *testing.T) {
		for _, org := range []string{"nope", "x\x00y", "\xff"} {
			page, err := scim.SearchUsers(ctx, domain.UserQuery{OrganizationID: org, Limit: 10})
			require.NoError(t, err)
			assert.Empty(t, page.Members)
			assert.Zero(t, page.Total)
		}
	})
}

func TestSCIMTokens(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	orgs, scim := postgres.NewOrganizationStore(pool), postgres.NewSCIMStore(pool)
	org := scimID("org-")
	require.NoError(t, orgs.CreateOrganization(ctx, domain.Organization{ID: org, Name: org, Slug: org}))

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := domain.SCIMToken{ID: "b", OrganizationID: org, Name: "entra", Hash: []byte("hash-a"),
		SignInEmail: domain.SignInUserName, CreatedAt: t0}
	b := domain.SCIMToken{ID: "a", OrganizationID: org, Name: "okta", Hash: []byte("hash-b"), CreatedAt: t0}
	c := domain.SCIMToken{ID: "c", OrganizationID: org, Name: "old", Hash: []byte("hash-c")}
	for _, tok := range []domain.SCIMToken{a, b, c} {
		require.NoError(t, scim.CreateSCIMToken(ctx, tok))
	}
	assert.ErrorIs(t, scim.CreateSCIMToken(ctx, domain.SCIMToken{ID: "d", OrganizationID: org, Hash: a.Hash}),
		domain.ErrAlreadyExists)
	assert.ErrorIs(t, scim.CreateSCIMToken(ctx, domain.SCIMToken{ID: "a", OrganizationID: org, Hash: []byte("new")}),
		domain.ErrAlreadyExists)
	assert.ErrorIs(t, scim.CreateSCIMToken(ctx, domain.SCIMToken{ID: "e", OrganizationID: "missing", Hash: []byte("e")}),
		domain.ErrNotFound)

	got, err := scim.GetSCIMToken(ctx, a.Hash)
	require.NoError(t, err)
	assert.Equal(t, a, got)
	_, err = scim.GetSCIMToken(ctx, []byte("unknown"))
	assert.ErrorIs(t, err, domain.ErrNotFound)

	list, err := scim.ListSCIMTokens(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, []domain.SCIMToken{c, b, a}, list, "oldest first (a zero time first), ties by id")
	list, err = scim.ListSCIMTokens(ctx, "other")
	require.NoError(t, err)
	assert.Equal(t, []domain.SCIMToken{}, list)

	assert.ErrorIs(t, scim.DeleteSCIMToken(ctx, "other", a.ID), domain.ErrNotFound)
	require.NoError(t, scim.DeleteSCIMToken(ctx, org, a.ID))
	assert.ErrorIs(t, scim.DeleteSCIMToken(ctx, org, a.ID), domain.ErrNotFound)
	_, err = scim.GetSCIMToken(ctx, a.Hash)
	assert.ErrorIs(t, err, domain.ErrNotFound)

	_, err = pool.Exec(ctx, `DELETE FROM organizations WHERE id = $1`, org)
	require.NoError(t, err)
	_, err = scim.GetSCIMToken(ctx, b.Hash)
	assert.ErrorIs(t, err, domain.ErrNotFound, "the tokens go with their organization")
}

// Profiles that jsonb cannot hold faithfully are refused as text columns
// refuse such text.
func TestProfilesWithBadTextAreRefused(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	users := postgres.NewUserStore(pool)
	for _, bad := range []string{"a\x00b", "\xff"} {
		u := domain.User{ID: scimID("u-"), Email: scimID("e") + "@example.com", Status: domain.UserActive,
			Profiles: map[string]domain.OrgProfile{"org": {Department: bad}}}
		err := users.CreateUser(ctx, u)
		assert.ErrorIs(t, err, domain.ErrNotFound)
	}
}
