package directory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// UserView is a user as a client sees them: only the memberships in
// organizations granted to it.
type UserView struct {
	User        domain.User
	Memberships []domain.Membership
}

// GetUser returns a user the caller may read.
func (s *Service) GetUser(ctx context.Context, c *access.Caller, userID string) (UserView, error) {
	sc, err := s.loadUser(ctx, c, userID, domain.ActionRead)
	if err != nil {
		return UserView{}, err
	}
	return UserView{User: sc.user, Memberships: sc.visible}, nil
}

// ProfilePatch changes a user's profile; nil fields stay as they are. The
// email is not here: changing it through an application would let that
// application take the account over with a reset.
type ProfilePatch struct {
	FirstName   *string
	LastName    *string
	PhoneNumber *string
	Picture     *string
}

// UpdateUser changes a user's profile and emits user.updated. Provisioning
// an existing email into the caller's organization therefore never lets the
// caller rewrite a profile that other organizations share.
func (s *Service) UpdateUser(ctx context.Context, c *access.Caller, userID string, p ProfilePatch) (UserView, error) {
	if err := p.check(); err != nil {
		return UserView{}, err
	}
	return unitAs(s, ctx, c, func(ctx context.Context, c *access.Caller) (UserView, error) {
		return s.updateUser(ctx, c, userID, p)
	})
}

func (s *Service) updateUser(ctx context.Context, c *access.Caller, userID string, p ProfilePatch) (UserView, error) {
	// A profile is the account's, shown to every app: only the home
	// organization changes it.
	sc, err := s.loadUser(ctx, c, userID, domain.ActionUpdate)
	if err != nil {
		return UserView{}, err
	}
	if err := sc.requireHome(); err != nil {
		return UserView{}, err
	}
	now := s.now()
	u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
		set(&u.GivenName, p.FirstName)
		set(&u.FamilyName, p.LastName)
		set(&u.Picture, p.Picture)
		if p.PhoneNumber != nil && *p.PhoneNumber != u.PhoneNumber {
			u.PhoneNumber, u.PhoneNumberVerified = *p.PhoneNumber, false
		}
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		return UserView{}, userStoreErr("update user", err)
	}
	aud, err := s.audienceOf(ctx, u.ID, sc.all)
	if err != nil {
		return UserView{}, err
	}
	return UserView{User: u, Memberships: sc.visible}, s.publish(ctx, s.userEvent(domain.EventUserUpdated, u, sc.primaryOrg(), aud, now))
}

func set(dst *string, v *string) {
	if v != nil {
		*dst = strings.TrimSpace(*v)
	}
}

func (p ProfilePatch) check() error {
	if p.FirstName != nil {
		if err := checkName("firstName", strings.TrimSpace(*p.FirstName)); err != nil {
			return err
		}
	}
	if p.LastName != nil {
		if err := checkName("lastName", strings.TrimSpace(*p.LastName)); err != nil {
			return err
		}
	}
	if p.PhoneNumber != nil && *p.PhoneNumber != "" && !validPhone(*p.PhoneNumber) {
		return fault.New(fault.Invalid, "invalid_request", "phoneNumber must be in E.164 form, like +15555550100")
	}
	if p.Picture != nil && *p.Picture != "" {
		if err := checkText("picture", *p.Picture, 2048); err != nil {
			return err
		}
		if !strings.HasPrefix(*p.Picture, "https://") {
			return fault.New(fault.Invalid, "invalid_request", "picture must be an https URL")
		}
	}
	return nil
}

// validPhone accepts E.164: + and 8 to 15 digits.
func validPhone(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func userStoreErr(op string, err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return errNoUser // deleted since it was read
	}
	if _, ok := fault.As(err); ok {
		return err
	}
	return fault.Store(op, err)
}

// Lifecycle actions on a user's account.
type Lifecycle int

// The lifecycle actions.
const (
	Suspend Lifecycle = iota + 1
	Reactivate
	Deactivate
)

// transition is one lifecycle action's rule.
type transition struct {
	action string // the grant action it needs
	event  string
	from   []domain.UserStatus
}

