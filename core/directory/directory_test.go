package directory_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// outbox is a Mailer that keeps what it is given.
type outbox struct {
	mu   sync.Mutex
	mail []domain.Mail
	fail error
}

func (o *outbox) Send(_ context.Context, m domain.Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.mail = append(o.mail, m)
	return nil
}

func (o *outbox) last(t *testing.T) domain.Mail {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	require.NotEmpty(t, o.mail, "a mail was sent")
	return o.mail[len(o.mail)-1]
}

// fixture is a directory over memory stores with one client granted on one
// organization.
type fixture struct {
	svc     *directory.Service
	clock   *testsuite.FakeClock
	users   *memory.UserStore
	orgs    *memory.OrganizationStore
	events  *memory.EventLog
	clients *memory.ClientStore
	factors *memory.FactorStore
	mail    *outbox
	org     domain.Organization
	caller  *access.Caller
	secret  string
}

var fastPasswords = domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newFixture(t *testing.T, actions ...string) *fixture {
	t.Helper()
	f := &fixture{
		clock: testsuite.NewFakeClock(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)),
		users: memory.NewUserStore(), orgs: memory.NewOrganizationStore(),
		events: memory.NewEventLog(), mail: &outbox{}, factors: memory.NewFactorStore(),
	}
	d := memory.NewDirectory(f.users, f.orgs)
	clients := memory.NewClientStore()
	f.clients = clients
	f.svc = directory.New(directory.Config{BaseURL: "https://auth.example", Password: fastPasswords}, directory.Deps{
		Clients: clients, Users: f.users, Orgs: f.orgs, Directory: d, Licenses: d,
		Grants: memory.NewClientGrantStore(f.orgs), Roles: memory.NewRoleStore(f.orgs), Groups: f.orgs, Domains: memory.NewDomainStore(f.orgs),
		AdminKeys: memory.NewAdminKeyStore(), ActionTokens: memory.NewActionTokenStore(),
		Sessions: memory.NewSessionStore(), Refresh: memory.NewGrantStore(), Factors: f.factors, Links: memory.NewLinkedIdentityStore(), Events: f.events, Units: memory.NewUnits(),
		Mailer: f.mail, Clock: f.clock, Random: system.NewRandom(),
	})
	ctx := t.Context()
	name := "Springfield Elementary"
	var err error
	f.org, err = f.svc.CreateOrganization(ctx, directory.OrganizationInput{Name: &name})
	require.NoError(t, err)
	f.secret = "ccas_" + system.NewRandom().Token(32)
	client := domain.Client{ID: "cca_gradebook", SecretHash: domain.HashToken(f.secret), Name: "Gradebook", TokenEndpointAuthMethod: domain.AuthMethodSecretPost}
	require.NoError(t, clients.CreateClient(ctx, client))
	if len(actions) > 0 {
		_, err = f.svc.PutClientGrant(ctx, client.ID, f.org.ID, actions)
		require.NoError(t, err)
	}
	f.caller, err = f.svc.AuthenticateClient(ctx, client.ID, f.secret)
	require.NoError(t, err)
	return f
}

func kindOf(t *testing.T, err error) fault.Kind {
	t.Helper()
	e, ok := fault.As(err)
	require.True(t, ok, "a directory error, got %v", err)
	return e.Kind
}

func (f *fixture) provision(t *testing.T, email string) directory.Provisioned {
	t.Helper()
	p, err := f.svc.Provision(t.Context(), f.caller, directory.ProvisionInput{
		Email: email, FirstName: "Lisa", LastName: "Simpson", OrganizationID: f.org.ID,
	})
	require.NoError(t, err)
	return p
}

func TestClientAuthenticationFailsTheSameWay(t *testing.T) {
	f := newFixture(t)
	for name, creds := range map[string][2]string{
		"an unknown client": {"cca_nobody", f.secret},
		"a wrong secret":    {"cca_gradebook", "ccas_wrong"},
		"no secret":         {"cca_gradebook", ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.AuthenticateClient(t.Context(), creds[0], creds[1])
			assert.Equal(t, fault.Unauthorized, kindOf(t, err))
		})
	}
}

