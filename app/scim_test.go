package app_test

import (
	"testing"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/scimflow"
)

func (s *testServer) scimEnv() scimflow.Env {
	return scimflow.Env{BaseURL: s.BaseURL, AdminKey: seedAdminKey, Events: s.events}
}

// TestSCIMFlow runs the SCIM suite (Entra ID and Okta sequences, tenancy,
// filters, groups, bad input) on the memory driver.
func TestSCIMFlow(t *testing.T) {
	t.Parallel()
	srv, _ := startDirectoryServer(t, nil)
	scimflow.Run(t, srv.scimEnv())
}

// TestSCIMFlowPostgres runs it on the postgres driver.
func TestSCIMFlowPostgres(t *testing.T) {
	t.Parallel()
	srv, _ := startDirectoryServer(t, usePostgres(postgresDSN(t), newKEK()))
	scimflow.Run(t, srv.scimEnv())
}

// TestSCIMFlowMongo runs it on the mongo driver.
func TestSCIMFlowMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	srv, _ := startDirectoryServer(t, useMongo(uri, db, newKEK()))
	scimflow.Run(t, srv.scimEnv())
}

// TestSCIMDeleteDeactivates runs DELETE with scim.on_delete: deactivate.
func TestSCIMDeleteDeactivates(t *testing.T) {
	t.Parallel()
	srv, _ := startDirectoryServer(t, func(c *config.Config) { c.SCIM.OnDelete = config.SCIMDeactivate })
	env := srv.scimEnv()
	env.DeleteDeactivates = true
	scimflow.RunDeactivateOnDelete(t, env)
}
