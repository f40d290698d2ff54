package smtp

import (
	"context"
	"crypto/tls"
	"net"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/smtp/smtptest"
	"github.com/calimatic/calimatic-auth/core/domain"
)

const from = "Calimatic Auth <no-reply@example.com>"

// mailerFor returns a Mailer pointed at srv, with opts' other fields.
func mailerFor(t *testing.T, srv *smtptest.Server, opts Options) *Mailer {
	t.Helper()
	opts.Host, opts.Port = srv.Host(), srv.Port()
	if opts.From == "" {
		opts.From = from
	}
	if opts.TLS == "" {
		opts.TLS = TLSNone
	}
	if srv.RootCAs() != nil {
		opts.TLSConfig = &tls.Config{RootCAs: srv.RootCAs()}
	}
	m, err := New(opts)
	require.NoError(t, err)
	return m
}

func TestMailerDeliversTheMessageExactly(t *testing.T) {
	longLink := "https://auth.example.com/verify?token=" + strings.Repeat("aB3-", 60)
	tests := []struct {
		name string
		mail domain.Mail
	}{
		{"plain ascii text", domain.Mail{To: "ada@example.com", Subject: "Sign in", Text: "Hello Ada.\nBye."}},
		{"non-ascii subject and body", domain.Mail{To: "zoë@example.com", Subject: "Connexion à Calimatic ✓", Text: "Grüße, Zoë — 日本語\n"}},
		{"a line longer than 76 octets", domain.Mail{To: "ada@example.com", Subject: "Link", Text: "Follow " + longLink + "\nThanks."}},
		{"a recipient with a display name", domain.Mail{To: "Ada Lovelace <ada@example.com>", Subject: "Hi", Text: "x"}},
		{"text with dots, equals signs and trailing spaces", domain.Mail{To: "ada@example.com", Subject: "a=b", Text: ".\n..leading dots\na=b  \n\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t)
			m := mailerFor(t, srv, Options{})

			require.NoError(t, m.Send(t.Context(), tt.mail))

			got := srv.Wait(t, 1, 5*time.Second)[0]
			to, err := mail.ParseAddress(tt.mail.To)
			require.NoError(t, err)
			assert.Equal(t, "no-reply@example.com", got.From)
			assert.Equal(t, []string{to.Address}, got.To)
			assert.Equal(t, tt.mail.Subject, got.Subject)
			assert.Equal(t, tt.mail.Text, got.Text)
			assertWellFormed(t, got)
		})
	}
}

// assertWellFormed checks the headers every message carries and the line
// length limit that quoted-printable exists to keep.
func assertWellFormed(t *testing.T, got smtptest.Message) {
	t.Helper()
	sender, err := got.Header.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Name: "Calimatic Auth", Address: "no-reply@example.com"}}, sender)
	_, err = got.Header.Date()
	assert.NoError(t, err)
	assert.Regexp(t, `^<[A-Z2-7]+@example\.com>$`, got.Header.Get("Message-ID"))
	assert.Equal(t, "1.0", got.Header.Get("MIME-Version"))
	assert.Equal(t, "text/plain; charset=utf-8", got.Header.Get("Content-Type"))
	assert.Equal(t, "quoted-printable", got.Header.Get("Content-Transfer-Encoding"))
	for line := range strings.SplitSeq(string(got.Raw), "\r\n") {
		assert.LessOrEqual(t, len(line), 78, "line %q", line)
	}
}

func TestMessageIDsAreUnique(t *testing.T) {
	a, b := messageID("x@example.com"), messageID("x@example.com")
	assert.NotEqual(t, a, b)
}

func TestMailerAuthenticatesWithPlain(t *testing.T) {
	tests := []struct {
		name     string
		server   smtptest.Options
		tlsMode  string
		password string
		wantErr  bool
	}{
		{"over starttls with the right password", smtptest.Options{Username: "mailer", Password: "s3cret-pw", TLS: true}, TLSStartTLS, "s3cret-pw", false},
		{"over implicit tls with the right password", smtptest.Options{Username: "mailer", Password: "s3cret-pw", ImplicitTLS: true}, TLSImplicit, "s3cret-pw", false},
		{"over plain text to loopback", smtptest.Options{Username: "mailer", Password: "s3cret-pw"}, TLSNone, "s3cret-pw", false},
		{"over starttls with a wrong password fails", smtptest.Options{Username: "mailer", Password: "s3cret-pw", TLS: true}, TLSStartTLS, "wrong-pw-42", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.StartWith(t, tt.server)
			m := mailerFor(t, srv, Options{TLS: tt.tlsMode, Username: "mailer", Password: tt.password})

			err := m.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: "Hi", Text: "x"})

			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "auth")
				assert.NotContains(t, err.Error(), tt.password)
				assert.Empty(t, srv.Messages())
				return
			}
			require.NoError(t, err)
			assert.Len(t, srv.Wait(t, 1, 5*time.Second), 1)
		})
	}
}

