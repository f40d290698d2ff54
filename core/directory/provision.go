package directory

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
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
}

// Provisioned is the outcome for one user.
type Provisioned struct {
	User           domain.User
	OrganizationID string
	Role           string // the membership's role: an existing membership keeps its own
	IsNewUser      bool
	// LicenseAssigned is true when the user holds the calling application's
	// license after the call, whether this call assigned it or not.
	LicenseAssigned bool
	InviteSent      bool
	// InviteErr is why a requested invitation was not sent (it wraps
	// ErrMailNotSent, or is a store failure), for the edge to log.
	InviteErr error
}

// Provision ensures one user, their membership and the caller's license.
func (s *Service) Provision(ctx context.Context, c *Caller, in ProvisionInput) (Provisioned, error) {
	out, err := s.provision(ctx, c, []ProvisionInput{in})
	if err != nil {
		return Provisioned{}, err
	}
	return out[0].Provisioned, out[0].Err
}

// BulkResult is one row's outcome in a bulk request.
type BulkResult struct {
	Provisioned
	Err error // a *Error for this row only
}

// ProvisionBulk provisions up to MaxBatch users. Each row succeeds or fails
// on its own, and a failed row writes nothing.
func (s *Service) ProvisionBulk(ctx context.Context, c *Caller, in []ProvisionInput) ([]BulkResult, error) {
	switch {
	case len(c.Grants) == 0:
		return nil, errNoGrants
	case len(in) == 0:
		return nil, newErr(Invalid, "invalid_request", "users must hold at least one user")
	case len(in) > s.cfg.MaxBatch:
		return nil, newErr(Invalid, "batch_too_large", "a request may provision at most %d users, got %d", s.cfg.MaxBatch, len(in))
	}
	return s.provision(ctx, c, in)
}

func (s *Service) provision(ctx context.Context, c *Caller, in []ProvisionInput) ([]BulkResult, error) {
	if len(c.Grants) == 0 {
		return nil, errNoGrants
	}
	now := s.now()
	out := make([]BulkResult, len(in))
	var rows []domainRow
	for i, p := range in {
		row, err := s.provisionRow(ctx, c, p)
		if err != nil {
			if _, ok := AsError(err); !ok {
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
		return nil, storeErr("provision", err)
	}
	var events []domain.Event
	for k, r := range results {
		i := rows[k].index
		if r.Err != nil {
			out[i].Err = rowStoreErr(r.Err)
			continue
		}
		out[i].Provisioned = Provisioned{
			User: r.User, OrganizationID: r.Membership.OrganizationID, Role: r.Membership.Role,
			IsNewUser: r.Created, LicenseAssigned: c.Client.ID != "",
		}
		aud := provisionAudience(r.Membership.OrganizationID, c.Client.ID)
		events = append(events, s.createdEvent(r.User, r.Membership.OrganizationID, r.Created, aud, now))
		if r.LicenseAssigned {
			events = append(events, s.licenseEvent(domain.EventLicenseAssigned, domain.License{ClientID: c.Client.ID, UserID: r.User.ID}, now))
		}
		// Only a user this call made is invited: re-mailing an existing
		// account, possibly another organization's, is not a provisioning
		// client's to do (POST /users/{id}/reset-password resends a link).
		if rows[k].invite && r.Created {
			if err := s.sendInvite(ctx, r.User, now); err != nil {
				out[i].InviteErr = err
				continue
			}
			out[i].InviteSent = true
			events = append(events, s.userEvent(domain.EventUserInvited, r.User, r.Membership.OrganizationID, aud, now))
		}
	}
	return out, s.publish(ctx, events...)
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

func rowStoreErr(err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return errNoOrg
	}
	return newErr(Conflict, "conflict", "the user could not be provisioned; retry")
}

// provisionRow validates one input and checks the caller's grant.
func (s *Service) provisionRow(ctx context.Context, c *Caller, p ProvisionInput) (domain.ProvisionRow, error) {
	email := domain.NormalizeEmail(p.Email)
	if !domain.ValidEmail(email) {
		return domain.ProvisionRow{}, newErr(Invalid, "invalid_email", "email %q is not a valid address", clip(p.Email))
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
		return domain.ProvisionRow{}, newErr(Invalid, "invalid_request", "organizationId is required")
	}
	if err := authorizeOrg(c, p.OrganizationID, domain.ActionProvision); err != nil {
		return domain.ProvisionRow{}, err
	}
	role := p.Role
	if role == "" {
		role = domain.RoleMember
	}
	if err := s.checkRole(ctx, p.OrganizationID, role); err != nil {
		return domain.ProvisionRow{}, err
	}
	u := domain.User{Email: email, GivenName: first, FamilyName: last, Status: domain.UserInvited}
	if p.Profile != nil && !p.Profile.IsZero() {
		u.Profiles = map[string]domain.OrgProfile{p.OrganizationID: p.Profile.Clone()}
	}
	return domain.ProvisionRow{
		User: u, OrganizationID: p.OrganizationID, Role: role, LicenseClientID: c.Client.ID,
	}, nil
}

// maxNameLen bounds given and family names.
const maxNameLen = 100

// checkName accepts 1 to 100 characters of printable text.
func checkName(field, v string) error {
	if v == "" {
		return newErr(Invalid, "invalid_request", "%s is required", field)
	}
	return checkText(field, v, maxNameLen)
}

// checkText accepts up to max characters of valid UTF-8 without control
// characters.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return newErr(Invalid, "invalid_request", "%s must be at most %d printable characters", field, max)
	}
	return nil
}
