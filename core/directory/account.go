package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// Paths of the account pages that emailed links open.
const (
	PathAcceptInvite   = "/invite"
	PathForgotPassword = "/forgot-password"
	PathResetPassword  = "/reset-password"
	PathJoin           = "/join"
)

// Password length bounds, in characters (NIST SP 800-63B §5.1.1.2: at
// least 8, and allow long passphrases).
const (
	MinPasswordLen = domain.MinPasswordLen
	MaxPasswordLen = domain.MaxPasswordLen
)

var errBadLink = &fault.Error{Kind: fault.NotFound, Code: "invalid_link", Message: "this link is invalid, expired or already used"}

// issueLink stores a fresh single-use token for the user and returns the
// page URL that carries it.
func (s *Service) issueLink(ctx context.Context, u domain.User, p domain.ActionPurpose, path string, ttl time.Duration, now time.Time) (string, error) {
	return s.issueTokenLink(ctx, domain.ActionToken{Purpose: p, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(ttl)}, path)
}

// issueTokenLink stores t under a fresh token and returns the page URL
// that carries the token.
func (s *Service) issueTokenLink(ctx context.Context, t domain.ActionToken, path string) (string, error) {
	tok := s.deps.Random.Token(32)
	t.Hash = domain.HashToken(tok)
	err := s.deps.ActionTokens.CreateActionToken(ctx, t)
	if err != nil {
		return "", fault.Store("create action token", err)
	}
	return s.cfg.BaseURL + path + "?" + url.Values{"token": {tok}}.Encode(), nil
}

// ErrMailNotSent wraps a mailer's failure. The change that wanted the mail
// stands; the edge logs the failure, which the core cannot.
var ErrMailNotSent = errors.New("mail not sent")

// outgoing is a mail that a change asked for. The change issues its link
// and emits its event in its unit of work; the mail goes out after the
// unit is stored, as a unit may run again and must not mail twice, and a
// link mailed before its change committed could lead nowhere.
type outgoing struct {
	mail   domain.Mail
	what   string // "invitation", for the log
	userID string
}

// send mails m. A failure wraps ErrMailNotSent; the change that wanted
// the mail stands, and its holder may ask again (forgot-password mails an
// invited account its invitation afresh).
func (s *Service) send(ctx context.Context, m outgoing) error {
	if m.mail.To == "" {
		return nil
	}
	if later, ok := ctx.Value(mailsKey{}).(*mails); ok {
		// Inside a caller's unit (Atomically): once it is stored.
		later.mu.Lock()
		later.list = append(later.list, m)
		later.mu.Unlock()
		return nil
	}
	if err := s.deps.Mailer.Send(ctx, m.mail); err != nil {
		return fmt.Errorf("%w: %s for user %s: %w", ErrMailNotSent, m.what, m.userID, err)
	}
	return nil
}

// invitation issues an invitation link and returns the mail that carries
// it, to send once the unit is stored.
func (s *Service) invitation(ctx context.Context, u domain.User, now time.Time) (outgoing, error) {
	link, err := s.issueLink(ctx, u, domain.PurposeInvite, PathAcceptInvite, s.cfg.InviteTTL, now)
	if err != nil {
		return outgoing{}, err
	}
	return outgoing{mail: inviteMail(u, link, s.cfg.InviteTTL), what: "invitation", userID: u.ID}, nil
}

func inviteMail(u domain.User, link string, ttl time.Duration) domain.Mail {
	return domain.Mail{To: u.Email, Subject: "You are invited to Calimatic", Text: fmt.Sprintf(
		"Hello %s,\n\nAn account was made for you on Calimatic. To start using it, choose a password here:\n\n%s\n\nThe link works once and expires in %s.\nIf you did not expect this message, you can ignore it.\n",
		u.GivenName, link, humanDuration(ttl))}
}

func resetMail(u domain.User, link string, ttl time.Duration) domain.Mail {
	return domain.Mail{To: u.Email, Subject: "Reset your Calimatic password", Text: fmt.Sprintf(
		"Hello %s,\n\nSomeone asked to reset the password of your Calimatic account. To choose a new password, open:\n\n%s\n\nThe link works once and expires in %s.\nIf you did not ask for this, ignore this message: your password stays as it is.\n",
		u.GivenName, link, humanDuration(ttl))}
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
}