var transitions = map[Lifecycle]transition{
	Suspend:    {domain.ActionSuspend, domain.EventUserSuspended, []domain.UserStatus{domain.UserActive, domain.UserInvited}},
	Reactivate: {domain.ActionSuspend, domain.EventUserReactivated, []domain.UserStatus{domain.UserSuspended, domain.UserDeactivated}},
	Deactivate: {domain.ActionDeactivate, domain.EventUserDeactivated, []domain.UserStatus{domain.UserActive, domain.UserInvited, domain.UserSuspended}},
}

// SetStatus runs a lifecycle action. A caller acting for the account's
// home organization changes the account: suspending or deactivating ends
// the user's sessions and refresh tokens at once, and the status alone
// already refuses them everywhere. Any other organization suspends or
// reactivates only its own memberships (the account signs in as before,
// without that organization in its claims) and may not deactivate.
// Repeating an action that already holds (suspending a suspended user)
// changes nothing and emits nothing.
func (s *Service) SetStatus(ctx context.Context, c *access.Caller, userID string, l Lifecycle) (UserView, error) {
	tr, ok := transitions[l]
	if !ok {
		return UserView{}, fault.New(fault.Invalid, "invalid_request", "unknown action")
	}
	return unitAs(s, ctx, c, func(ctx context.Context, c *access.Caller) (UserView, error) {
		return s.setStatus(ctx, c, userID, l, tr)
	})
}

func (s *Service) setStatus(ctx context.Context, c *access.Caller, userID string, l Lifecycle, tr transition) (UserView, error) {
	sc, err := s.loadUser(ctx, c, userID, tr.action)
	if err != nil {
		return UserView{}, err
	}
	if !sc.home {
		if l == Deactivate {
			return UserView{}, errNotHome
		}
		return s.setMembershipStatus(ctx, sc, l, tr)
	}
	// Undoing a deactivation needs the grant that may deactivate.
	if l == Reactivate && sc.user.Status == domain.UserDeactivated && tr.action != domain.ActionDeactivate {
		if dsc, err := s.loadUser(ctx, c, userID, domain.ActionDeactivate); err != nil || !dsc.home {
			return UserView{}, cmp.Or[error](err, errNotHome)
		}
	}
	return s.setAccountStatus(ctx, sc, l, tr)
}

// setAccountStatus runs a lifecycle action on the account itself.
func (s *Service) setAccountStatus(ctx context.Context, sc scope, l Lifecycle, tr transition) (UserView, error) {
	userID := sc.user.ID
	now := s.now()
	changed := false
	u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
		if l == Reactivate && u.PlatformLocked && !sc.platform {
			return errPlatformLocked
		}
		next := targetStatus(l, u)
		if sc.platform && u.PlatformLocked != (l != Reactivate) {
			// A platform administrator's suspension is theirs to lift, even
			// when the account's organization had suspended it first.
			u.PlatformLocked, u.UpdatedAt = l != Reactivate, now
		}
		if u.Status == next {
			return nil
		}
		if !contains(tr.from, u.Status) {
			return fault.New(fault.Conflict, "invalid_state", "a %s user cannot be changed this way", u.Status)
		}
		u.Status, u.UpdatedAt, changed = next, now, true
		if !u.CanSignIn() {
			// Tokens from before stay dead even if the user is reactivated
			// within their lifetime.
			u.NotBefore = now
		}
		return nil
	})
	if err != nil {
		return UserView{}, userStoreErr("update user", err)
	}
	view := UserView{User: u, Memberships: sc.visible}
	// Ending sign-ins runs again on a repeat, so a retry after a failure
	// here still finishes the job; it is idempotent.
	if !u.CanSignIn() {
		if err := s.endSignIns(ctx, u.ID, now); err != nil {
			return UserView{}, err
		}
	}
	if !changed {
		return view, nil
	}
	aud, err := s.audienceOf(ctx, u.ID, sc.all)
	if err != nil {
		return UserView{}, err
	}
	return view, s.publish(ctx, s.userEvent(tr.event, u, sc.primaryOrg(), aud, now))
}

