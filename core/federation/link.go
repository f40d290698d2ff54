package federation

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// The linking rules decide which account an upstream identity signs in
// to, safe by default:
//
//  1. An identity linked to an account signs in to it.
//  2. With none, an account with the same email is linked to it only when
//     the upstream says the email is verified, its domain is one the
//     provider serves and the organization verified, the provider has
//     LinkExisting on, and the account is the organization's own (its
//     home) or nobody's with a verified email.
//  3. With no such account, and JITProvisioning on, one is created in the
//     provider's organization (its home) under the same conditions on the
//     email.
//  4. Anything else is refused, with a page that says why.
//
// Whatever the rule, the upstream's email and the account's must both be
// in one of the provider's domains, verified for its organization, and the
// account's home must be that organization or none: an organization's
// upstream speaks for its own domains and accounts only.

// resolve applies the linking rules to an upstream user.
func (s *Service) resolve(ctx context.Context, p *domain.IdentityProvider, who upstreamUser) (Result, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.resolveOnce(ctx, p, who)
		// A race with another sign-in of the same person (a second tab):
		// the rules run again on what it stored.
		if attempt < 2 && (errors.Is(err, directory.ErrAccountExists) || errors.Is(err, directory.ErrIdentityLinked) || errors.Is(err, domain.ErrAlreadyExists)) {
			continue
		}
		return r, err
	}
}

func (s *Service) resolveOnce(ctx context.Context, p *domain.IdentityProvider, who upstreamUser) (Result, error) {
	if f := s.speaksFor(ctx, p, who.Email); f != nil {
		return Result{}, f
	}
	link, err := s.deps.Links.GetLinkedIdentity(ctx, who.Issuer, who.Subject)
	switch {
	case err == nil:
		u, err := s.deps.Users.GetUser(ctx, link.UserID)
		if err == nil {
			return s.signInto(ctx, p, u, who, Result{})
		}
		if !errors.Is(err, domain.ErrNotFound) {
			return Result{}, fault.Store("get user", err)
		}
		// The account is gone (a store that keeps links of deleted users):
		// the link goes too, and the rules go on as if there were none.
		if err := s.deps.Links.UnlinkIdentity(ctx, who.Issuer, who.Subject); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return Result{}, fault.Store("unlink identity", err)
		}
	case !errors.Is(err, domain.ErrNotFound):
		return Result{}, fault.Store("get linked identity", err)
	}
	if !who.EmailVerified {
		return Result{}, failure(ReasonNotAllowed, "Your organization's sign-in service did not confirm your email address, so it can't be matched to a Calimatic account. Ask your administrator.")
	}
	newLink := domain.LinkedIdentity{Issuer: who.Issuer, Subject: who.Subject, ProviderID: p.ID, Email: who.Email}
	u, err := s.deps.Users.GetUserByEmail(ctx, who.Email)
	switch {
	case err == nil:
		if !p.LinkExisting {
			return Result{}, failure(ReasonNotAllowed, "A Calimatic account already uses "+who.Email+", and your organization has not allowed linking it to this sign-in service. Sign in with your Calimatic password instead.")
		}
		// Only an account the organization made, or one nobody made whose
		// holder proved the address: another organization may have renamed
		// its own account into this domain before it was verified here.
		if !(u.HomeOrganizationID == p.OrganizationID || u.HomeOrganizationID == "" && u.EmailVerified) {
			return Result{}, failure(ReasonNotAllowed, "A Calimatic account already uses "+who.Email+", but it was not made by your organization, so this sign-in service can't take it over. Sign in with your Calimatic password, or ask your administrator.")
		}
		if _, err := s.signInto(ctx, p, u, who, Result{}); err != nil {
			return Result{}, err // checked before the link, so a refusal leaves none
		}
		newLink.UserID, newLink.CreatedAt = u.ID, s.now()
		if err := s.deps.Links.LinkIdentity(ctx, newLink); err != nil {
			if errors.Is(err, domain.ErrAlreadyExists) {
				return Result{}, err
			}
			return Result{}, fault.Store("link identity", err)
		}
		return s.signInto(ctx, p, u, who, Result{Linked: true})
	case !errors.Is(err, domain.ErrNotFound):
		return Result{}, fault.Store("get user", err)
	}
	if !p.JITProvisioning {
		return Result{}, failure(ReasonNotAllowed, "There is no Calimatic account for "+who.Email+" yet. Ask your organization's administrator to add you.")
	}
	u, err = s.deps.Directory.CreateFederated(ctx, directory.FederatedAccount{
		OrganizationID: p.OrganizationID, Email: who.Email, GivenName: who.GivenName, FamilyName: who.FamilyName, Link: newLink,
	})
	if err != nil {
		return Result{}, err
	}
	return Result{User: u, AMR: who.AMR, Created: true}, nil
}

// speaksFor refuses an upstream email outside the provider's domains, or
// in one its organization no longer has verified.
func (s *Service) speaksFor(ctx context.Context, p *domain.IdentityProvider, email string) *Failure {
	refuse := failure(ReasonNotAllowed, "This sign-in service does not sign in accounts of your email's domain. Sign in with your Calimatic password, or use your own organization's sign-in.")
	d := domain.EmailDomain(email)
	if email == "" || !p.ServesDomain(d) {
		return refuse
	}
	if org, err := s.verifiedBy(ctx, d); err != nil || org != p.OrganizationID {
		return refuse
	}
	return nil
}

// signInto finishes with an account found by link or by email. Its own
// email must be in one of the provider's domains, still verified for its
// organization, and no other organization may be its home: a linked
// account renamed out of the domain, or into another organization's
// keeping, no longer answers to this upstream. It must be active.
func (s *Service) signInto(ctx context.Context, p *domain.IdentityProvider, u domain.User, who upstreamUser, r Result) (Result, error) {
	d := domain.EmailDomain(u.Email)
	org, err := s.verifiedBy(ctx, d)
	if err != nil {
		return Result{}, err
	}
	if !p.ServesDomain(d) || org != p.OrganizationID || u.HomeOrganizationID != "" && u.HomeOrganizationID != p.OrganizationID {
		return Result{}, failure(ReasonNotAllowed, "This sign-in service can't sign in to your Calimatic account, which belongs to another organization or domain. Sign in with your Calimatic password.")
	}
	if !u.CanSignIn() {
		return Result{}, failInactive
	}
	r.User, r.AMR = u, who.AMR
	return r, nil
}

// verifiedBy returns the organization that verified a domain, "" if none.
func (s *Service) verifiedBy(ctx context.Context, d string) (string, error) {
	if d == "" {
		return "", nil
	}
	v, err := s.deps.Domains.GetDomain(ctx, d)
	if errors.Is(err, domain.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fault.Store("get domain", err)
	}
	return v.OrganizationID, nil
}