func TestProvisionValidatesBeforeWriting(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	good := directory.ProvisionInput{Email: "bart@example.edu", FirstName: "Bart", LastName: "Simpson", OrganizationID: f.org.ID}
	tests := []struct {
		name string
		edit func(*directory.ProvisionInput)
		kind fault.Kind
		code string
	}{
		{"an invalid email is refused", func(p *directory.ProvisionInput) { p.Email = "bart" }, fault.Invalid, "invalid_email"},
		{"a display-name email is refused", func(p *directory.ProvisionInput) { p.Email = "Bart <bart@example.edu>" }, fault.Invalid, "invalid_email"},
		{"a missing first name is refused", func(p *directory.ProvisionInput) { p.FirstName = " " }, fault.Invalid, "invalid_request"},
		{"a name with a control character is refused", func(p *directory.ProvisionInput) { p.LastName = "Sim\x00pson" }, fault.Invalid, "invalid_request"},
		{"an unknown role is refused", func(p *directory.ProvisionInput) { p.Role = "principal" }, fault.Invalid, "invalid_role"},
		{"an organization not granted is forbidden", func(p *directory.ProvisionInput) { p.OrganizationID = "elsewhere" }, fault.Forbidden, "forbidden"},
		{"a missing organization is refused", func(p *directory.ProvisionInput) { p.OrganizationID = "" }, fault.Invalid, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			tt.edit(&in)
			_, err := f.svc.Provision(t.Context(), f.caller, in)
			e, ok := fault.As(err)
			require.True(t, ok, "got %v", err)
			assert.Equal(t, tt.kind, e.Kind)
			assert.Equal(t, tt.code, e.Code)
			_, err = f.users.GetUserByEmail(t.Context(), "bart@example.edu")
			assert.ErrorIs(t, err, domain.ErrNotFound, "nothing was written")
			assert.Empty(t, f.events.Events()[1:], "no event beyond organization.created")
		})
	}
}

func TestProvisionIsIdempotentAndEmitsTheGuidesEvent(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	first := f.provision(t, "Lisa@Example.edu")
	assert.True(t, first.IsNewUser)
	assert.Equal(t, "lisa@example.edu", first.User.Email, "emails are stored normalised")
	again := f.provision(t, "lisa@example.EDU")
	assert.False(t, again.IsNewUser)
	assert.Equal(t, first.User.ID, again.User.ID)

	var created []domain.Event
	for _, e := range f.events.Events() {
		if e.Type == domain.EventUserCreated {
			created = append(created, e)
		}
	}
	// The repeat changed nothing, so it tells nothing: a client that retries
	// a provisioning whose answer it lost makes no second user.created.
	require.Len(t, created, 1, "user.created reports the change, once")
	keys := make([]string, 0, len(created[0].Data))
	for _, fld := range created[0].Data {
		keys = append(keys, fld.Key)
	}
	assert.Equal(t, []string{"userId", "email", "firstName", "lastName", "organizationId", "isNewUser", "createdAt"}, keys, "the guide's §5 order")
	assert.Equal(t, "2031-03-14T15:09:26.000Z", created[0].Data[6].Value, "JavaScript's toISOString format")
	assert.Equal(t, true, created[0].Data[5].Value)
}

func TestBulkRowsFailAlone(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	res, err := f.svc.ProvisionBulk(t.Context(), f.caller, []directory.ProvisionInput{
		{Email: "a@example.edu", FirstName: "A", LastName: "A", OrganizationID: f.org.ID},
		{Email: "nope", FirstName: "B", LastName: "B", OrganizationID: f.org.ID},
		{Email: "a@example.edu", FirstName: "A", LastName: "A", OrganizationID: f.org.ID},
	})
	require.NoError(t, err)
	require.Len(t, res, 3)
	assert.True(t, res[0].IsNewUser)
	assert.Equal(t, fault.Invalid, kindOf(t, res[1].Err))
	assert.False(t, res[2].IsNewUser, "a repeated email in one batch is found, not duplicated")

	_, err = f.svc.ProvisionBulk(t.Context(), f.caller, make([]directory.ProvisionInput, directory.DefaultMaxBatch+1))
	e, ok := fault.As(err)
	require.True(t, ok)
	assert.Equal(t, "batch_too_large", e.Code)
}