// setMembershipStatus suspends or reactivates the memberships the caller
// acts on. Each change emits the lifecycle event to that organization
// alone, with the membership's status as "status": the account and the
// other organizations are untouched.
func (s *Service) setMembershipStatus(ctx context.Context, sc scope, l Lifecycle, tr transition) (UserView, error) {
	next := domain.MembershipActive
	if l == Suspend {
		next = domain.MembershipSuspended
	}
	now := s.now()
	var events []domain.Event
	for _, m := range sc.acting {
		if m.Status == next {
			continue
		}
		m.Status = next
		if err := s.deps.Orgs.PutMembership(ctx, m); err != nil {
			return UserView{}, fault.Store("put membership", err)
		}
		for i := range sc.visible {
			if sc.visible[i].OrganizationID == m.OrganizationID {
				sc.visible[i] = m
			}
		}
		u := sc.user
		u.Status = domain.UserStatus(next)
		events = append(events, s.userEvent(tr.event, u, m.OrganizationID, domain.Audience{OrganizationIDs: []string{m.OrganizationID}}, now))
	}
	return UserView{User: sc.user, Memberships: sc.visible}, s.publish(ctx, events...)
}

// targetStatus is where an action leads. Reactivating an account that never
// set a password leads back to invited.
func targetStatus(l Lifecycle, u *domain.User) domain.UserStatus {
	switch l {
	case Suspend:
		return domain.UserSuspended
	case Deactivate:
		return domain.UserDeactivated
	}
	if u.PasswordHash == "" {
		return domain.UserInvited
	}
	return domain.UserActive
}

