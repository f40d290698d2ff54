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
	"github.com/calimatic/calimatic-auth/ports"
)

// RunOrganizationStore checks an OrganizationStore against its port
// contract. newStore is called once per subtest; the store may hold other
// organizations.
func RunOrganizationStore(t *testing.T, newStore func(t *testing.T) ports.OrganizationStore) {
	runSubtests(t, newStore, append([]subtest[ports.OrganizationStore]{
		{"a created organization reads back by id and by slug", orgReadsBack},
		{"creating an organization whose id is taken fails with ErrAlreadyExists", orgDuplicateID},
		{"creating an organization whose slug is taken fails with ErrAlreadyExists", orgDuplicateSlug},
		{"reading a missing organization by id or by slug fails with ErrNotFound", orgMissing},
		{"an update stores what the callback made and moves the slug lookup", orgUpdate},
		{"an update whose callback fails writes nothing and returns the callback's error", orgUpdateRefused},
		{"updating a missing organization fails with ErrNotFound", orgUpdateMissing},
		{"concurrent updates of one organization lose none", orgConcurrentUpdates},
		{"each MFA policy reads back as created and as updated to", orgMFAPolicies},
		{"an organization written without an MFA policy reads back under off", orgMFAPolicyDefault},
		{"a membership in a missing organization fails with ErrNotFound", membershipMissingOrg},
		{"a user's memberships are listed oldest first", membershipsOldestFirst},
		{"putting a membership again replaces it", membershipReplaced},
		{"a user with no memberships gets an empty list", membershipsNone},
		{"a membership reads back, and a missing one fails with ErrNotFound", membershipReadsBack},
		{"a deleted membership is gone, and deleting it again fails with ErrNotFound", membershipDeleted},
		{"organizations are listed by id in pages", orgsPaged},
	}, slices.Concat(userNameOrgTests, orgSearchTests)...))
}

func sampleOrganization() domain.Organization {
	id := uuid.NewString()
	return domain.Organization{ID: id, Name: "Springfield Elementary", Slug: "springfield-" + id, MFAPolicy: domain.MFAOff, CreatedAt: epoch, UpdatedAt: epoch}
}

// mfaPolicies are every domain.MFAPolicy.
var mfaPolicies = []domain.MFAPolicy{domain.MFAOff, domain.MFAOptional, domain.MFARequiredForAdmins, domain.MFARequired}

// readsBackEverywhere checks that every read of an organization (by id, by
// slug, listed) returns want.
func readsBackEverywhere(t *testing.T, s ports.OrganizationStore, want domain.Organization, msg string) {
	t.Helper()
	got, err := s.GetOrganization(t.Context(), want.ID)
	require.NoError(t, err)
	assertSame(t, want, got, "%s: by id", msg)
	got, err = s.GetOrganizationBySlug(t.Context(), want.Slug)
	require.NoError(t, err)
	assertSame(t, want, got, "%s: by slug", msg)
	// The store may hold other organizations: page until want's id.
	for after := ""; ; {
		page, err := s.ListOrganizations(t.Context(), after, 100)
		require.NoError(t, err)
		require.NotEmpty(t, page, "%s: listed", msg)
		if i := slices.IndexFunc(page, func(o domain.Organization) bool { return o.ID == want.ID }); i >= 0 {
			assertSame(t, want, page[i], "%s: listed", msg)
			return
		}
		after = page[len(page)-1].ID
	}
}

func createOrganization(t *testing.T, s ports.OrganizationStore) domain.Organization {
	t.Helper()
	o := sampleOrganization()
	require.NoError(t, s.CreateOrganization(t.Context(), o))
	return o
}

func orgReadsBack(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	got, err := s.GetOrganization(t.Context(), o.ID)
	require.NoError(t, err)
	assertSame(t, o, got, "by id")
	got, err = s.GetOrganizationBySlug(t.Context(), o.Slug)
	require.NoError(t, err)
	assertSame(t, o, got, "by slug")
}

func orgDuplicateID(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	other := sampleOrganization()
	other.ID = o.ID
	require.ErrorIs(t, s.CreateOrganization(t.Context(), other), domain.ErrAlreadyExists)
	_, err := s.GetOrganizationBySlug(t.Context(), other.Slug)
	require.ErrorIs(t, err, domain.ErrNotFound, "the rejected organization's slug is not taken")
}