func TestTenancy(t *testing.T) {
	f := newFixture(t, domain.ActionProvision, domain.ActionRead)
	p := f.provision(t, "milhouse@example.edu")
	ctx := t.Context()

	_, err := f.svc.GetUser(ctx, f.caller, p.User.ID)
	require.NoError(t, err, "read is granted")
	_, err = f.svc.SetStatus(ctx, f.caller, p.User.ID, directory.Suspend)
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "suspend is not granted")
	_, err = f.svc.GetUser(ctx, f.caller, "someone-else")
	assert.Equal(t, fault.NotFound, kindOf(t, err))

	// A second organization the client is not granted: a user only there is
	// invisible, and a user in both may be read but not locked out.
	otherName := "Shelbyville High"
	other, err := f.svc.CreateOrganization(ctx, directory.OrganizationInput{Name: &otherName})
	require.NoError(t, err)
	stranger := domain.User{ID: "stranger", Email: "nelson@example.edu", Status: domain.UserActive}
	require.NoError(t, f.users.CreateUser(ctx, stranger))
	_, err = f.svc.PutMember(ctx, other.ID, stranger.ID, domain.RoleMember)
	require.NoError(t, err)
	_, err = f.svc.GetUser(ctx, f.caller, stranger.ID)
	assert.Equal(t, fault.NotFound, kindOf(t, err), "a user outside the client's organizations is not found")

	_, err = f.svc.PutClientGrant(ctx, f.caller.Client.ID, f.org.ID, domain.GrantActions)
	require.NoError(t, err)
	caller, err := f.svc.AuthenticateClient(ctx, f.caller.Client.ID, f.secret)
	require.NoError(t, err)
	_, err = f.svc.PutMember(ctx, other.ID, p.User.ID, domain.RoleMember)
	require.NoError(t, err)
	v, err := f.svc.GetUser(ctx, caller, p.User.ID)
	require.NoError(t, err)
	assert.Len(t, v.Memberships, 1, "only the memberships the client may see")
	assert.Equal(t, fault.NotFound, kindOf(t, f.svc.DeleteUser(ctx, caller, stranger.ID)), "even with every action")

	// The other organization's client acts on its membership only: the
	// account is its home organization's.
	otherCaller := directory.OrgCaller(other.ID)
	v, err = f.svc.SetStatus(ctx, otherCaller, p.User.ID, directory.Suspend)
	require.NoError(t, err)
	assert.Equal(t, domain.UserInvited, v.User.Status, "the account is untouched")
	require.Len(t, v.Memberships, 1)
	assert.Equal(t, domain.MembershipSuspended, v.Memberships[0].Status)
	_, err = f.svc.SetStatus(ctx, otherCaller, p.User.ID, directory.Deactivate)
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "deactivating is the home organization's")
	_, err = f.svc.UpdateUser(ctx, otherCaller, p.User.ID, directory.ProfilePatch{FirstName: &otherName})
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "so is the profile")
	assert.Equal(t, fault.Forbidden, kindOf(t, f.svc.SendPasswordReset(ctx, otherCaller, p.User.ID)), "and the password")

	// The home organization keeps control of the whole account.
	v, err = f.svc.SetStatus(ctx, caller, p.User.ID, directory.Suspend)
	require.NoError(t, err, "the home organization suspends an account also in another")
	assert.Equal(t, domain.UserSuspended, v.User.Status)

	none := newFixture(t)
	_, err = none.svc.GetUser(ctx, none.caller, p.User.ID)
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "a client with no grant is forbidden everything")
}

