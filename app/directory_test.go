package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/adapters/smtp/smtptest"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
	"github.com/calimatic/calimatic-auth/testsuite/directoryflow"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// mailTimeout bounds the wait for a mail the server should have sent.
const mailTimeout = 10 * time.Second

// startDirectoryServer starts the app with its mail going to an in-test
// SMTP server and rate limits off (the suites register many clients), and
// returns the server and its mailbox.
func startDirectoryServer(t *testing.T, edit func(*config.Config), extra ...fx.Option) (*testServer, testsuite.Mailbox) {
	t.Helper()
	mail := smtptest.Start(t)
	srv := startServer(t, func(c *config.Config) {
		c.RateLimit.Enabled = false
		c.Mail.Kind = config.MailSMTP
		c.Mail.From = "Calimatic <no-reply@calimatic.test>"
		c.Mail.SMTP.Host, c.Mail.SMTP.Port, c.Mail.SMTP.TLS = mail.Host(), mail.Port(), "none"
		if edit != nil {
			edit(c)
		}
	}, extra...)
	return srv, mailbox(mail)
}

// mailbox reads the smtptest server's messages for one address.
func mailbox(server *smtptest.Server) testsuite.Mailbox {
	return func(t *testing.T, address string, n int) []testsuite.Mail {
		t.Helper()
		deadline := time.Now().Add(mailTimeout)
		for {
			var out []testsuite.Mail
			for _, m := range server.Messages() {
				for _, to := range m.To {
					if strings.EqualFold(to, address) {
						out = append(out, testsuite.Mail{To: to, Subject: m.Subject, Text: m.Text})
					}
				}
			}
			if len(out) >= n {
				return out
			}
			if time.Now().After(deadline) {
				require.Failf(t, "mail not received", "%d message(s) to %s after %s, want %d", len(out), address, mailTimeout, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// events reads what the app published, from whichever publisher it runs.
func (s *testServer) events(t *testing.T) []domain.Event {
	t.Helper()
	switch p := s.Events.(type) {
	case *memory.EventLog:
		return p.Events()
	case *postgres.EventOutbox:
		evs, err := p.Events(t.Context())
		require.NoError(t, err)
		return evs
	case *mongoadapter.EventOutbox:
		evs, err := p.Events(t.Context())
		require.NoError(t, err)
		return evs
	}
	require.Failf(t, "unknown event publisher", "%T", s.Events)
	return nil
}

func (s *testServer) directoryEnv(box testsuite.Mailbox) directoryflow.Env {
	return directoryflow.Env{BaseURL: s.BaseURL, AdminKey: seedAdminKey, Mailbox: box, Events: s.events}
}

func (s *testServer) oidcDirectoryEnv(box testsuite.Mailbox) oidcflow.Env {
	env := s.env()
	env.AdminKey, env.Mailbox = seedAdminKey, box
	return env
}

// TestDirectoryFlow runs the directory's black-box suite (provisioning, user
// management, tenancy, administration, events) on the memory driver.
func TestDirectoryFlow(t *testing.T) {
	t.Parallel()
	srv, box := startDirectoryServer(t, nil)
	directoryflow.Run(t, srv.directoryEnv(box))
}

// TestDirectoryFlowPostgres runs it on the postgres driver.
func TestDirectoryFlowPostgres(t *testing.T) {
	t.Parallel()
	usePG := usePostgres(postgresDSN(t), newKEK())
	srv, box := startDirectoryServer(t, usePG)
	directoryflow.Run(t, srv.directoryEnv(box))
}

// TestOIDCDirectory runs the OIDC side of the directory (extended scopes,
// invitations, resets, status, licenses) on the memory driver.
func TestOIDCDirectory(t *testing.T) {
	t.Parallel()
	srv, box := startDirectoryServer(t, nil)
	oidcflow.RunDirectory(t, srv.oidcDirectoryEnv(box))
}

// TestOIDCDirectoryPostgres runs it on the postgres driver.
func TestOIDCDirectoryPostgres(t *testing.T) {
	t.Parallel()
	usePG := usePostgres(postgresDSN(t), newKEK())
	srv, box := startDirectoryServer(t, usePG)
	oidcflow.RunDirectory(t, srv.oidcDirectoryEnv(box))
}
