package directoryflow

import (
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// suffix is a random lower-case tag that keeps names and emails of one
// check apart from every other check's on a shared database.
func suffix() string { return strings.ToLower(rand.Text()[:12]) }

// newEmail is a fresh address.
func newEmail(tag string) string { return "df-" + tag + "-" + suffix() + "@example.com" }

// apiClient is a registered client calling the user management API.
type apiClient struct{ ID, Secret string }

func (c *apiClient) header() http.Header {
	return http.Header{"X-Client-Id": {c.ID}, "X-Client-Secret": {c.Secret}}
}

// register registers a confidential client (RFC 7591). It has no grants.
func (s *suite) register(t *testing.T) *apiClient {
	t.Helper()
	r := s.send(t, jsonRequest(t, http.MethodPost, pathRegister, nil, map[string]any{
		"client_name":   "directoryflow " + suffix(),
		"redirect_uris": []string{"http://127.0.0.1:5173/cb"},
		"grant_types":   []string{"authorization_code", "refresh_token"},
		"scope":         "openid profile email",
	}))
	require.Equal(t, http.StatusCreated, r.Status, "registration; body %q", r)
	m := r.JSON(t)
	c := &apiClient{}
	c.ID, _ = m["client_id"].(string)
	c.Secret, _ = m["client_secret"].(string)
	require.True(t, strings.HasPrefix(c.ID, "cca_"), "client_id %q", c.ID)
	require.True(t, strings.HasPrefix(c.Secret, "ccas_"), "a confidential client gets a ccas_ secret")
	return c
}

// org is an organization as the admin API shows it.
type org struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	MFAPolicy string `json:"mfaPolicy"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

// newOrg creates an organization named "Directory Flow <tag> <suffix>".
func (s *suite) newOrg(t *testing.T, tag string) org {
	t.Helper()
	r := s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "Directory Flow " + tag + " " + suffix()})
	require.Equal(t, http.StatusCreated, r.Status, "create organization; body %q", r)
	var o org
	r.decode(t, &o)
	require.NotEmpty(t, o.ID)
	return o
}

// Grant actions.
const (
	actProvision  = "provision"
	actRead       = "read"
	actUpdate     = "update"
	actSuspend    = "suspend"
	actDeactivate = "deactivate"
	actDelete     = "delete"
	actReset      = "reset_password"
	actAdmin      = "assign_admin"
)

var allActions = []string{actProvision, actRead, actUpdate, actSuspend, actDeactivate, actDelete, actReset, actAdmin}

// allExcept is every action but one.
func allExcept(action string) []string {
	return slices.DeleteFunc(slices.Clone(allActions), func(a string) bool { return a == action })
}

// grant lets c do actions on an organization's users.
func (s *suite) grant(t *testing.T, c *apiClient, orgID string, actions ...string) {
	t.Helper()
	r := s.admin(t, http.MethodPut, grantPath(c.ID, orgID), map[string]any{"actions": actions})
	require.Equal(t, http.StatusOK, r.Status, "put grant; body %q", r)
}

// newTenant makes an organization and a client granted every action on it.
func (s *suite) newTenant(t *testing.T, tag string) (org, *apiClient) {
	t.Helper()
	o := s.newOrg(t, tag)
	c := s.register(t)
	s.grant(t, c, o.ID, allActions...)
	return o, c
}

// provisionReq is the guide's §4 provisioning body.
type provisionReq struct {
	Email           string `json:"email"`
	FirstName       string `json:"firstName"`
	LastName        string `json:"lastName"`
	OrganizationID  string `json:"organizationId"`
	Role            string `json:"role,omitempty"`
	SendInviteEmail bool   `json:"sendInviteEmail,omitempty"`
}

func newUserReq(orgID, tag string) provisionReq {
	return provisionReq{Email: newEmail(tag), FirstName: "Jane", LastName: "Smith", OrganizationID: orgID}
}

// provisioned is the answer to a provisioning request.
type provisioned struct {
	UserID           string `json:"userId"`
	Email            string `json:"email"`
	FirstName        string `json:"firstName"`
	LastName         string `json:"lastName"`
	OrganizationID   string `json:"organizationId"`
	Role             string `json:"role"`
	Status           string `json:"status"`
	MembershipStatus string `json:"membershipStatus"`
	IsNewUser        bool   `json:"isNewUser"`
	LicenseAssigned  bool   `json:"licenseAssigned"`
	InviteSent       bool   `json:"inviteSent"`
}

// provision provisions a user as c, requiring 201 or 200.
func (s *suite) provision(t *testing.T, c *apiClient, in provisionReq) provisioned {
	t.Helper()
	r := s.call(t, c, http.MethodPost, pathProvision, in)
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Status, "provision %s; body %q", in.Email, r)
	var p provisioned
	r.decode(t, &p)
	require.NotEmpty(t, p.UserID)
	return p
}

// newUser provisions a fresh user in an organization as c.
func (s *suite) newUser(t *testing.T, c *apiClient, orgID, tag string) provisioned {
	t.Helper()
	p := s.provision(t, c, newUserReq(orgID, tag))
	require.True(t, p.IsNewUser)
	return p
}

// user is a user as the management API shows them.
type user struct {
	UserID        string       `json:"userId"`
	Email         string       `json:"email"`
	EmailVerified bool         `json:"emailVerified"`
	FirstName     string       `json:"firstName"`
	LastName      string       `json:"lastName"`
	PhoneNumber   string       `json:"phoneNumber"`
	Picture       string       `json:"picture"`
	Status        string       `json:"status"`
	Organizations []membership `json:"organizations"`
	CreatedAt     string       `json:"createdAt"`
	UpdatedAt     string       `json:"updatedAt"`
}

type membership struct {
	OrganizationID string `json:"organizationId"`
	Role           string `json:"role"`
	Status         string `json:"status"`
	Primary        bool   `json:"primary"`
}

// getUser reads a user as c, requiring 200.
func (s *suite) getUser(t *testing.T, c *apiClient, id string) user {
	t.Helper()
	r := s.call(t, c, http.MethodGet, userPath(id), nil)
	require.Equal(t, http.StatusOK, r.Status, "get user; body %q", r)
	var u user
	r.decode(t, &u)
	return u
}

// userPage is one page of an organization's users.
type userPage struct {
	Users      []user `json:"users"`
	NextCursor string `json:"nextCursor"`
}

// members lists every user of an organization through the admin API.
func (s *suite) members(t *testing.T, orgID string) []user {
	t.Helper()
	var out []user
	cursor := ""
	for {
		path := adminOrgPath(orgID) + "/users?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := s.admin(t, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, r.Status, "list members; body %q", r)
		var p userPage
		r.decode(t, &p)
		out = append(out, p.Users...)
		if p.NextCursor == "" {
			return out
		}
		cursor = p.NextCursor
	}
}

func emailsOf(us []user) []string {
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.Email)
	}
	slices.Sort(out)
	return out
}
