package directoryflow

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// Env is the server under test.
type Env struct {
	// BaseURL is the server's issuer, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// AdminKey is a platform admin key, sent as Authorization: Bearer <key>
	// on /api/v1/admin/...
	AdminKey string
	// Mailbox returns the mail the server sent to an address.
	Mailbox testsuite.Mailbox
	// Events returns every event the server published so far, in order.
	Events func(t *testing.T) []domain.Event
	// MaxBatch is the server's bulk provisioning limit; 0 means 1000.
	MaxBatch int
}

// Paths of the user management API (guide §4) and the admin API.
const (
	pathRegister      = "/api/v1/oidc/register"
	pathProvision     = "/api/v1/users/provision"
	pathProvisionBulk = "/api/v1/users/provision/bulk"
	pathUsers         = "/api/v1/users/"
	pathOrgs          = "/api/v1/organizations/"
	pathAdmin         = "/api/v1/admin"
	pathAdminOrgs     = pathAdmin + "/organizations"
	pathAdminClients  = pathAdmin + "/clients/"
	pathAdminUsers    = pathAdmin + "/users/"
)

func userPath(id string) string     { return pathUsers + id }
func orgUsersPath(id string) string { return pathOrgs + id + "/users" }
func adminOrgPath(id string) string { return pathAdminOrgs + "/" + id }
func grantPath(clientID, orgID string) string {
	return pathAdminClients + clientID + "/grants/" + orgID
}
func licensePath(clientID, userID string) string {
	return pathAdminClients + clientID + "/licenses/" + userID
}

// requestTimeout bounds every request; a 1,000-row bulk request is the
// slowest.
const requestTimeout = 2 * time.Minute

type suite struct {
	env  Env
	http *http.Client
}

func newSuite(t *testing.T, env Env) *suite {
	t.Helper()
	env.BaseURL = strings.TrimRight(env.BaseURL, "/")
	require.NotEmpty(t, env.BaseURL, "Env.BaseURL is required")
	require.NotEmpty(t, env.AdminKey, "Env.AdminKey is required")
	require.NotNil(t, env.Mailbox, "Env.Mailbox is required")
	require.NotNil(t, env.Events, "Env.Events is required")
	if env.MaxBatch == 0 {
		env.MaxBatch = 1000
	}
	client := &http.Client{
		Timeout:       requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &suite{env: env, http: client}
}

// check is one named subtest.
type check struct {
	name string
	run  func(t *testing.T, s *suite)
}

func (s *suite) runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, s) })
	}
}

// Run checks the directory APIs of the server at env.BaseURL end to end.
// The groups share nothing, so they run in parallel.
func Run(t *testing.T, env Env) {
	s := newSuite(t, env)
	groups := []struct {
		name   string
		checks []check
	}{
		{"provisioning", provisionChecks},
		{"account capture", captureChecks},
		{"bulk provisioning", bulkChecks},
		{"events", eventChecks},
		{"user management", managementChecks},
		{"tenancy", tenancyChecks},
		{"administration", adminChecks},
		{"bad input", badInputChecks},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			s.runChecks(t, g.checks)
		})
	}
}
