package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// FederatedAccount is the account of an upstream user who has none yet:
// what their organization's identity provider said of them.
type FederatedAccount struct {
	OrganizationID string
	Email          string
	GivenName      string
	FamilyName     string
	// Link is the upstream identity to tie to the new account; its UserID
	// and CreatedAt are filled in here.
	Link domain.LinkedIdentity
}

// ErrAccountExists: an account has the email by now (CreateFederated
// raced another sign-up); the linking rules decide again.
var ErrAccountExists = errors.New("an account has this email")

// ErrIdentityLinked: the upstream identity is linked by now (two sign-ins
// of one upstream user raced); the link decides again.
var ErrIdentityLinked = errors.New("the upstream identity is linked")

// CreateFederated creates, just in time, the account of a user whom their
// organization's identity provider vouched for: active, with a verified
// email and no password, homed in and an active member of that
// organization, linked to the upstream identity. The account, the link and
// user.created are one unit.
func (s *Service) CreateFederated(ctx context.Context, in FederatedAccount) (domain.User, error) {
	email := domain.NormalizeEmail(in.Email)
	if !domain.ValidEmail(email) {
		return domain.User{}, fault.New(fault.Invalid, "invalid_email", "email %q is not a valid address", clip(in.Email))
	}
	return unit(s, ctx, func(ctx context.Context) (domain.User, error) {
		now := s.now()
		u := domain.User{
			ID: s.deps.Random.UUID(), Email: email, EmailVerified: true,
			GivenName: federatedName(in.GivenName), FamilyName: federatedName(in.FamilyName),
			Status: domain.UserActive, HomeOrganizationID: in.OrganizationID, CreatedAt: now, UpdatedAt: now,
		}
		res, err := s.deps.Directory.Provision(ctx, []domain.ProvisionRow{{
			User: u, OrganizationID: in.OrganizationID, Role: domain.RoleMember, Now: now,
		}})
		if err != nil {
			return domain.User{}, fault.Store("provision", err)
		}
		r := res[0]
		switch {
		case r.Err != nil:
			return domain.User{}, rowStoreErr(r.Err)
		case !r.Created:
			return domain.User{}, ErrAccountExists
		}
		link := in.Link
		link.UserID, link.CreatedAt = r.User.ID, now
		err = s.deps.Links.LinkIdentity(ctx, link)
		if errors.Is(err, domain.ErrAlreadyExists) {
			return domain.User{}, ErrIdentityLinked
		}
		if err != nil {
			return domain.User{}, fault.Store("link identity", err)
		}
		ev := s.createdEvent(r.User, in.OrganizationID, true, provisionAudience(in.OrganizationID, ""), now)
		// The provider made the account, for the organization's own
		// identity provider: no person of ours acted.
		ev.Actor = domain.Actor{Kind: domain.ActorSystem, ID: link.ProviderID, Name: "sign-in through " + link.Issuer, OrganizationID: in.OrganizationID}
		return r.User, s.publish(ctx, ev)
	})
}

// federatedName keeps an upstream's name when it is one we would accept
// from an administrator, else none: a name is shown to others.
func federatedName(n string) string {
	n = strings.TrimSpace(n)
	if checkName("name", n) != nil {
		return ""
	}
	return n
}