func orgDuplicateSlug(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	other := sampleOrganization()
	other.Slug = o.Slug
	require.ErrorIs(t, s.CreateOrganization(t.Context(), other), domain.ErrAlreadyExists)
	_, err := s.GetOrganization(t.Context(), other.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the rejected organization was not stored")
}

func orgMissing(t *testing.T, s ports.OrganizationStore) {
	_, err := s.GetOrganization(t.Context(), uuid.NewString())
	require.ErrorIs(t, err, domain.ErrNotFound, "by id")
	_, err = s.GetOrganizationBySlug(t.Context(), "nowhere-"+uuid.NewString())
	require.ErrorIs(t, err, domain.ErrNotFound, "by slug")
}

func orgUpdate(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	newSlug := "shelbyville-" + uuid.NewString()
	updated, err := s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
		o.Name, o.Slug, o.UpdatedAt = "Shelbyville Elementary", newSlug, epoch.Add(time.Hour)
		return nil
	})
	require.NoError(t, err)
	want := o
	want.Name, want.Slug, want.UpdatedAt = "Shelbyville Elementary", newSlug, epoch.Add(time.Hour)
	assertSame(t, want, updated, "the update returns the stored organization")
	got, err := s.GetOrganizationBySlug(t.Context(), newSlug)
	require.NoError(t, err)
	assertSame(t, want, got, "the new slug finds it")
	_, err = s.GetOrganizationBySlug(t.Context(), o.Slug)
	require.ErrorIs(t, err, domain.ErrNotFound, "the old slug finds nothing")
}

func orgUpdateRefused(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	_, err := s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
		o.Name = "Half-written"
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	got, err := s.GetOrganization(t.Context(), o.ID)
	require.NoError(t, err)
	assertSame(t, o, got)
}

func orgUpdateMissing(t *testing.T, s ports.OrganizationStore) {
	_, err := s.UpdateOrganization(t.Context(), uuid.NewString(), func(*domain.Organization) error { return nil })
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func orgConcurrentUpdates(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
			o.Name += "!"
			return nil
		})
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds")
	got, err := s.GetOrganization(t.Context(), o.ID)
	require.NoError(t, err)
	assert.Equal(t, o.Name+strings.Repeat("!", contenders), got.Name)
}

func orgMFAPolicies(t *testing.T, s ports.OrganizationStore) {
	for _, p := range mfaPolicies {
		o := sampleOrganization()
		o.MFAPolicy = p
		require.NoError(t, s.CreateOrganization(t.Context(), o))
		readsBackEverywhere(t, s, o, "created "+string(p))
		for _, next := range mfaPolicies {
			updated, err := s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
				o.MFAPolicy = next
				return nil
			})
			require.NoError(t, err)
			o.MFAPolicy = next
			assertSame(t, o, updated, "the update from %s to %s returns the stored organization", p, next)
			readsBackEverywhere(t, s, o, "updated from "+string(p)+" to "+string(next))
		}
	}
}

// orgMFAPolicyDefault: the zero MFAPolicy is an organization that never
// set one, which is under off, whether it was created so or an update left
// it so.
func orgMFAPolicyDefault(t *testing.T, s ports.OrganizationStore) {
	o := sampleOrganization()
	o.MFAPolicy = ""
	require.NoError(t, s.CreateOrganization(t.Context(), o))
	want := o
	want.MFAPolicy = domain.MFAOff
	readsBackEverywhere(t, s, want, "created without a policy")

	_, err := s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
		o.MFAPolicy = domain.MFARequired
		return nil
	})
	require.NoError(t, err)
	updated, err := s.UpdateOrganization(t.Context(), o.ID, func(o *domain.Organization) error {
		o.MFAPolicy = ""
		return nil
	})
	require.NoError(t, err)
	assertSame(t, want, updated, "an update that leaves no policy returns off")
	readsBackEverywhere(t, s, want, "updated to no policy")
}

func membershipMissingOrg(t *testing.T, s ports.OrganizationStore) {
	m := domain.Membership{OrganizationID: uuid.NewString(), UserID: uuid.NewString(), Role: domain.RoleMember, CreatedAt: epoch}
	require.ErrorIs(t, s.PutMembership(t.Context(), m), domain.ErrNotFound)
	got, err := s.ListUserMemberships(t.Context(), m.UserID)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing was stored")
}

