package directory

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// ProvisionInput is one user to provision (integration guide §4).
type ProvisionInput struct {
	Email          string
	FirstName      string
	LastName       string
	OrganizationID string
	Role           string // "" means member
	// SendInviteEmail mails a new user a link to set a password.
	SendInviteEmail bool
	// Profile is stored as the organization's profile of a user this call
	// creates (an OrgCaller's provisioning); an existing user's is left.
	Profile *domain.OrgProfile
	// NamesOptional accepts empty names: a provider may know only an
	// email.
	NamesOptional bool
	// UserName names the membership this call makes (SCIM's userName);
	// "" names it after the email. A name another member has is Taken
	// (user_name_taken).
	UserName string
}

// Provisioned is the outcome for one user.
type Provisioned struct {
	// User is the stored user; for a pending membership, only what the
	// caller sent (email and names, no id), as the caller may not read the
	// account.
	User           domain.User
	OrganizationID string
	Role           string // the membership's role: an existing membership keeps its own
	// MembershipStatus is active, or pending when the account existed and
	// the caller could not see it: its holder was mailed an invitation to
	// join (InviteSent) and nothing more happened.
	MembershipStatus domain.MembershipStatus
	IsNewUser        bool
	// LicenseAssigned is true when the user holds the calling application's
	// license after the call, whether this call assigned it or not.
	LicenseAssigned bool
	InviteSent      bool
	// InviteErr is why a requested invitation was not sent (it wraps
	// ErrMailNotSent, or is a store failure), for the edge to log.
	InviteErr error
}

// Provision ensures one user, their membership and the caller's license.
func (s *Service) Provision(ctx context.Context, c *access.Caller, in ProvisionInput) (Provisioned, error) {
	out, err := s.provision(ctx, c, []ProvisionInput{in})
	if err != nil {
		return Provisioned{}, err
	}
	return out[0].Provisioned, out[0].Err
}

// BulkResult is one row's outcome in a bulk request.
type BulkResult struct {
	Provisioned
	Err error // a *fault.Error for this row only
}

// ProvisionBulk provisions up to MaxBatch users. Each row succeeds or fails
// on its own, and a failed row writes nothing.
func (s *Service) ProvisionBulk(ctx context.Context, c *access.Caller, in []ProvisionInput) ([]BulkResult, error) {
	switch {
	case len(c.Grants) == 0:
		return nil, errNoGrants
	case len(in) == 0:
		return nil, fault.New(fault.Invalid, "invalid_request", "users must hold at least one user")
	case len(in) > s.cfg.MaxBatch:
		return nil, fault.New(fault.Invalid, "batch_too_large", "a request may provision at most %d users, got %d", s.cfg.MaxBatch, len(in))
	}
	return s.provision(ctx, c, in)
}

// provisionChunk bounds the rows one unit of work takes. Rows stand on
// their own, so a request of many runs as several units: each unit stays
// short, which a MongoDB unit's lease (renewed every second) needs on a
// slow or busy server, and a PostgreSQL transaction holds fewer locks.
const provisionChunk = 100

// provision runs the rows in units of provisionChunk, with the caller's
// grants as they are in each, and mails each unit's invitations once it is
// stored. A mail that fails leaves its row's change and events in place,
// with InviteSent false and InviteErr saying why. A unit that fails ends
// the request with its error; the units before it stand, and a retry
// finds their rows in place.
func (s *Service) provision(ctx context.Context, c *access.Caller, in []ProvisionInput) ([]BulkResult, error) {
	if len(c.Grants) == 0 {
		return nil, errNoGrants
	}
	out := make([]BulkResult, 0, len(in))
	for start := 0; start < len(in); start += provisionChunk {
		rows := in[start:min(start+provisionChunk, len(in))]
		var mails []outgoing // mails[i] for part[i]; empty when none
		part, err := unitAs(s, ctx, c, func(ctx context.Context, c *access.Caller) ([]BulkResult, error) {
			mails = make([]outgoing, len(rows))
			return s.provisionIn(ctx, c, rows, mails)
		})
		if err != nil {
			return nil, err
		}
		for i, m := range mails {
			if m.mail.To == "" {
				continue
			}
			if err := s.send(ctx, m); err != nil {
				part[i].InviteSent, part[i].InviteErr = false, err
			}
		}
		out = append(out, part...)
	}
	return out, nil
}

