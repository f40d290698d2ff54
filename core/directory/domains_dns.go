package directory

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// DomainVerification is how PutDomain verifies a domain.
type DomainVerification string

// Ways to verify a domain.
const (
	// VerifyByAdmin takes a platform administrator's word for it.
	VerifyByAdmin DomainVerification = "admin"
	// VerifyByDNS looks for the organization's TXT record
	// (DomainChallenge) in the domain's DNS, as Google Workspace and
	// Microsoft 365 verify a school's domain.
	VerifyByDNS DomainVerification = "dns"
)

// DomainTXTPrefix starts the TXT record that verifies a domain.
const DomainTXTPrefix = "calimatic-domain-verification="

// DomainChallenge is the TXT record that proves an organization holds a
// domain: published at the domain itself, it verifies the domain for that
// organization and no other. It is derived from the two, so it needs no
// storage and never changes; it is no secret (only platform administrators
// can ask for a check), only a binding.
func DomainChallenge(orgID, name string) string {
	sum := sha256.Sum256([]byte("calimatic domain verification\x00" + orgID + "\x00" + domain.NormalizeDomain(name)))
	return DomainTXTPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
}

// verifyDomain checks a domain by method and returns who vouched for it.
// A domain the organization verified already stays verified whatever the
// method says, with its first voucher.
func (s *Service) verifyDomain(ctx context.Context, a *Admin, orgID, name string, method DomainVerification, before domain.VerifiedDomain) (string, error) {
	switch method {
	case VerifyByAdmin, "":
		return "admin:" + a.Key.ID, nil
	case VerifyByDNS:
	default:
		return "", fault.New(fault.Invalid, "invalid_method", "method must be %q or %q", VerifyByAdmin, VerifyByDNS)
	}
	if before.OrganizationID == orgID {
		return before.VerifiedBy, nil
	}
	if s.deps.TXT == nil {
		return "", fault.New(fault.Conflict, "dns_unavailable", "DNS verification is not configured on this server")
	}
	want := DomainChallenge(orgID, name)
	records, err := s.deps.TXT.LookupTXT(ctx, name)
	if err != nil {
		return "", fmt.Errorf("look up TXT records of %s: %w", name, domain.ErrUnavailable)
	}
	if !slices.Contains(records, want) {
		return "", fault.New(fault.Conflict, "dns_record_not_found",
			"publish a TXT record %q at %s, wait for it to be served, then try again", want, name)
	}
	return "dns", nil
}
