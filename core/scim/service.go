package scim

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Config holds SCIM's settings.
type Config struct {
	// BaseURL is the issuer; resources live under BaseURL + "/scim/v2".
	BaseURL string
	// Deactivate makes DELETE deactivate a user instead of deleting them.
	Deactivate bool
	// MaxResults bounds a page of a listing (ServiceProviderConfig
	// filter.maxResults).
	MaxResults int
}

// DefaultMaxResults is the default page bound.
const DefaultMaxResults = 200

// Deps are what SCIM drives.
type Deps struct {
	Directory *directory.Service
	Store     ports.SCIMStore
	Users     ports.UserStore
	Orgs      ports.OrganizationStore
	Clock     ports.Clock
	Random    ports.Random
}

// Service runs SCIM's use cases.
type Service struct {
	cfg  Config
	deps Deps
}

// New returns a SCIM service.
func New(cfg Config, deps Deps) *Service {
	if cfg.MaxResults <= 0 {
		cfg.MaxResults = DefaultMaxResults
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Service{cfg: cfg, deps: deps}
}

// Root is the SCIM base URL.
func (s *Service) Root() string { return s.cfg.BaseURL + "/scim/v2" }

// Tenant is an organization authenticated by its SCIM token.
type Tenant struct {
	OrganizationID string
	// SignInEmail is the token's rule for a home member's sign-in email.
	SignInEmail domain.SignInEmailRule
	caller      *directory.Caller
}

// Authenticate checks a bearer token. Tokens are looked up by SHA-256, so
// the token itself is never compared.
func (s *Service) Authenticate(ctx context.Context, token string) (*Tenant, error) {
	if !strings.HasPrefix(token, domain.SCIMTokenPrefix) || len(token) > 128 {
		return nil, errUnauthorized
	}
	t, err := s.deps.Store.GetSCIMToken(ctx, domain.HashToken(token))
	if errors.Is(err, domain.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	rule := t.SignInEmail
	if rule == "" {
		rule = domain.SignInPrimaryEmail
	}
	return &Tenant{OrganizationID: t.OrganizationID, SignInEmail: rule, caller: directory.OrgCaller(t.OrganizationID)}, nil
}

// CreateToken makes an organization's SCIM token and returns it; only its
// hash is kept, so this is the one time it is shown. rule picks the sign-in
// email of the users it writes ("" is primary_email).
func (s *Service) CreateToken(ctx context.Context, orgID, name string, rule domain.SignInEmailRule) (string, domain.SCIMToken, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "SCIM"
	}
	if err := checkText("name", name); err != nil || len(name) > 100 {
		return "", domain.SCIMToken{}, directory.NewError(directory.Invalid, "invalid_request", "name must be at most 100 printable characters")
	}
	if !domain.ValidSignInEmailRule(rule) {
		return "", domain.SCIMToken{}, directory.NewError(directory.Invalid, "invalid_request", "signInEmail must be primary_email or user_name")
	}
	if rule == "" {
		rule = domain.SignInPrimaryEmail
	}
	if _, err := s.deps.Directory.GetOrganization(ctx, orgID); err != nil {
		return "", domain.SCIMToken{}, err
	}
	token := domain.SCIMTokenPrefix + s.deps.Random.Token(32)
	t := domain.SCIMToken{
		ID: s.deps.Random.UUID(), OrganizationID: orgID, Name: name,
		Hash: domain.HashToken(token), SignInEmail: rule, CreatedAt: s.deps.Clock.Now(),
	}
	if err := s.deps.Store.CreateSCIMToken(ctx, t); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return "", domain.SCIMToken{}, directory.NewError(directory.NotFound, "organization_not_found", "no such organization")
		}
		return "", domain.SCIMToken{}, err
	}
	return token, t, nil
}

// ListTokens lists an organization's SCIM tokens (never the tokens
// themselves).
func (s *Service) ListTokens(ctx context.Context, orgID string) ([]domain.SCIMToken, error) {
	if _, err := s.deps.Directory.GetOrganization(ctx, orgID); err != nil {
		return nil, err
	}
	return s.deps.Store.ListSCIMTokens(ctx, orgID)
}

// RevokeToken deletes one of an organization's SCIM tokens; it stops
// working at once.
func (s *Service) RevokeToken(ctx context.Context, orgID, id string) error {
	err := s.deps.Store.DeleteSCIMToken(ctx, orgID, id)
	if errors.Is(err, domain.ErrNotFound) {
		return directory.NewError(directory.NotFound, "token_not_found", "this organization has no SCIM token with that id")
	}
	return err
}

// ListQuery is a list request's parameters, as sent.
type ListQuery struct {
	Filter, StartIndex, Count, Attributes, ExcludedAttributes string
}

