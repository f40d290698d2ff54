package smtptest_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/smtp/smtptest"
)

const raw = "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nline one=\r\n continued\r\nline two\r\n"

func send(srv *smtptest.Server) error {
	addr := net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port()))
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(raw))
}

func TestServerDecodesWhatItReceives(t *testing.T) {
	srv := smtptest.Start(t)

	require.NoError(t, send(srv))

	got := srv.Wait(t, 1, 5*time.Second)
	require.Len(t, got, 1)
	assert.Equal(t, "a@example.com", got[0].From)
	assert.Equal(t, []string{"b@example.com"}, got[0].To)
	assert.Equal(t, "Grüße", got[0].Subject)
	assert.Equal(t, "line one continued\nline two", got[0].Text)
	assert.Equal(t, "b@example.com", got[0].Header.Get("To"))
	assert.Equal(t, raw, string(got[0].Raw))
}

func TestServerRequiresAuthWhenAskedTo(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{Username: "u", Password: "p"})

	err := send(srv)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "authenticate")
	assert.Empty(t, srv.Messages())
}

// recorder stands in for a test, to see Wait fail one.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
}

func TestWaitFailsTheTestWhenTooFewMessagesArrive(t *testing.T) {
	srv := smtptest.Start(t)
	require.NoError(t, send(srv))
	rec := &recorder{}

	start := time.Now()
	got := srv.Wait(rec, 2, 100*time.Millisecond)

	assert.Nil(t, got)
	assert.Equal(t, "smtptest: 1 of 2 messages arrived within 100ms", rec.failure)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestWaitReturnsOnceMessagesArriveLater(t *testing.T) {
	srv := smtptest.Start(t)
	sent := make(chan error, 2)
	go func() {
		time.Sleep(50 * time.Millisecond)
		sent <- send(srv)
		sent <- send(srv)
	}()

	assert.Len(t, srv.Wait(t, 2, 5*time.Second), 2)
	assert.NoError(t, <-sent)
	assert.NoError(t, <-sent)
}
