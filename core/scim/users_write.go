package scim

import (
	"context"
	"errors"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// The user writes: create, replace, patch and delete, each one unit of
// work.

// inUnit runs a write request as one directory unit of work
// (directory.Service.Atomically): its reads, its checks and its changes,
// so that it stores all of itself or nothing, and never decides from a
// change that is not stored yet (a "nothing to change" from a MongoDB unit
// that a crash then undoes, say).
func inUnit[T any](s *Service, ctx context.Context, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := s.deps.Directory.Atomically(ctx, func(ctx context.Context) (err error) {
		out, err = fn(ctx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// CreateUser runs createUser as one unit of work (see inUnit).
func (s *Service) CreateUser(ctx context.Context, t *Tenant, body []byte) (map[string]any, error) {
	return inUnit(s, ctx, func(ctx context.Context) (map[string]any, error) {
		return s.createUser(ctx, t, body)
	})
}

// createUser provisions a new account into the tenant's organization
// (POST), its membership named userName as sent. A userName another
// member has, or a sign-in email that is a member's account already, is a
// uniqueness conflict. An account of other organizations joins at once
// when the organization verified the email's domain (its profile is then
// stored); otherwise its holder is mailed an invitation to join, and the
// answer is a conflict that says so: the provider finds the user by
// userName once they accept.
func (s *Service) createUser(ctx context.Context, t *Tenant, body []byte) (map[string]any, error) {
	a, err := parseUser(body, userAttrs{Active: true})
	if err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	email, err := a.newSignInEmail(t.SignInEmail)
	if err != nil {
		return nil, err
	}
	if err := s.nameFree(ctx, t, a.UserName, ""); err != nil {
		return nil, err
	}
	if err := s.notMemberYet(ctx, t, email); err != nil {
		return nil, err
	}
	profile := a.OrgProfile
	p, err := s.deps.Directory.Provision(ctx, t.caller, directory.ProvisionInput{
		Email: email, FirstName: a.GivenName, LastName: a.FamilyName,
		OrganizationID: t.OrganizationID, Profile: &profile, NamesOptional: true, UserName: a.UserName,
	})
	if errors.Is(err, directory.ErrUserNameTaken) {
		return nil, errTaken
	}
	if err != nil {
		return nil, err
	}
	switch {
	case p.MembershipStatus == domain.MembershipPending:
		return nil, errJoinPending
	case !p.IsNewUser:
		// notMemberYet saw no membership but a pending one, so this call
		// linked the account: it takes this request's profile and name.
		if _, err := s.deps.Directory.UpdateAccount(ctx, t.caller, p.User.ID, directory.AccountChange{Profile: &profile}); err != nil {
			return nil, err
		}
		if err := s.rename(ctx, t, p.User.ID, a.UserName); err != nil {
			return nil, err
		}
	}
	if !a.Active {
		if _, err := s.deps.Directory.SetStatus(ctx, t.caller, p.User.ID, directory.Suspend); err != nil {
			return nil, err
		}
	}
	m, err := s.member(ctx, t, p.User.ID)
	if err != nil {
		return nil, err
	}
	return s.withGroups(ctx, t, renderUser(m, t.OrganizationID, s.Root()), m.User.ID)
}

// newSignInEmail is a new user's sign-in email under the token's rule.
func (a *userAttrs) newSignInEmail(rule domain.SignInEmailRule) (string, error) {
	e := a.signInEmail(rule)
	switch {
	case e == "":
		return "", badValue("a new user needs an email address to sign in with: send emails, or a userName that is one")
	case !domain.ValidEmail(domain.NormalizeEmail(e)):
		return "", badValue("userName must be an email address: this token signs users in with their userName")
	}
	return domain.NormalizeEmail(e), nil
}

// nameFree answers a conflict when a member of the organization other
// than userID is named name (compared case-insensitively). A pending
// member's name is not final: provisioning decides about it.
func (s *Service) nameFree(ctx context.Context, t *Tenant, name, userID string) error {
	m, err := s.deps.Orgs.GetMembershipByUserName(ctx, t.OrganizationID, name)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil
	case err != nil:
		return err
	case m.UserID == userID || !m.Visible():
		return nil
	}
	return errTaken
}

// rename sets the organization's name for a member; a name another member
// has is a uniqueness conflict.
func (s *Service) rename(ctx context.Context, t *Tenant, userID, name string) error {
	m, err := s.deps.Orgs.GetMembership(ctx, t.OrganizationID, userID)
	if errors.Is(err, domain.ErrNotFound) {
		return errNotFound
	}
	if err != nil || m.UserName == name {
		return err
	}
	m.UserName = name
	err = s.deps.Orgs.PutMembership(ctx, m)
	if errors.Is(err, domain.ErrAlreadyExists) {
		return errTaken
	}
	return err
}

// notMemberYet answers a POST for an account that is the organization's
// member already without provisioning again, which would emit user.created
// for nothing.
func (s *Service) notMemberYet(ctx context.Context, t *Tenant, email string) error {
	u, err := s.deps.Users.GetUserByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m, err := s.deps.Orgs.GetMembership(ctx, t.OrganizationID, u.ID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil
	case err != nil:
		return err
	case m.Status == domain.MembershipPending:
		return nil // provisioning decides: it may link now, else it stays pending
	}
	return errEmailTaken
}

var errJoinPending = newErr(fault.Taken, TypeUniqueness, "a user with this email already exists in another organization; "+
	"its holder was invited to join this one, and it is listed here once they accept")

var errTaken = newErr(fault.Taken, TypeUniqueness, "a user with this userName already exists")

var errEmailTaken = newErr(fault.Taken, TypeUniqueness, "a user with this email already exists")

// ReplaceUser runs replaceUser as one unit of work (see inUnit).
func (s *Service) ReplaceUser(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	return inUnit(s, ctx, func(ctx context.Context) (map[string]any, error) {
		return s.replaceUser(ctx, t, id, ifMatch, body)
	})
}

// replaceUser is PUT: the body replaces the user's attributes. An absent
// active keeps the current status.
func (s *Service) replaceUser(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	m, err := s.member(ctx, t, id)
	if err != nil {
		return nil, err
	}
	before := attrsOf(m, t.OrganizationID)
	a, err := parseUser(body, userAttrs{Active: before.Active})
	if err != nil {
		return nil, err
	}
	return s.save(ctx, t, m, before, a, ifMatch)
}

// PatchUser runs patchUser as one unit of work (see inUnit).
func (s *Service) PatchUser(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	return inUnit(s, ctx, func(ctx context.Context) (map[string]any, error) {
		return s.patchUser(ctx, t, id, ifMatch, body)
	})
}

// patchUser is PATCH (RFC 7644 section 3.5.2).
func (s *Service) patchUser(ctx context.Context, t *Tenant, id, ifMatch string, body []byte) (map[string]any, error) {
	ops, err := ParsePatch(body)
	if err != nil {
		return nil, err
	}
	m, err := s.member(ctx, t, id)
	if err != nil {
		return nil, err
	}
	before := attrsOf(m, t.OrganizationID)
	a, err := applyPatch(before, ops)
	if err != nil {
		return nil, err
	}
	return s.save(ctx, t, m, before, a, ifMatch)
}

// save validates the new attributes and applies what changed: the
// member's name, then the account and profile in one write, then the
// status. Nothing is written if the attributes are invalid or the status
// may not change.
//
// An account whose home is another organization is not this
// organization's: its email and names stay as they are (a provider's other
// values are accepted and not applied, so a full PUT still succeeds), and
// active suspends only the membership. The name and the profile are the
// organization's own either way.
func (s *Service) save(ctx context.Context, t *Tenant, m domain.Member, before, a userAttrs, ifMatch string) (map[string]any, error) {
	if err := checkVersion(ifMatch, versionOf(renderUser(m, t.OrganizationID, s.Root()))); err != nil {
		return nil, err
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	var ch directory.AccountChange
	if m.User.HomeOrganizationID == t.OrganizationID {
		if e := a.signInEmail(t.SignInEmail); e != "" {
			n, err := a.newSignInEmail(t.SignInEmail)
			if err != nil {
				return nil, err
			}
			if n != m.User.Email {
				ch.Email = &n
			}
		}
		if a.GivenName != before.GivenName {
			ch.FirstName = &a.GivenName
		}
		if a.FamilyName != before.FamilyName {
			ch.LastName = &a.FamilyName
		}
	}
	if !a.OrgProfile.Equal(before.OrgProfile) {
		ch.Profile = &a.OrgProfile
	}
	renamed := a.UserName != before.UserName
	if renamed {
		if err := s.nameFree(ctx, t, a.UserName, m.User.ID); err != nil {
			return nil, err
		}
		if err := s.rename(ctx, t, m.User.ID, a.UserName); err != nil {
			return nil, err
		}
	}
	if !ch.Empty() {
		if ifMatch != "" && ifMatch != "*" {
			// Checked again inside the write, so a concurrent writer
			// between the read and the write cannot slip past If-Match.
			ch.Precondition = func(u domain.User) error {
				return checkVersion(ifMatch, versionOf(renderUser(domain.Member{User: u, Membership: m.Membership}, t.OrganizationID, s.Root())))
			}
		}
		if _, err := s.deps.Directory.UpdateAccount(ctx, t.caller, m.User.ID, ch); err != nil {
			if renamed {
				// Best effort: the request failed, so its name goes too.
				_ = s.rename(ctx, t, m.User.ID, before.UserName)
			}
			return nil, err
		}
	}
	if a.Active != before.Active {
		l := directory.Reactivate
		if !a.Active {
			l = directory.Suspend
		}
		if _, err := s.deps.Directory.SetStatus(ctx, t.caller, m.User.ID, l); err != nil {
			return nil, err
		}
	}
	out, err := s.member(ctx, t, m.User.ID)
	if err != nil {
		return nil, err
	}
	return s.withGroups(ctx, t, renderUser(out, t.OrganizationID, s.Root()), m.User.ID)
}

// DeleteUser runs deleteUser as one unit of work (see inUnit).
func (s *Service) DeleteUser(ctx context.Context, t *Tenant, id, ifMatch string) error {
	_, err := inUnit(s, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.deleteUser(ctx, t, id, ifMatch)
	})
	return err
}

// deleteUser deprovisions a user (see directory.Service.Deprovision).
func (s *Service) deleteUser(ctx context.Context, t *Tenant, id, ifMatch string) error {
	m, err := s.member(ctx, t, id)
	if err != nil {
		return err
	}
	if err := checkVersion(ifMatch, versionOf(renderUser(m, t.OrganizationID, s.Root()))); err != nil {
		return err
	}
	return s.deps.Directory.Deprovision(ctx, t.caller, id, s.cfg.Deactivate)
}