func TestStatusTransitions(t *testing.T) {
	tests := []struct {
		name    string
		from    domain.UserStatus
		action  directory.Lifecycle
		want    domain.UserStatus
		event   string // "" for no change
		refused bool
	}{
		{"suspending an active user suspends", domain.UserActive, directory.Suspend, domain.UserSuspended, domain.EventUserSuspended, false},
		{"suspending a suspended user changes nothing", domain.UserSuspended, directory.Suspend, domain.UserSuspended, "", false},
		{"suspending a deactivated user is refused", domain.UserDeactivated, directory.Suspend, domain.UserDeactivated, "", true},
		{"reactivating a suspended user activates", domain.UserSuspended, directory.Reactivate, domain.UserActive, domain.EventUserReactivated, false},
		{"reactivating a deactivated user activates", domain.UserDeactivated, directory.Reactivate, domain.UserActive, domain.EventUserReactivated, false},
		{"deactivating an invited user deactivates", domain.UserInvited, directory.Deactivate, domain.UserDeactivated, domain.EventUserDeactivated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, domain.GrantActions...)
			p := f.provision(t, "maggie@example.edu")
			_, err := f.users.UpdateUser(t.Context(), p.User.ID, func(u *domain.User) error {
				u.Status, u.PasswordHash = tt.from, "set"
				return nil
			})
			require.NoError(t, err)
			before := len(f.events.Events())
			v, err := f.svc.SetStatus(t.Context(), f.caller, p.User.ID, tt.action)
			if tt.refused {
				assert.Equal(t, fault.Conflict, kindOf(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.User.Status)
			evs := f.events.Events()[before:]
			if tt.event == "" {
				assert.Empty(t, evs)
				return
			}
			require.Len(t, evs, 1)
			assert.Equal(t, tt.event, evs[0].Type)
		})
	}
}

var linkRE = regexp.MustCompile(`https://auth\.example/[a-z-]+\?token=[A-Za-z0-9_-]+`)

func tokenOf(t *testing.T, m domain.Mail) string {
	t.Helper()
	link := linkRE.FindString(m.Text)
	require.NotEmpty(t, link, "the mail carries a link: %s", m.Text)
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("token")
}

func TestInvitationLinkIsSingleUseAndExpires(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	p, err := f.svc.Provision(t.Context(), f.caller, directory.ProvisionInput{
		Email: "ned@example.edu", FirstName: "Ned", LastName: "Flanders", OrganizationID: f.org.ID, SendInviteEmail: true,
	})
	require.NoError(t, err)
	require.True(t, p.InviteSent)
	tok := tokenOf(t, f.mail.last(t))

	_, err = f.svc.AcceptInvite(t.Context(), tok, "short")
	assert.Equal(t, fault.Invalid, kindOf(t, err), "a short password is refused before the link is spent")
	u, err := f.svc.AcceptInvite(t.Context(), tok, "okily dokily neighbor")
	require.NoError(t, err)
	assert.Equal(t, domain.UserActive, u.Status)
	assert.True(t, u.EmailVerified)
	evs := f.events.Events()
	assert.Equal(t, domain.Actor{Kind: domain.ActorUser, ID: u.ID, Name: "ned@example.edu"}, evs[len(evs)-1].Actor,
		"whoever follows the mailed link acts as the account")
	_, err = f.svc.AcceptInvite(t.Context(), tok, "okily dokily neighbor")
	assert.Equal(t, fault.NotFound, kindOf(t, err), "single use")

	other, err := f.svc.Provision(t.Context(), f.caller, directory.ProvisionInput{
		Email: "rod@example.edu", FirstName: "Rod", LastName: "Flanders", OrganizationID: f.org.ID, SendInviteEmail: true,
	})
	require.NoError(t, err)
	require.True(t, other.InviteSent)
	f.clock.Advance(directory.DefaultInviteTTL)
	_, err = f.svc.AcceptInvite(t.Context(), tokenOf(t, f.mail.last(t)), "okily dokily neighbor")
	assert.Equal(t, fault.NotFound, kindOf(t, err), "expired")
}

