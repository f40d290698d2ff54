package app_test

import (
	"testing"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// startFederationServer starts a directory server of its own whose DNS is
// a fake the test writes: federation's checks add identity providers,
// which turn the sign-in page to email-first, so they never share a
// server with the other suites.
func startFederationServer(t *testing.T, edit func(*config.Config)) oidcflow.Env {
	t.Helper()
	txt := testsuite.NewFakeTXT()
	srv, box := startDirectoryServer(t, edit, fx.Decorate(func(ports.TXTResolver) ports.TXTResolver { return txt }))
	env := srv.oidcDirectoryEnv(box)
	env.SetTXT = func(name string, records []string) { txt.Set(name, records...) }
	return env
}

// TestFederation signs users in through an in-test upstream OpenID
// provider, on the memory driver.
func TestFederation(t *testing.T) {
	t.Parallel()
	oidcflow.RunFederation(t, startFederationServer(t, nil))
}

// TestFederationPostgres runs it on the postgres driver.
func TestFederationPostgres(t *testing.T) {
	t.Parallel()
	oidcflow.RunFederation(t, startFederationServer(t, usePostgres(postgresDSN(t), newKEK())))
}

// TestFederationMongo runs it on the mongo driver.
func TestFederationMongo(t *testing.T) {
	t.Parallel()
	uri, db := mongoURI(t)
	oidcflow.RunFederation(t, startFederationServer(t, useMongo(uri, db, newKEK())))
}