// provisionIn is provision in its unit. It fills mails with the
// invitations to send. A row emits events only for what it changed:
// user.created when it made the user or their membership, license.assigned
// when it assigned the license, and user.invited with the invitation it
// issued; a row that finds everything in place (a retry of one whose answer
// was lost, say) emits nothing, so each change is told once.
func (s *Service) provisionIn(ctx context.Context, c *access.Caller, in []ProvisionInput, mails []outgoing) ([]BulkResult, error) {
	if len(c.Grants) == 0 {
		return nil, errNoGrants
	}
	now := s.now()
	out := make([]BulkResult, len(in))
	var rows []domainRow
	verified := map[string]string{} // mail domain -> the organization that verified it
	for i, p := range in {
		row, err := s.provisionRow(ctx, c, p, verified)
		if err != nil {
			if _, ok := fault.As(err); !ok {
				return nil, err
			}
			out[i].Err = err
			continue
		}
		row.User.ID, row.User.CreatedAt, row.User.UpdatedAt = s.deps.Random.UUID(), now, now
		row.Now = now
		rows = append(rows, domainRow{index: i, row: row, invite: p.SendInviteEmail})
	}
	if len(rows) == 0 {
		return out, nil
	}
	results, err := s.deps.Directory.Provision(ctx, rowsOf(rows))
	if err != nil {
		return nil, fault.Store("provision", err)
	}
	var events []domain.Event
	for k, r := range results {
		i, row := rows[k].index, rows[k].row
		if r.Err != nil {
			out[i].Err = rowStoreErr(r.Err)
			continue
		}
		if r.Membership.Status == domain.MembershipPending {
			var err error
			out[i].Provisioned, mails[i], err = s.provisionedPending(ctx, c, row, r, now)
			if err != nil {
				return nil, err
			}
			out[i].InviteSent = mails[i].mail.To != ""
			continue
		}
		out[i].Provisioned = Provisioned{
			User: r.User, OrganizationID: r.Membership.OrganizationID, Role: r.Membership.Role,
			MembershipStatus: r.Membership.Status, IsNewUser: r.Created, LicenseAssigned: c.Client.ID != "",
		}
		aud := provisionAudience(r.Membership.OrganizationID, c.Client.ID)
		if r.Created || r.Joined {
			events = append(events, s.createdEvent(r.User, r.Membership.OrganizationID, r.Created, aud, now))
		}
		if r.LicenseAssigned {
			events = append(events, s.licenseEvent(domain.EventLicenseAssigned, domain.License{ClientID: c.Client.ID, UserID: r.User.ID}, now))
		}
		// Only a user this call made is invited: re-mailing an existing
		// account, possibly another organization's, is not a provisioning
		// client's to do (POST /users/{id}/reset-password resends a link).
		if rows[k].invite && r.Created {
			m, err := s.invitation(ctx, r.User, now)
			if err != nil {
				return nil, err
			}
			mails[i], out[i].InviteSent = m, true
			events = append(events, s.userEvent(domain.EventUserInvited, r.User, r.Membership.OrganizationID, aud, now))
		}
	}
	return out, s.publish(ctx, events...)
}

// provisionedPending answers a row that found an account the caller may
// not see: the answer echoes only what the caller sent, and the account's
// holder is mailed an invitation to join when this row made the pending
// membership (a repeat mails nothing). No event is emitted: the caller's
// organization hears of the account only once its holder accepts.
func (s *Service) provisionedPending(ctx context.Context, c *access.Caller, row domain.ProvisionRow, r domain.ProvisionResult, now time.Time) (Provisioned, outgoing, error) {
	p := Provisioned{
		User:           domain.User{Email: row.User.Email, GivenName: row.User.GivenName, FamilyName: row.User.FamilyName},
		OrganizationID: row.OrganizationID, Role: row.Role, MembershipStatus: domain.MembershipPending,
	}
	if !r.Joined {
		return p, outgoing{}, nil
	}
	m, err := s.joinInvitation(ctx, r.User, row.OrganizationID, c.Client.ID, now)
	return p, m, err
}

type domainRow struct {
	index  int
	row    domain.ProvisionRow
	invite bool
}

func rowsOf(rs []domainRow) []domain.ProvisionRow {
	out := make([]domain.ProvisionRow, len(rs))
	for i, r := range rs {
		out[i] = r.row
	}
	return out
}

// ErrUserNameTaken: another member of the organization has the user name.
var ErrUserNameTaken = fault.New(fault.Taken, "user_name_taken", "another member of this organization has that user name")

func rowStoreErr(err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return errNoOrg
	}
	if errors.Is(err, domain.ErrAlreadyExists) {
		return ErrUserNameTaken
	}
	return fault.New(fault.Conflict, "conflict", "the user could not be provisioned; retry")
}

