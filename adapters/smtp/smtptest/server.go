package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configures a Server started with StartWith.
type Options struct {
	// Username and Password, if Username is set, are required through
	// AUTH PLAIN before MAIL FROM.
	Username string
	Password string
	// TLS offers STARTTLS with a self-signed certificate (see RootCAs).
	// Without it, AUTH is allowed over plain text.
	TLS bool
	// ImplicitTLS speaks TLS from the first byte, as on port 465.
	ImplicitTLS bool
}

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	addr    *net.TCPAddr
	rootCAs *x509.CertPool

	mu       sync.Mutex
	messages []Message
	arrived  chan struct{} // closed and replaced when a message arrives
}

// Start starts a server with no authentication and no TLS, stopped when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server configured by opts, stopped when the test ends.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0) // failures reach the client
	srv.AllowInsecureAuth = !opts.TLS && !opts.ImplicitTLS
	srv.EnableSMTPUTF8 = true // internationalized addresses (RFC 6531)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if opts.TLS || opts.ImplicitTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			l.Close()
			t.Fatalf("smtptest: make certificate: %v", err)
		}
		s.rootCAs = pool
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if opts.TLS {
			srv.TLSConfig = cfg
		}
		if opts.ImplicitTLS {
			l = tls.NewListener(l, cfg)
		}
	}
	s.addr = l.Addr().(*net.TCPAddr)

	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l) // returns ErrServerClosed once Close is called
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// Host returns the address the server listens on, 127.0.0.1.
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// RootCAs returns the pool that trusts the server's certificate, or nil
// without TLS.
func (s *Server) RootCAs() *x509.CertPool { return s.rootCAs }

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Wait returns the messages once at least n have arrived, or fails the test
// after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, arrived := slices.Clone(s.messages), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("smtptest: %d of %d messages arrived within %v", len(msgs), n, timeout)
			return nil
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *Server) newSession(*smtp.Conn) (smtp.Session, error) {
	return &session{server: s}, nil
}

// session is one SMTP connection's state.
type session struct {
	server *Server
	authed bool
	from   string
	to     []string
}

var errBadCredentials = &smtp.SMTPError{
	Code:         535,
	EnhancedCode: smtp.EnhancedCode{5, 7, 8},
	Message:      "Authentication credentials invalid",
}

// AuthMechanisms offers PLAIN only when credentials are required; go-smtp
// then advertises AUTH.
func (s *session) AuthMechanisms() []string {
	if s.server.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || s.server.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.server.opts.Username || password != s.server.opts.Password {
			return errBadCredentials
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.opts.Username != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parseMessage(s.from, s.to, raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	s.server.add(m)
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

var _ smtp.AuthSession = (*session)(nil)