// issueReset issues a reset link and emits user.password_reset, in the
// caller's unit, and returns the mail to send once it is stored.
func (s *Service) issueReset(ctx context.Context, u domain.User, orgID string, now time.Time) (outgoing, error) {
	link, err := s.issueLink(ctx, u, domain.PurposeReset, PathResetPassword, s.cfg.ResetTTL, now)
	if err != nil {
		return outgoing{}, err
	}
	aud, err := s.audienceOf(ctx, u.ID, nil)
	if err != nil {
		return outgoing{}, err
	}
	if err := s.publish(ctx, s.userEvent(domain.EventUserPasswordReset, u, orgID, aud, now)); err != nil {
		return outgoing{}, err
	}
	return outgoing{mail: resetMail(u, link, s.cfg.ResetTTL), what: "password reset", userID: u.ID}, nil
}

// ForgotPassword mails a reset link if an active account has this email,
// and an invitation if an invited one has.
// Its answer is nil whether or not an account exists, so the page tells no
// one which emails have accounts; an error wrapping ErrMailNotSent is for
// the edge to log, and to answer as if all went well.
//
// It does the lookup and the mail, which take as long as the mail relay
// does; the edge runs it after answering, with CheckEmail first, so that the
// answer's timing tells nothing either.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	if err := CheckEmail(email); err != nil {
		return err
	}
	email = domain.NormalizeEmail(email)
	u, err := s.deps.Users.GetUserByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fault.Store("get user", err)
	}
	var issue func(ctx context.Context) (outgoing, error)
	switch u.Status {
	case domain.UserActive:
		issue = func(ctx context.Context) (outgoing, error) { return s.issueReset(ctx, u, "", s.now()) }
	case domain.UserInvited:
		// An invited account has no password to reset: its holder gets
		// the invitation again, so an account someone else provisioned
		// for their address is never out of their reach.
		issue = func(ctx context.Context) (outgoing, error) { return s.reinvite(ctx, u, s.now()) }
	default:
		return nil
	}
	m, err := unit(s, ctx, issue)
	if err != nil {
		return err
	}
	return s.send(ctx, m)
}

// reinvite issues an invited user a fresh invitation and emits
// user.invited to their audience, in the caller's unit, and returns the
// mail to send once it is stored.
func (s *Service) reinvite(ctx context.Context, u domain.User, now time.Time) (outgoing, error) {
	m, err := s.invitation(ctx, u, now)
	if err != nil {
		return outgoing{}, err
	}
	aud, err := s.audienceOf(ctx, u.ID, nil)
	if err != nil {
		return outgoing{}, err
	}
	return m, s.publish(ctx, s.userEvent(domain.EventUserInvited, u, "", aud, now))
}

// CheckEmail refuses what is not an email address.
func CheckEmail(email string) error {
	if !domain.ValidEmail(domain.NormalizeEmail(email)) {
		return fault.New(fault.Invalid, "invalid_email", "enter a valid email address")
	}
	return nil
}

// CheckPassword applies the password rules.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return fault.New(fault.Invalid, "invalid_password", "the password is not valid text")
	case n < MinPasswordLen:
		return fault.New(fault.Invalid, "invalid_password", "the password must have at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fault.New(fault.Invalid, "invalid_password", "the password must have at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// AcceptInvite spends an invitation link and sets the user's first
// password, which activates the account and verifies its email (the link
// reached that inbox).
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (domain.User, error) {
	return s.spendLink(ctx, token, password, domain.PurposeInvite)
}

// ResetPassword spends a reset link and sets a new password. It ends every
// session and revokes every refresh token of the user, and moves NotBefore
// so that access tokens from earlier sign-ins stop introspecting as active.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (domain.User, error) {
	return s.spendLink(ctx, token, password, domain.PurposeReset)
}

func (s *Service) spendLink(ctx context.Context, token, password string, p domain.ActionPurpose) (domain.User, error) {
	if token == "" || len(token) > 128 {
		return domain.User{}, errBadLink
	}
	if err := CheckPassword(password); err != nil {
		return domain.User{}, err // checked first, so a typo does not spend the link
	}
	return unit(s, ctx, func(ctx context.Context) (domain.User, error) {
		return s.spendLinkIn(ctx, token, password, p)
	})
}