// ListQueryOf reads the query parameters of a list request.
func ListQueryOf(q url.Values) ListQuery {
	get := func(k string) string {
		for key, v := range q {
			if strings.EqualFold(key, k) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	return ListQuery{
		Filter: get("filter"), StartIndex: get("startIndex"), Count: get("count"),
		Attributes: get("attributes"), ExcludedAttributes: get("excludedAttributes"),
	}
}

// paging reads startIndex (1-based; below 1 means 1) and count (below 0
// means 0; above the bound is the bound), as RFC 7644 section 3.4.2.4 says.
func (s *Service) paging(q ListQuery) (start, count int, err error) {
	start, count = 1, s.cfg.MaxResults
	if q.StartIndex != "" {
		if start, err = strconv.Atoi(q.StartIndex); err != nil {
			return 0, 0, badValue("startIndex must be an integer")
		}
		start = max(start, 1)
	}
	if q.Count != "" {
		if count, err = strconv.Atoi(q.Count); err != nil {
			return 0, 0, badValue("count must be an integer")
		}
		count = min(max(count, 0), s.cfg.MaxResults)
	}
	return start, count, nil
}

// listArgs reads a list request's paging and attribute selection.
func (s *Service) listArgs(q ListQuery) (start, count int, proj Projection, err error) {
	if start, count, err = s.paging(q); err != nil {
		return 0, 0, Projection{}, err
	}
	proj, err = ParseProjection(q.Attributes, q.ExcludedAttributes)
	return start, count, proj, err
}

// ListUsers searches the tenant's users.
func (s *Service) ListUsers(ctx context.Context, t *Tenant, q ListQuery) (map[string]any, error) {
	f, err := ParseFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	start, count, proj, err := s.listArgs(q)
	if err != nil {
		return nil, err
	}
	page, err := s.deps.Store.SearchUsers(ctx, domain.UserQuery{
		OrganizationID: t.OrganizationID, Filter: f, Offset: start - 1, Limit: count,
	})
	if err != nil {
		return nil, err
	}
	res := make([]map[string]any, 0, len(page.Members))
	for _, m := range page.Members {
		r := renderUser(m, t.OrganizationID, s.Root())
		if proj.asks("groups") {
			// Only when asked: a page of users would read each one's groups.
			if r, err = s.withGroups(ctx, t, r, m.User.ID); err != nil {
				return nil, err
			}
		}
		res = append(res, proj.Apply(r))
	}
	return listResponse(page.Total, start, res), nil
}

func listResponse(total, start int, res []map[string]any) map[string]any {
	return map[string]any{
		"schemas":      []string{SchemaListResp},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(res),
		"Resources":    res,
	}
}

// withGroups adds the groups the user is in to its representation.
func (s *Service) withGroups(ctx context.Context, t *Tenant, r map[string]any, userID string) (map[string]any, error) {
	gs, err := s.deps.Directory.UserGroups(ctx, t.OrganizationID, userID)
	if err != nil {
		return nil, err
	}
	return withGroups(r, gs, s.Root()), nil
}

// member loads one of the tenant's users: anyone else is not found.
func (s *Service) member(ctx context.Context, t *Tenant, id string) (domain.Member, error) {
	if id == "" || len(id) > 64 {
		return domain.Member{}, errNotFound
	}
	m, err := s.deps.Orgs.GetMembership(ctx, t.OrganizationID, id)
	if errors.Is(err, domain.ErrNotFound) || err == nil && !m.Visible() {
		// A pending membership is not the organization's until its
		// holder accepts.
		return domain.Member{}, errNotFound
	}
	if err != nil {
		return domain.Member{}, err
	}
	u, err := s.deps.Users.GetUser(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Member{}, errNotFound
	}
	if err != nil {
		return domain.Member{}, err
	}
	return domain.Member{User: u, Membership: m}, nil
}

// GetUser returns one of the tenant's users, projected, and its version
// (the projection may leave meta out).
func (s *Service) GetUser(ctx context.Context, t *Tenant, id, attributes, excluded string) (map[string]any, string, error) {
	proj, err := ParseProjection(attributes, excluded)
	if err != nil {
		return nil, "", err
	}
	m, err := s.member(ctx, t, id)
	if err != nil {
		return nil, "", err
	}
	r := renderUser(m, t.OrganizationID, s.Root())
	v := versionOf(r)
	if proj.wants("groups") {
		if r, err = s.withGroups(ctx, t, r, id); err != nil {
			return nil, "", err
		}
	}
	return proj.Apply(r), v, nil
}

// versionOf is a rendered resource's meta.version.
func versionOf(r map[string]any) string {
	meta, _ := r["meta"].(map[string]any)
	v, _ := meta["version"].(string)
	return v
}

// checkVersion answers 412 when If-Match names another version.
func checkVersion(ifMatch, current string) error {
	if ifMatch != "" && ifMatch != "*" && ifMatch != current {
		return newErr(412, "", "the resource changed since that version was read")
	}
	return nil
}

// parseUser reads a POST or PUT body onto base.
func parseUser(body []byte, base userAttrs) (userAttrs, error) {
	var obj map[string]any
	if err := decodeStrict(body, &obj); err != nil {
		return userAttrs{}, err
	}
	if obj == nil {
		return userAttrs{}, newErr(400, TypeInvalidSyntax, "the body must be a JSON object")
	}
	var schemas []any
	for k, v := range obj {
		if strings.EqualFold(k, "schemas") {
			schemas, _ = v.([]any)
		}
	}
	found := false
	for _, s := range schemas {
		str, _ := s.(string)
		found = found || strings.EqualFold(str, SchemaUser)
	}
	if !found {
		return userAttrs{}, newErr(400, TypeInvalidSyntax, "schemas must include %s", SchemaUser)
	}
	if err := base.applyObject("replace", obj); err != nil {
		return userAttrs{}, err
	}
	return base, nil
}

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

var errJoinPending = newErr(409, TypeUniqueness, "a user with this email already exists in another organization; "+
	"its holder was invited to join this one, and it is listed here once they accept")

var errTaken = newErr(409, TypeUniqueness, "a user with this userName already exists")

var errEmailTaken = newErr(409, TypeUniqueness, "a user with this email already exists")

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
