package scim

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
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
	// TokenID and TokenName name the token, as the actor of its changes.
	TokenID, TokenName string
	// SignInEmail is the token's rule for a home member's sign-in email.
	SignInEmail domain.SignInEmailRule
	caller      *access.Caller
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
	return &Tenant{OrganizationID: t.OrganizationID, TokenID: t.ID, TokenName: t.Name, SignInEmail: rule,
		caller: directory.OrgCaller(t.OrganizationID)}, nil
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
		return "", domain.SCIMToken{}, fault.New(fault.Invalid, "invalid_request", "name must be at most 100 printable characters")
	}
	if !domain.ValidSignInEmailRule(rule) {
		return "", domain.SCIMToken{}, fault.New(fault.Invalid, "invalid_request", "signInEmail must be primary_email or user_name")
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
			return "", domain.SCIMToken{}, fault.New(fault.NotFound, "organization_not_found", "no such organization")
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
		return fault.New(fault.NotFound, "token_not_found", "this organization has no SCIM token with that id")
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
		return newErr(fault.Stale, "", "the resource changed since that version was read")
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
		return userAttrs{}, newErr(fault.Invalid, TypeInvalidSyntax, "the body must be a JSON object")
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
		return userAttrs{}, newErr(fault.Invalid, TypeInvalidSyntax, "schemas must include %s", SchemaUser)
	}
	if err := base.applyObject("replace", obj); err != nil {
		return userAttrs{}, err
	}
	return base, nil
}