// spendLinkIn is spendLink in its unit: the link is spent only with the
// password set and the event stored.
func (s *Service) spendLinkIn(ctx context.Context, token, password string, p domain.ActionPurpose) (domain.User, error) {
	now := s.now()
	t, err := s.deps.ActionTokens.ConsumeActionToken(ctx, domain.HashToken(token), p, now)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, errBadLink
	}
	if err != nil {
		return domain.User{}, fault.Store("consume action token", err)
	}
	hash := domain.HashPassword(password, s.deps.Random.Bytes(int(s.cfg.Password.SaltLen)), s.cfg.Password)
	u, err := s.deps.Users.UpdateUser(ctx, t.UserID, func(u *domain.User) error {
		// A link made before the last reset is void: a newer reset wins.
		// So is one mailed to an address the account no longer has: it
		// proves that inbox, not the account's.
		if t.CreatedAt.Before(u.NotBefore) || !t.MailedTo(u.Email) {
			return errBadLink
		}
		if !linkAllowed(u.Status, p) {
			return fault.New(fault.Conflict, "account_unavailable", "this account cannot be used; contact your organization")
		}
		u.PasswordHash, u.EmailVerified, u.Status, u.UpdatedAt = hash, true, domain.UserActive, now
		if p == domain.PurposeReset {
			u.NotBefore = now
		}
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, errBadLink
	}
	if err != nil {
		if _, ok := fault.As(err); ok {
			return domain.User{}, err
		}
		return domain.User{}, fault.Store("update user", err)
	}
	if p == domain.PurposeReset {
		if err := s.endSignIns(ctx, u.ID, now); err != nil {
			return domain.User{}, err
		}
	}
	aud, err := s.audienceOf(ctx, u.ID, nil)
	if err != nil {
		return domain.User{}, err
	}
	return u, s.publish(asSelf(ctx, u), s.userEvent(domain.EventUserUpdated, u, "", aud, now))
}

// linkAllowed reports whether a user in status may use a link: an
// invitation while invited, a reset while active or invited (a reset proves
// the inbox as an invitation does). Suspended and deactivated accounts stay
// locked.
func linkAllowed(st domain.UserStatus, p domain.ActionPurpose) bool {
	if p == domain.PurposeInvite {
		return st == domain.UserInvited
	}
	return st == domain.UserActive || st == domain.UserInvited
}

// joinInvitation issues the holder of an existing account an invitation to
// join an organization that provisioned them without being able to see
// them, and returns the mail to send once the unit is stored. The link
// carries the organization and the provisioning application, whose license
// comes with accepting.
func (s *Service) joinInvitation(ctx context.Context, u domain.User, orgID, clientID string, now time.Time) (outgoing, error) {
	org, err := s.deps.Orgs.GetOrganization(ctx, orgID)
	if err != nil {
		return outgoing{}, fault.Store("get organization", err)
	}
	link, err := s.issueTokenLink(ctx, domain.ActionToken{
		Purpose: domain.PurposeJoin, UserID: u.ID, Email: u.Email, OrganizationID: orgID, ClientID: clientID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.InviteTTL),
	}, PathJoin)
	if err != nil {
		return outgoing{}, err
	}
	return outgoing{mail: joinMail(u, org, link, s.cfg.InviteTTL), what: "invitation to join", userID: u.ID}, nil
}

func joinMail(u domain.User, org domain.Organization, link string, ttl time.Duration) domain.Mail {
	return domain.Mail{To: u.Email, Subject: "Join " + org.Name + " on Calimatic", Text: fmt.Sprintf(
		"Hello %s,\n\n%s asks you to join it with your Calimatic account. Until you accept, it cannot see your account.\n\nTo accept or decline, open:\n\n%s\n\nYou will be asked for your password. The link works once and expires in %s.\nIf you do not know this organization, decline or ignore this message.\n",
		u.GivenName, org.Name, link, humanDuration(ttl))}
}

