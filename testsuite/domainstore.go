package testsuite

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// DomainStores are one backend's domain store and the organization store
// whose organizations it checks.
type DomainStores struct {
	Orgs    ports.OrganizationStore
	Domains ports.DomainStore
}

// RunDomainStore checks a DomainStore against its port contract.
func RunDomainStore(t *testing.T, newStores func(t *testing.T) DomainStores) {
	runSubtests(t, newStores, []subtest[DomainStores]{
		{"a verified domain reads back by name and in its organization's list", domainReadsBack},
		{"putting a domain again keeps its creation time and takes the new verifier", domainPutAgain},
		{"a domain another organization verified fails with ErrAlreadyExists", domainTaken},
		{"a domain for a missing organization fails with ErrNotFound", domainMissingOrg},
		{"an unknown domain fails with ErrNotFound", domainUnknown},
		{"deleting frees the domain; another organization's or an unknown one fails with ErrNotFound", domainDelete},
	})
}

// RunDomainStoreConcurrency checks that of parallel claims of one domain by
// different organizations exactly one wins.
func RunDomainStoreConcurrency(t *testing.T, newStores func(t *testing.T) DomainStores) {
	runSubtests(t, newStores, []subtest[DomainStores]{
		{"parallel claims of one domain by many organizations have one winner", domainParallel},
	})
}

func uniqueDomain() string { return "d" + uuid.NewString()[:8] + ".school.test" }

func verified(orgID, name string) domain.VerifiedDomain {
	return domain.VerifiedDomain{Domain: name, OrganizationID: orgID, VerifiedBy: "admin:" + uuid.NewString(), CreatedAt: epoch}
}

func domainReadsBack(t *testing.T, s DomainStores) {
	o := createOrganization(t, s.Orgs)
	b, a := verified(o.ID, "b"+uniqueDomain()), verified(o.ID, "a"+uniqueDomain())
	for _, d := range []domain.VerifiedDomain{b, a} {
		got, err := s.Domains.PutDomain(t.Context(), d)
		require.NoError(t, err)
		assertSame(t, d, got)
	}
	got, err := s.Domains.GetDomain(t.Context(), a.Domain)
	require.NoError(t, err)
	assertSame(t, a, got)
	list, err := s.Domains.ListDomains(t.Context(), o.ID)
	require.NoError(t, err)
	assertSame(t, []domain.VerifiedDomain{a, b}, list, "ordered by name")
	list, err = s.Domains.ListDomains(t.Context(), createOrganization(t, s.Orgs).ID)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func domainPutAgain(t *testing.T, s DomainStores) {
	o := createOrganization(t, s.Orgs)
	d := verified(o.ID, uniqueDomain())
	_, err := s.Domains.PutDomain(t.Context(), d)
	require.NoError(t, err)
	again := d
	again.VerifiedBy, again.CreatedAt = "admin:other", epoch.Add(time.Hour)
	got, err := s.Domains.PutDomain(t.Context(), again)
	require.NoError(t, err)
	want := again
	want.CreatedAt = d.CreatedAt
	assertSame(t, want, got)
	stored, err := s.Domains.GetDomain(t.Context(), d.Domain)
	require.NoError(t, err)
	assertSame(t, want, stored)
}

func domainTaken(t *testing.T, s DomainStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	d := verified(a.ID, uniqueDomain())
	_, err := s.Domains.PutDomain(t.Context(), d)
	require.NoError(t, err)
	_, err = s.Domains.PutDomain(t.Context(), verified(b.ID, d.Domain))
	require.ErrorIs(t, err, domain.ErrAlreadyExists)
	got, err := s.Domains.GetDomain(t.Context(), d.Domain)
	require.NoError(t, err)
	assertSame(t, d, got, "the first organization keeps it")
}

func domainMissingOrg(t *testing.T, s DomainStores) {
	d := verified(uuid.NewString(), uniqueDomain())
	_, err := s.Domains.PutDomain(t.Context(), d)
	require.ErrorIs(t, err, domain.ErrNotFound)
	_, err = s.Domains.GetDomain(t.Context(), d.Domain)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing was stored")
}

func domainUnknown(t *testing.T, s DomainStores) {
	_, err := s.Domains.GetDomain(t.Context(), uniqueDomain())
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func domainDelete(t *testing.T, s DomainStores) {
	a, b := createOrganization(t, s.Orgs), createOrganization(t, s.Orgs)
	d := verified(a.ID, uniqueDomain())
	_, err := s.Domains.PutDomain(t.Context(), d)
	require.NoError(t, err)
	require.ErrorIs(t, s.Domains.DeleteDomain(t.Context(), b.ID, d.Domain), domain.ErrNotFound, "another organization's")
	require.ErrorIs(t, s.Domains.DeleteDomain(t.Context(), a.ID, uniqueDomain()), domain.ErrNotFound)
	require.NoError(t, s.Domains.DeleteDomain(t.Context(), a.ID, d.Domain))
	_, err = s.Domains.GetDomain(t.Context(), d.Domain)
	require.ErrorIs(t, err, domain.ErrNotFound)
	_, err = s.Domains.PutDomain(t.Context(), verified(b.ID, d.Domain))
	require.NoError(t, err, "the domain is free for another organization")
}

func domainParallel(t *testing.T, s DomainStores) {
	name := uniqueDomain()
	orgs := make([]domain.Organization, contenders)
	for i := range orgs {
		orgs[i] = createOrganization(t, s.Orgs)
	}
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.Domains.PutDomain(t.Context(), verified(orgs[i].ID, name))
	})
	ok, taken := countErrors(errs, domain.ErrAlreadyExists)
	assert.Equal(t, 1, ok, "one organization verified it")
	assert.Equal(t, contenders-1, taken, "the others were refused")
}