// provisionRow validates one input, checks the caller's grant and the
// role, and says how an existing account may join: at once if the caller
// sees it already or the organization verified the email's domain, else
// pending. verified caches domain lookups across a batch.
func (s *Service) provisionRow(ctx context.Context, c *access.Caller, p ProvisionInput, verified map[string]string) (domain.ProvisionRow, error) {
	email := domain.NormalizeEmail(p.Email)
	if !domain.ValidEmail(email) {
		return domain.ProvisionRow{}, fault.New(fault.Invalid, "invalid_email", "email %q is not a valid address", clip(p.Email))
	}
	first, last := strings.TrimSpace(p.FirstName), strings.TrimSpace(p.LastName)
	for _, n := range []struct{ field, v string }{{"firstName", first}, {"lastName", last}} {
		if p.NamesOptional && n.v == "" {
			continue
		}
		if err := checkName(n.field, n.v); err != nil {
			return domain.ProvisionRow{}, err
		}
	}
	if p.OrganizationID == "" {
		return domain.ProvisionRow{}, fault.New(fault.Invalid, "invalid_request", "organizationId is required")
	}
	if err := authorizeOrg(c, p.OrganizationID, domain.ActionProvision); err != nil {
		return domain.ProvisionRow{}, err
	}
	role := p.Role
	if role == "" {
		role = domain.RoleMember
	}
	if err := s.checkAssignable(ctx, c, p.OrganizationID, role); err != nil {
		return domain.ProvisionRow{}, err
	}
	linked, err := s.verifiedFor(ctx, domain.EmailDomain(email), verified)
	if err != nil {
		return domain.ProvisionRow{}, err
	}
	if linked != "" && linked != p.OrganizationID {
		if err := s.refuseForeignDomain(ctx, email); err != nil {
			return domain.ProvisionRow{}, err
		}
	}
	u := domain.User{Email: email, GivenName: first, FamilyName: last, Status: domain.UserInvited, HomeOrganizationID: p.OrganizationID}
	if p.Profile != nil && !p.Profile.IsZero() {
		u.Profiles = map[string]domain.OrgProfile{p.OrganizationID: p.Profile.Clone()}
	}
	return domain.ProvisionRow{
		User: u, OrganizationID: p.OrganizationID, Role: role, LicenseClientID: c.Client.ID,
		VisibleIn: c.OrgIDs(), LinkExisting: linked == p.OrganizationID, UserName: p.UserName,
	}, nil
}

// verifiedFor returns the organization that verified a mail domain, "" if
// none, through the batch's cache.
func (s *Service) verifiedFor(ctx context.Context, name string, cache map[string]string) (string, error) {
	if org, ok := cache[name]; ok {
		return org, nil
	}
	d, err := s.deps.Domains.GetDomain(ctx, name)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return "", fault.Store("get domain", err)
	}
	cache[name] = d.OrganizationID
	return d.OrganizationID, nil
}

// refuseForeignDomain refuses to create an account in a mail domain that
// another organization verified: that organization makes its own accounts.
// An existing account is left to the pending-membership rules. (A creation
// racing this check by another organization's caller is refused the same
// way; one by the domain's own organization is found as existing.)
func (s *Service) refuseForeignDomain(ctx context.Context, email string) error {
	_, err := s.deps.Users.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, domain.ErrNotFound):
		return fault.New(fault.Forbidden, "domain_owned", "the domain of %q belongs to another organization, which creates its accounts", clip(email))
	}
	return fault.Store("get user", err)
}

// checkAssignable refuses a role that does not exist in the organization,
// and the roles a client may not give: one with an owner's permissions
// (owner itself, or a custom role with organization:manage or roles:manage)
// always, as only platform administrators make owners; one with an admin's
// (admin, or users:read or users:manage) without the assign_admin action.
// Permissions decide (access.RoleTier), so renaming a role gives it no way
// around the rule.
func (s *Service) checkAssignable(ctx context.Context, c *access.Caller, orgID, role string) error {
	if !domain.ValidName(role) {
		return fault.New(fault.Invalid, "invalid_role", "role %q is not a valid role name", clip(role))
	}
	perms, ok, err := Permissions(ctx, s.deps.Roles, orgID, role)
	if err != nil {
		return err
	}
	if !ok {
		return fault.New(fault.Invalid, "invalid_role", "role %q does not exist in this organization", clip(role))
	}
	switch access.RoleTier(domain.Role{Name: role, Permissions: perms}) {
	case access.TierOwner:
		return fault.New(fault.Forbidden, "forbidden", "role %q manages the organization: only a platform administrator gives it", clip(role))
	case access.TierAdmin:
		if g := c.Grant(orgID); g == nil || !g.Allows(domain.ActionAssignAdmin) {
			if c.Client.ID == "" { // the organization's own directory (OrgCaller): its SCIM connection, its console
				return fault.New(fault.Forbidden, "forbidden", "role %q manages users: only the organization's owners give it", clip(role))
			}
			return fault.New(fault.Forbidden, "forbidden", "role %q manages users: this client's grant on organization %q does not include %q",
				clip(role), clip(orgID), domain.ActionAssignAdmin)
		}
	}
	return nil
}

// maxNameLen bounds given and family names.
const maxNameLen = 100

// checkName accepts 1 to 100 characters of printable text.
func checkName(field, v string) error {
	if v == "" {
		return fault.New(fault.Invalid, "invalid_request", "%s is required", field)
	}
	return checkText(field, v, maxNameLen)
}

// checkText accepts up to max characters of valid UTF-8 without control
// characters, bidirectional ones included (domain.PrintableText).
func checkText(field, v string, max int) error {
	if !domain.PrintableText(v, max) {
		return fault.New(fault.Invalid, "invalid_request", "%s must be at most %d printable characters", field, max)
	}
	return nil
}