// Joining is what a join link offers: the organization asking.
type Joining struct {
	Organization domain.Organization
	Accepted     bool
}

var errJoinPassword = &fault.Error{Kind: fault.Invalid, Code: "invalid_password", Message: "the password is not right for the invited account"}

// AnswerJoin spends a join link once its holder proves they hold the
// invited account by its password, and accepts or declines. Accepting makes
// the pending membership active (primary if the account has no primary
// one), assigns the inviting application's license, and emits user.created
// (isNewUser false) and license.assigned to the organization's audience, as
// provisioning a visible account would have; declining removes the pending
// membership and emits nothing. A wrong password leaves the link usable.
// A membership the organization removed meanwhile, or one that is no longer
// pending, makes the link void.
func (s *Service) AnswerJoin(ctx context.Context, token, password string, accept bool) (Joining, error) {
	if token == "" || len(token) > 128 {
		return Joining{}, errBadLink
	}
	if password == "" || len(password) > MaxPasswordLen {
		return Joining{}, errJoinPassword
	}
	return unit(s, ctx, func(ctx context.Context) (Joining, error) {
		return s.answerJoin(ctx, token, password, accept)
	})
}

func (s *Service) answerJoin(ctx context.Context, token, password string, accept bool) (Joining, error) {
	now := s.now()
	t, err := s.deps.ActionTokens.ConsumeActionToken(ctx, domain.HashToken(token), domain.PurposeJoin, now)
	if errors.Is(err, domain.ErrNotFound) {
		return Joining{}, errBadLink
	}
	if err != nil {
		return Joining{}, fault.Store("consume action token", err)
	}
	u, err := s.deps.Users.GetUser(ctx, t.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		return Joining{}, errBadLink
	}
	if err != nil {
		return Joining{}, fault.Store("get user", err)
	}
	if ok, _, _ := domain.CheckPassword(password, u.PasswordHash, s.cfg.Password); !ok || u.PasswordHash == "" {
		// Put the link back: a typo must not spend it.
		if err := s.deps.ActionTokens.CreateActionToken(ctx, t); err != nil && !errors.Is(err, domain.ErrAlreadyExists) {
			return Joining{}, fault.Store("restore action token", err)
		}
		return Joining{}, errJoinPassword
	}
	if !u.CanSignIn() || t.CreatedAt.Before(u.NotBefore) || !t.MailedTo(u.Email) {
		return Joining{}, errBadLink
	}
	org, err := s.deps.Orgs.GetOrganization(ctx, t.OrganizationID)
	if errors.Is(err, domain.ErrNotFound) {
		return Joining{}, errBadLink
	}
	if err != nil {
		return Joining{}, fault.Store("get organization", err)
	}
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return Joining{}, fault.Store("list memberships", err)
	}
	i := slices.IndexFunc(ms, func(m domain.Membership) bool { return m.OrganizationID == org.ID })
	if i < 0 || ms[i].Status != domain.MembershipPending {
		return Joining{}, errBadLink
	}
	if !accept {
		if err := s.deps.Orgs.DeleteMembership(ctx, org.ID, u.ID); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return Joining{}, fault.Store("delete membership", err)
		}
		return Joining{Organization: org}, nil
	}
	m := ms[i]
	m.Status = domain.MembershipActive
	m.Primary = !slices.ContainsFunc(ms, func(m domain.Membership) bool { return m.Primary })
	if err := s.deps.Orgs.PutMembership(ctx, m); err != nil {
		return Joining{}, fault.Store("put membership", err)
	}
	aud := provisionAudience(org.ID, t.ClientID)
	events := []domain.Event{s.createdEvent(u, org.ID, false, aud, now)}
	if t.ClientID != "" {
		assigned, err := s.deps.Licenses.AssignLicense(ctx, domain.License{ClientID: t.ClientID, UserID: u.ID, AssignedAt: now})
		if err != nil {
			return Joining{}, fault.Store("assign license", err)
		}
		if assigned {
			events = append(events, s.licenseEvent(domain.EventLicenseAssigned, domain.License{ClientID: t.ClientID, UserID: u.ID}, now))
		}
	}
	return Joining{Organization: org, Accepted: true}, s.publish(asSelf(ctx, u), events...)
}