func contains[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// AdminSetStatus runs a lifecycle action on an account as a platform
// administrator: account-wide, whatever its home.
func (s *Service) AdminSetStatus(ctx context.Context, userID string, l Lifecycle) (UserView, error) {
	tr, ok := transitions[l]
	if !ok {
		return UserView{}, fault.New(fault.Invalid, "invalid_request", "unknown action")
	}
	return unit(s, ctx, func(ctx context.Context) (UserView, error) {
		sc, err := s.adminScope(ctx, userID)
		if err != nil {
			return UserView{}, err
		}
		return s.setAccountStatus(ctx, sc, l, tr)
	})
}

// AdminDeleteUser deletes an account as a platform administrator.
func (s *Service) AdminDeleteUser(ctx context.Context, userID string) error {
	return s.atomically(ctx, func(ctx context.Context) error {
		sc, err := s.adminScope(ctx, userID)
		if err != nil {
			return err
		}
		return s.deleteAccount(ctx, sc)
	})
}

// AdminGetUser reads an account as a platform administrator, with every
// membership, pending ones included.
func (s *Service) AdminGetUser(ctx context.Context, userID string) (UserView, error) {
	sc, err := s.adminScope(ctx, userID)
	if err != nil {
		return UserView{}, err
	}
	return UserView{User: sc.user, Memberships: sc.all}, nil
}

// adminScope is a user as a platform administrator acts on them: the whole
// account, as its home organization would.
func (s *Service) adminScope(ctx context.Context, userID string) (scope, error) {
	if userID == "" || len(userID) > 64 {
		return scope{}, errNoUser
	}
	u, err := s.deps.Users.GetUser(ctx, userID)
	if err != nil {
		return scope{}, userStoreErr("get user", err)
	}
	ms, err := s.deps.Orgs.ListUserMemberships(ctx, userID)
	if err != nil {
		return scope{}, fault.Store("list memberships", err)
	}
	sc := scope{user: u, all: ms, home: true, platform: true}
	for _, m := range ms {
		if m.Visible() {
			sc.visible = append(sc.visible, m)
		}
	}
	sc.acting = sc.visible
	return sc, nil
}

// DeleteUser deletes a user with their memberships and licenses, ends their
// sign-ins, and emits user.deleted, when the caller acts for the account's
// home organization. Any other organization's delete removes its own
// memberships only (see leave).
func (s *Service) DeleteUser(ctx context.Context, c *access.Caller, userID string) error {
	return s.asCaller(ctx, c, func(ctx context.Context, c *access.Caller) error {
		sc, err := s.loadUser(ctx, c, userID, domain.ActionDelete)
		if err != nil {
			return err
		}
		if !sc.home {
			return s.leave(ctx, sc)
		}
		return s.deleteAccount(ctx, sc)
	})
}

func (s *Service) deleteAccount(ctx context.Context, sc scope) error {
	if sc.user.PlatformLocked && !sc.platform {
		// Deleting it would free its address for a new account the lock
		// does not hold.
		return errPlatformLocked
	}
	now := s.now()
	userID := sc.user.ID
	aud, err := s.audienceOf(ctx, userID, sc.all) // before the memberships and licenses go
	if err != nil {
		return err
	}
	for _, m := range sc.all {
		if err := s.leaveGroups(ctx, m.OrganizationID, userID); err != nil {
			return err
		}
	}
	if err := s.deps.Directory.DeleteUser(ctx, userID); err != nil {
		return userStoreErr("delete user", err)
	}
	if err := s.deps.Factors.DeleteFactors(ctx, userID); err != nil {
		return fault.Store("delete factors", err)
	}
	if err := s.deps.Links.DeleteUserIdentities(ctx, userID); err != nil {
		return fault.Store("delete linked identities", err)
	}
	if err := s.endSignIns(ctx, userID, now); err != nil {
		return err
	}
	return s.publish(ctx, s.userEvent(domain.EventUserDeleted, sc.user, sc.primaryOrg(), aud, now))
}

// SendPasswordReset issues the user a reset link, emits
// user.password_reset, and mails the link once both are stored. The
// password stays valid until the link is used.
func (s *Service) SendPasswordReset(ctx context.Context, c *access.Caller, userID string) error {
	m, err := unitAs(s, ctx, c, func(ctx context.Context, c *access.Caller) (outgoing, error) {
		sc, err := s.loadUser(ctx, c, userID, domain.ActionResetPassword)
		if err != nil {
			return outgoing{}, err
		}
		if err := sc.requireHome(); err != nil {
			return outgoing{}, err
		}
		if !linkAllowed(sc.user.Status, domain.PurposeReset) {
			return outgoing{}, fault.New(fault.Conflict, "invalid_state", "a %s user cannot reset a password", sc.user.Status)
		}
		return s.issueReset(ctx, sc.user, sc.primaryOrg(), s.now())
	})
	if err != nil {
		return err
	}
	return s.send(ctx, m)
}

// Page is one page of a listing: NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// Page sizes for listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ListUsers lists an organization's users, the caller needing read on it.
func (s *Service) ListUsers(ctx context.Context, c *access.Caller, orgID, cursor string, limit int) (Page[domain.Member], error) {
	if err := authorizeOrg(c, orgID, domain.ActionRead); err != nil {
		return Page[domain.Member]{}, err
	}
	return s.listMembers(ctx, orgID, cursor, limit)
}

func (s *Service) listMembers(ctx context.Context, orgID, cursor string, limit int) (Page[domain.Member], error) {
	after, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return Page[domain.Member]{}, err
	}
	ms, err := s.deps.Directory.ListMembers(ctx, orgID, after, limit+1)
	if err != nil {
		return Page[domain.Member]{}, fault.Store("list members", err)
	}
	return pageOf(ms, limit, idOfMember), nil
}

// pageArgs decodes a cursor (an opaque encoding of the last id seen) and
// bounds the page size.
func pageArgs(cursor string, limit int) (after string, n int, err error) {
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return "", 0, fault.New(fault.Invalid, "invalid_request", "limit must be between 1 and %d", MaxPageSize)
	}
	after, err = DecodeCursor(cursor)
	if err != nil {
		return "", 0, err
	}
	return after, limit, nil
}

// DecodeCursor reads a cursor EncodeCursor made: "" for the first page.
func DecodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || len(b) > 255 || !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", fault.New(fault.Invalid, "invalid_cursor", "the cursor is not one this API gave out")
	}
	return string(b), nil
}

// pageOf is the page of up to limit of items, which a store read with
// limit+1 so that a next page shows: its cursor is the last item's id.
func pageOf[T any](items []T, limit int, id func(T) string) Page[T] {
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = EncodeCursor(id(items[limit-1]))
	}
	return p
}

func idOfMember(m domain.Member) string    { return m.User.ID }
func idOfGroup(g domain.Group) string      { return g.ID }
func idOfOrg(o domain.Organization) string { return o.ID }

// EncodeCursor is the opaque cursor of a page that ends at id, for
// listings in id order.
func EncodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }
