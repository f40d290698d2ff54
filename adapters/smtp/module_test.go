package smtp

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/calimatic/calimatic-auth/adapters/smtp/smtptest"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

func TestModuleProvidesTheMailerAsThePort(t *testing.T) {
	srv := smtptest.Start(t)
	var mailer ports.Mailer
	app := fxtest.New(t,
		Module(Options{Host: srv.Host(), Port: srv.Port(), From: from, TLS: TLSNone}),
		fx.Populate(&mailer),
	)
	app.RequireStart()
	defer app.RequireStop()

	require.NoError(t, mailer.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: "Hi", Text: "x"}))
	assert.Len(t, srv.Wait(t, 1, 5*time.Second), 1)
}

func TestModuleFailsTheStartOnBadOptions(t *testing.T) {
	var mailer ports.Mailer
	app := fx.New(Module(Options{Host: "smtp.example.com", Port: 587, From: from, TLS: "ssl"}), fx.Populate(&mailer), fx.NopLogger)
	assert.ErrorContains(t, app.Err(), "tls mode")
}

func TestLogModuleProvidesTheLogMailerAsThePort(t *testing.T) {
	var buf bytes.Buffer
	var mailer ports.Mailer
	app := fxtest.New(t, LogModule(&buf), fx.Populate(&mailer))
	app.RequireStart()
	defer app.RequireStop()

	require.NoError(t, mailer.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: "Hi", Text: "x"}))
	assert.Contains(t, buf.String(), "── mail to ada@example.com: Hi ──")
}