func TestMailerRefusesToDowngrade(t *testing.T) {
	t.Run("starttls fails against a server without STARTTLS", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := mailerFor(t, srv, Options{TLS: TLSStartTLS})

		err := m.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: "Hi", Text: "x"})

		require.Error(t, err)
		assert.Contains(t, err.Error(), "STARTTLS")
		assert.Empty(t, srv.Messages())
	})
	t.Run("starttls fails against a certificate nobody trusts", func(t *testing.T) {
		srv := smtptest.StartWith(t, smtptest.Options{TLS: true})
		m, err := New(Options{Host: srv.Host(), Port: srv.Port(), From: from, TLS: TLSStartTLS})
		require.NoError(t, err)

		err = m.Send(t.Context(), domain.Mail{To: "ada@example.com", Subject: "Hi", Text: "x"})

		require.Error(t, err)
		assert.Contains(t, err.Error(), "certificate")
		assert.Empty(t, srv.Messages())
	})
}

func TestCheckAuthTransport(t *testing.T) {
	tests := []struct {
		host      string
		encrypted bool
		allowed   bool
	}{
		{"smtp.example.com", true, true},
		{"smtp.example.com", false, false},
		{"10.0.0.5", false, false},
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"::1", false, true},
		{"localhost", false, true},
	}
	for _, tt := range tests {
		err := checkAuthTransport(tt.host, tt.encrypted)
		if tt.allowed {
			assert.NoError(t, err, "credentials to %s (encrypted %v) should be allowed", tt.host, tt.encrypted)
		} else {
			assert.ErrorIs(t, err, ErrInsecureAuth, "credentials to %s (encrypted %v) should be refused", tt.host, tt.encrypted)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	ok := Options{Host: "smtp.example.com", Port: 587, From: from, TLS: TLSStartTLS}
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"an unknown tls mode", func(o *Options) { o.TLS = "ssl" }, "tls mode"},
		{"a missing host", func(o *Options) { o.Host = "" }, "host and port"},
		{"a missing port", func(o *Options) { o.Port = 0 }, "host and port"},
		{"a from that is no address", func(o *Options) { o.From = "no-reply" }, "from address"},
		{"credentials in clear text to a remote host", func(o *Options) { o.TLS, o.Username, o.Password = TLSNone, "u", "pw-never-shown" }, "unencrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ok
			tt.change(&opts)
			_, err := New(opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "pw-never-shown")
		})
	}
	_, err := New(ok)
	assert.NoError(t, err, "the valid options are accepted")
}

// invalidMails are refused by both mailers before anything is sent.
var invalidMails = []struct {
	name string
	mail domain.Mail
}{
	{"a recipient with CRLF", domain.Mail{To: "ada@example.com\r\nBcc: eve@evil.test", Subject: "Hi", Text: "x"}},
	{"a recipient with LF", domain.Mail{To: "ada@example.com\nBcc: eve@evil.test", Subject: "Hi", Text: "x"}},
	{"a subject with CR", domain.Mail{To: "ada@example.com", Subject: "Hi\rBcc: eve@evil.test", Text: "x"}},
	{"a subject with LF", domain.Mail{To: "ada@example.com", Subject: "Hi\nBcc: eve@evil.test", Text: "x"}},
	{"a recipient that is no address", domain.Mail{To: "not an address", Subject: "Hi", Text: "x"}},
	{"an empty recipient", domain.Mail{To: "", Subject: "Hi", Text: "x"}},
	{"two recipients", domain.Mail{To: "ada@example.com, eve@evil.test", Subject: "Hi", Text: "x"}},
}

func TestMailerRefusesInvalidMailWithoutConnecting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Store(true)
			c.Close()
		}
	}()
	addr := l.Addr().(*net.TCPAddr)
	m, err := New(Options{Host: "127.0.0.1", Port: addr.Port, From: from, TLS: TLSNone})
	require.NoError(t, err)

	for _, tt := range invalidMails {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, m.Send(t.Context(), tt.mail), ErrInvalidMail)
		})
	}
	l.Close()
	<-done
	assert.False(t, accepted.Load(), "the mailer connected")
}

// silentServer accepts connections and never answers, like a relay that
// hangs; it returns its port.
func silentServer(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

func TestMailerGivesUpInTime(t *testing.T) {
	mail := domain.Mail{To: "ada@example.com", Subject: "Hi", Text: "x"}
	closedPort := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()

	tests := []struct {
		name    string
		port    int
		timeout time.Duration
		ctx     func() context.Context
		want    error
	}{
		{"a server that never answers times out", silentServer(t), 200 * time.Millisecond, context.Background, context.DeadlineExceeded},
		{"a cancelled context fails at once", silentServer(t), 10 * time.Second, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
		{"a context cancelled mid-session stops the send", silentServer(t), 10 * time.Second, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx
		}, context.Canceled},
		{"a context deadline shorter than the timeout wins", silentServer(t), 10 * time.Second, func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Options{Host: "127.0.0.1", Port: tt.port, From: from, TLS: TLSNone, Timeout: tt.timeout})
			require.NoError(t, err)

			start := time.Now()
			err = m.Send(tt.ctx(), mail)

			assert.ErrorIs(t, err, tt.want)
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
	t.Run("an unreachable server fails with the dial", func(t *testing.T) {
		m, err := New(Options{Host: "127.0.0.1", Port: closedPort, From: from, TLS: TLSNone, Timeout: time.Second})
		require.NoError(t, err)
		err = m.Send(t.Context(), mail)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "smtp: dial 127.0.0.1:")
	})
}