func TestResetVoidsOlderLinksAndMovesNotBefore(t *testing.T) {
	f := newFixture(t, domain.GrantActions...)
	p := f.provision(t, "homer@example.edu")
	_, err := f.users.UpdateUser(t.Context(), p.User.ID, func(u *domain.User) error { u.Status = domain.UserActive; return nil })
	require.NoError(t, err)

	require.NoError(t, f.svc.SendPasswordReset(t.Context(), f.caller, p.User.ID))
	older := tokenOf(t, f.mail.last(t))
	f.clock.Advance(time.Minute)
	require.NoError(t, f.svc.ForgotPassword(t.Context(), "HOMER@example.edu"))
	newer := tokenOf(t, f.mail.last(t))
	f.clock.Advance(time.Minute)

	u, err := f.svc.ResetPassword(t.Context(), newer, "mmm donuts forever")
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now(), u.NotBefore, "sign-ins before the reset end")
	_, err = f.svc.ResetPassword(t.Context(), older, "mmm donuts forever")
	assert.Equal(t, fault.NotFound, kindOf(t, err), "a link made before the last reset is void")
}

func TestForgotPasswordRevealsNothing(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.svc.ForgotPassword(t.Context(), "nobody@example.edu"))
	assert.Empty(t, f.mail.mail, "no mail for an unknown address")
	assert.Equal(t, fault.Invalid, kindOf(t, f.svc.ForgotPassword(t.Context(), "not an email")))
}

func TestAdminKeys(t *testing.T) {
	f := newFixture(t)
	key, _, err := f.svc.CreateAdminKey(t.Context(), "ops")
	require.NoError(t, err)
	assert.Regexp(t, `^cak_[A-Za-z0-9_-]{43}$`, key)
	_, err = f.svc.AuthenticateAdmin(t.Context(), key)
	require.NoError(t, err)
	for _, bad := range []string{"", "cak_wrong", key + "x", "Bearer " + key} {
		_, err = f.svc.AuthenticateAdmin(t.Context(), bad)
		assert.Equal(t, fault.Unauthorized, kindOf(t, err), "key %q", bad)
	}
}