func membershipsOldestFirst(t *testing.T, s ports.OrganizationStore) {
	userID := uuid.NewString()
	var want []domain.Membership
	for _, age := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		m := domain.Membership{
			OrganizationID: createOrganization(t, s).ID, UserID: userID,
			Role: domain.RoleMember, CreatedAt: epoch.Add(-age),
		}
		require.NoError(t, s.PutMembership(t.Context(), m))
		want = append(want, m)
	}
	want = []domain.Membership{want[0], want[2], want[1]}

	got, err := s.ListUserMemberships(t.Context(), userID)
	require.NoError(t, err)
	assertSame(t, want, got)
}

func membershipReplaced(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	m := domain.Membership{OrganizationID: o.ID, UserID: uuid.NewString(), Role: domain.RoleMember, Status: domain.MembershipPending, CreatedAt: epoch}
	require.NoError(t, s.PutMembership(t.Context(), m))
	m.Role, m.Status, m.Primary = domain.RoleAdmin, domain.MembershipActive, true
	require.NoError(t, s.PutMembership(t.Context(), m))

	got, err := s.ListUserMemberships(t.Context(), m.UserID)
	require.NoError(t, err)
	assertSame(t, []domain.Membership{m}, got)
}

func membershipsNone(t *testing.T, s ports.OrganizationStore) {
	got, err := s.ListUserMemberships(t.Context(), uuid.NewString())
	require.NoError(t, err)
	assert.Empty(t, got)
}

func membershipReadsBack(t *testing.T, s ports.OrganizationStore) {
	o := createOrganization(t, s)
	m := domain.Membership{OrganizationID: o.ID, UserID: uuid.NewString(), Role: "teacher", Status: domain.MembershipActive, Primary: true, CreatedAt: epoch}
	require.NoError(t, s.PutMembership(t.Context(), m))
	got, err := s.GetMembership(t.Context(), o.ID, m.UserID)
	require.NoError(t, err)
	assertSame(t, m, got)
	for _, st := range []domain.MembershipStatus{domain.MembershipSuspended, domain.MembershipPending} {
		m.Status, m.Primary = st, false
		require.NoError(t, s.PutMembership(t.Context(), m))
		got, err = s.GetMembership(t.Context(), o.ID, m.UserID)
		require.NoError(t, err)
		assertSame(t, m, got, "the status is kept as given")
	}
	_, err = s.GetMembership(t.Context(), o.ID, uuid.NewString())
	require.ErrorIs(t, err, domain.ErrNotFound, "another user")
	_, err = s.GetMembership(t.Context(), uuid.NewString(), m.UserID)
	require.ErrorIs(t, err, domain.ErrNotFound, "another organization")
}

func membershipDeleted(t *testing.T, s ports.OrganizationStore) {
	keep, drop := createOrganization(t, s), createOrganization(t, s)
	userID := uuid.NewString()
	for _, o := range []domain.Organization{keep, drop} {
		require.NoError(t, s.PutMembership(t.Context(), domain.Membership{OrganizationID: o.ID, UserID: userID, Role: domain.RoleMember, CreatedAt: epoch}))
	}
	require.NoError(t, s.DeleteMembership(t.Context(), drop.ID, userID))
	require.ErrorIs(t, s.DeleteMembership(t.Context(), drop.ID, userID), domain.ErrNotFound)
	got, err := s.ListUserMemberships(t.Context(), userID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, keep.ID, got[0].OrganizationID, "the other membership stays")
}

// orgsPaged reads its own organizations back through pages of two. The store
// may hold other organizations, so it checks order and that none of its own
// is skipped or repeated.
func orgsPaged(t *testing.T, s ports.OrganizationStore) {
	mine := map[string]bool{}
	for range 5 {
		mine[createOrganization(t, s).ID] = true
	}
	seen := map[string]bool{}
	after := ""
	for {
		page, err := s.ListOrganizations(t.Context(), after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 2)
		if len(page) == 0 {
			break
		}
		for _, o := range page {
			require.Greater(t, o.ID, after, "ordered by id, strictly after the cursor")
			require.False(t, seen[o.ID], "no organization twice")
			seen[o.ID] = true
			after = o.ID
		}
	}
	for id := range mine {
		assert.True(t, seen[id], "organization %s listed", id)
	}
}