func TestPageArguments(t *testing.T) {
	f := newFixture(t, domain.ActionProvision, domain.ActionRead)
	for _, e := range []string{"a@example.edu", "b@example.edu", "c@example.edu"} {
		f.provision(t, e)
	}
	var seen []string
	cursor := ""
	for {
		page, err := f.svc.ListUsers(t.Context(), f.caller, f.org.ID, cursor, 2)
		require.NoError(t, err)
		for _, m := range page.Items {
			seen = append(seen, m.User.Email)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.ElementsMatch(t, []string{"a@example.edu", "b@example.edu", "c@example.edu"}, seen)
	for _, bad := range []struct {
		cursor string
		limit  int
	}{{"!!!", 10}, {"", -1}, {"", directory.MaxPageSize + 1}} {
		_, err := f.svc.ListUsers(t.Context(), f.caller, f.org.ID, bad.cursor, bad.limit)
		assert.Equal(t, fault.Invalid, kindOf(t, err), "cursor %q limit %d", bad.cursor, bad.limit)
	}
}

// An organization's directory changes the account and its own profile in
// one write, which a failed precondition aborts; a shared account's
// account fields are not its alone.
func TestUpdateAccountFromAnOrganizationsDirectory(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	ctx := t.Context()
	org := directory.OrgCaller(f.org.ID)
	p, err := f.svc.Provision(ctx, org, directory.ProvisionInput{
		Email: "bart@example.com", OrganizationID: f.org.ID, NamesOptional: true,
		Profile: &domain.OrgProfile{ExternalID: "e-1"},
	})
	require.NoError(t, err)
	assert.Equal(t, "e-1", p.User.Profiles[f.org.ID].ExternalID)
	assert.False(t, p.LicenseAssigned, "an organization's directory assigns no license")

	stale := errors.New("stale")
	email, name := "bartholomew@example.com", "Bart"
	_, err = f.svc.UpdateAccount(ctx, org, p.User.ID, directory.AccountChange{
		Email: &email, FirstName: &name, Profile: &domain.OrgProfile{ExternalID: "e-2"},
		Precondition: func(domain.User) error { return stale },
	})
	require.ErrorIs(t, err, stale)
	u, err := f.users.GetUser(ctx, p.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "bart@example.com", u.Email, "a failed precondition writes nothing")
	assert.Equal(t, "e-1", u.Profiles[f.org.ID].ExternalID)

	v, err := f.svc.UpdateAccount(ctx, org, p.User.ID, directory.AccountChange{
		Email: &email, FirstName: &name, Profile: &domain.OrgProfile{ExternalID: "e-2"},
	})
	require.NoError(t, err)
	assert.Equal(t, email, v.User.Email)
	assert.False(t, v.User.EmailVerified)
	assert.Equal(t, "e-2", v.User.Profiles[f.org.ID].ExternalID)

	// Another organization's directory: account fields are the home's.
	other := "Shelbyville Elementary"
	o2, err := f.svc.CreateOrganization(ctx, directory.OrganizationInput{Name: &other})
	require.NoError(t, err)
	_, err = f.svc.PutMember(ctx, o2.ID, p.User.ID, domain.RoleMember)
	require.NoError(t, err)
	org2 := directory.OrgCaller(o2.ID)
	again := "bart.s@example.com"
	_, err = f.svc.UpdateAccount(ctx, org2, p.User.ID, directory.AccountChange{Email: &again})
	assert.Equal(t, fault.Forbidden, kindOf(t, err))
	_, err = f.svc.UpdateAccount(ctx, org2, p.User.ID, directory.AccountChange{Email: &email, Profile: &domain.OrgProfile{ExternalID: "e-3"}})
	require.NoError(t, err, "its own profile it may change, and sending the email unchanged is no change")
	_, err = f.svc.UpdateAccount(ctx, org, p.User.ID, directory.AccountChange{Email: &again})
	require.NoError(t, err, "the home organization changes the email although the account is in another")

	// Leaving: the account stays, in its home organization, still primary.
	require.NoError(t, f.svc.Deprovision(ctx, org2, p.User.ID, false))
	ms, err := f.orgs.ListUserMemberships(ctx, p.User.ID)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, f.org.ID, ms[0].OrganizationID)
	assert.True(t, ms[0].Primary)
	u, err = f.users.GetUser(ctx, p.User.ID)
	require.NoError(t, err)
	assert.NotContains(t, u.Profiles, o2.ID, "the leaving organization's profile goes")
	assert.Equal(t, "e-2", u.Profiles[f.org.ID].ExternalID)

	// The home organization's deprovisioning ends the account, wherever
	// else it is.
	_, err = f.svc.PutMember(ctx, o2.ID, p.User.ID, domain.RoleMember)
	require.NoError(t, err)
	require.NoError(t, f.svc.Deprovision(ctx, org, p.User.ID, false))
	_, err = f.users.GetUser(ctx, p.User.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func TestMailedLinksAreBoundToTheAddressTheyWentTo(t *testing.T) {
	f := newFixture(t, domain.GrantActions...)
	ctx := t.Context()
	p, err := f.svc.Provision(ctx, f.caller, directory.ProvisionInput{
		Email: "old@example.edu", FirstName: "Maude", LastName: "Flanders", OrganizationID: f.org.ID, SendInviteEmail: true,
	})
	require.NoError(t, err)
	invite := tokenOf(t, f.mail.last(t))
	require.NoError(t, f.svc.SendPasswordReset(ctx, f.caller, p.User.ID))
	reset := tokenOf(t, f.mail.last(t))

	moved := "new@example.edu"
	_, err = f.svc.UpdateAccount(ctx, directory.OrgCaller(f.org.ID), p.User.ID, directory.AccountChange{Email: &moved})
	require.NoError(t, err)
	_, err = f.svc.AcceptInvite(ctx, invite, "a long enough password")
	assert.Equal(t, fault.NotFound, kindOf(t, err), "an invitation mailed to the old address is void")
	_, err = f.svc.ResetPassword(ctx, reset, "a long enough password")
	assert.Equal(t, fault.NotFound, kindOf(t, err), "so is a reset")
	u, err := f.users.GetUser(ctx, p.User.ID)
	require.NoError(t, err)
	assert.False(t, u.EmailVerified, "nothing verified the new address")
	assert.Empty(t, u.PasswordHash)

	// A link mailed to the new address works, and verifies that one.
	require.NoError(t, f.svc.SendPasswordReset(ctx, f.caller, p.User.ID))
	u, err = f.svc.ResetPassword(ctx, tokenOf(t, f.mail.last(t)), "a long enough password")
	require.NoError(t, err)
	assert.Equal(t, moved, u.Email)
	assert.True(t, u.EmailVerified)
}

func TestAnAccountCannotMoveIntoAnotherOrganizationsVerifiedDomain(t *testing.T) {
	f := newFixture(t, domain.GrantActions...)
	ctx := t.Context()
	p := f.provision(t, "homer@example.edu")
	name := "Shelbyville"
	other, err := f.svc.CreateOrganization(ctx, directory.OrganizationInput{Name: &name})
	require.NoError(t, err)
	_, _, err = f.svc.PutDomain(ctx, &directory.Admin{Key: domain.AdminKey{ID: "k1"}}, other.ID, "shelbyville.edu", directory.VerifyByAdmin)
	require.NoError(t, err)

	into := "principal@Shelbyville.EDU"
	_, err = f.svc.UpdateAccount(ctx, directory.OrgCaller(f.org.ID), p.User.ID, directory.AccountChange{Email: &into})
	assert.Equal(t, fault.Forbidden, kindOf(t, err))
	u, err := f.users.GetUser(ctx, p.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "homer@example.edu", u.Email, "nothing changed")
	_, err = f.svc.Provision(ctx, f.caller, directory.ProvisionInput{
		Email: "principal@shelbyville.edu", FirstName: "Gary", LastName: "Chalmers", OrganizationID: f.org.ID,
	})
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "nor is one created there")
}

func TestForgotPasswordReinvitesAnInvitedAccount(t *testing.T) {
	f := newFixture(t, domain.GrantActions...)
	ctx := t.Context()
	p := f.provision(t, "marge@example.edu") // invited, with no mail sent
	require.Empty(t, f.mail.mail)
	require.NoError(t, f.svc.ForgotPassword(ctx, "Marge@example.edu"))
	m := f.mail.last(t)
	assert.Equal(t, "marge@example.edu", m.To)
	assert.Contains(t, m.Text, "https://auth.example/invite?token=", "an invitation to choose a password")
	u, err := f.svc.AcceptInvite(ctx, tokenOf(t, m), "blue hair all the way up")
	require.NoError(t, err)
	assert.Equal(t, domain.UserActive, u.Status)
	assert.Equal(t, p.User.ID, u.ID)
}

// A grant withdrawn after the caller authenticated refuses the change: the
// use case reads the caller's grants again inside its unit of work.
func TestAGrantWithdrawnAfterAuthenticationRefusesTheChange(t *testing.T) {
	f := newFixture(t, domain.ActionProvision, domain.ActionUpdate)
	lisa := f.provision(t, "lisa@example.edu")
	before := len(f.events.Events())
	require.NoError(t, f.svc.DeleteClientGrant(t.Context(), f.caller.Client.ID, f.org.ID))

	_, err := f.svc.Provision(t.Context(), f.caller, directory.ProvisionInput{
		Email: "bart@example.edu", FirstName: "Bart", LastName: "Simpson", OrganizationID: f.org.ID,
	})
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "the caller still holds the withdrawn grant, the store does not")
	_, err = f.users.GetUserByEmail(t.Context(), "bart@example.edu")
	assert.ErrorIs(t, err, domain.ErrNotFound, "nothing was written")

	name := "Lise"
	_, err = f.svc.UpdateUser(t.Context(), f.caller, lisa.User.ID, directory.ProfilePatch{FirstName: &name})
	assert.Error(t, err)
	u, err := f.users.GetUser(t.Context(), lisa.User.ID)
	require.NoError(t, err)
	assert.Equal(t, "Lisa", u.GivenName)
	assert.Len(t, f.events.Events(), before, "no event")
}

// The invitation's change and its user.invited are stored first; the mail
// goes after. A mail that fails leaves both, says so, and a retry of the
// provisioning changes nothing and tells nothing.
func TestProvisioningMailsTheInvitationAfterItsChangeIsStored(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	f.mail.fail = errors.New("relay down")
	in := directory.ProvisionInput{Email: "maggie@example.edu", FirstName: "Maggie", LastName: "Simpson", OrganizationID: f.org.ID, SendInviteEmail: true}
	p, err := f.svc.Provision(t.Context(), f.caller, in)
	require.NoError(t, err, "the mail's failure is the row's news, not the call's")
	assert.True(t, p.IsNewUser)
	assert.False(t, p.InviteSent)
	assert.ErrorIs(t, p.InviteErr, directory.ErrMailNotSent)
	types := func() []string {
		var out []string
		for _, e := range f.events.Events()[1:] { // after organization.created
			out = append(out, e.Type)
		}
		return out
	}
	assert.Equal(t, []string{domain.EventUserCreated, domain.EventLicenseAssigned, domain.EventUserInvited}, types(),
		"the invitation was issued with the user; its mail is what failed")

	f.mail.fail = nil
	again, err := f.svc.Provision(t.Context(), f.caller, in)
	require.NoError(t, err)
	assert.False(t, again.IsNewUser)
	assert.False(t, again.InviteSent, "only a user the call made is invited")
	assert.Len(t, types(), 3, "the retry changed nothing, so it told nothing")
}

// A client deleted after it authenticated acts no more: the use case reads
// the client again inside its unit of work.
func TestADeletedClientActsNoMore(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	require.NoError(t, f.clients.DeleteClient(t.Context(), f.caller.Client.ID))
	_, err := f.svc.Provision(t.Context(), f.caller, directory.ProvisionInput{
		Email: "bart@example.edu", FirstName: "Bart", LastName: "Simpson", OrganizationID: f.org.ID,
	})
	assert.Equal(t, fault.Unauthorized, kindOf(t, err))
	_, err = f.users.GetUserByEmail(t.Context(), "bart@example.edu")
	assert.ErrorIs(t, err, domain.ErrNotFound, "nothing was written")
}

// A caller's unit (Atomically) holds the mail of the use cases it runs
// until it is stored: an invitation goes out after the unit, and not at
// all when the unit fails after the use case.
func TestMailOfAUseCaseInACallersUnitGoesOutOnceTheUnitIsStored(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	ctx := t.Context()
	sent := func() int {
		f.mail.mu.Lock()
		defer f.mail.mu.Unlock()
		return len(f.mail.mail)
	}
	before := sent()
	invite := func(email string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			at := sent()
			p, err := f.svc.Provision(ctx, f.caller, directory.ProvisionInput{
				Email: email, FirstName: "Ned", LastName: "Flanders", OrganizationID: f.org.ID, SendInviteEmail: true,
			})
			if err != nil {
				return err
			}
			assert.True(t, p.InviteSent, "the invitation is on its way")
			assert.Equal(t, at, sent(), "but not sent while the unit runs")
			return nil
		}
	}
	require.NoError(t, f.svc.Atomically(ctx, invite("ned@example.edu")))
	assert.Equal(t, before+1, sent(), "it goes out once the unit is stored")
	assert.Equal(t, "ned@example.edu", f.mail.last(t).To)

	failed := errors.New("the caller's own failure")
	err := f.svc.Atomically(ctx, func(ctx context.Context) error {
		if err := invite("rod@example.edu")(ctx); err != nil {
			return err
		}
		return failed
	})
	require.ErrorIs(t, err, failed)
	assert.Equal(t, before+1, sent(), "a unit that fails sends nothing")
}

func TestDeletingAnAccountDeletesItsFactors(t *testing.T) {
	f := newFixture(t, "provision", "delete")
	p := f.provision(t, "gone@example.com")
	ctx := t.Context()
	_, err := f.factors.UpdateFactors(ctx, p.User.ID, func(x *domain.Factors) error {
		x.TOTP = &domain.TOTP{Secret: []byte("0123456789abcdefghij")}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, f.svc.AdminDeleteUser(ctx, p.User.ID))
	left, err := f.factors.GetFactors(ctx, p.User.ID)
	require.NoError(t, err)
	assert.False(t, left.HasSecondFactor(), "no factor outlives its account")
}
