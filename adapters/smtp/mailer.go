package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// TLS modes for Options.TLS.
const (
	TLSNone     = "none"     // plain TCP: local relays and tests only
	TLSStartTLS = "starttls" // plain TCP, then STARTTLS, which is required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
)

// DefaultTimeout bounds one Send when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options configures a Mailer.
type Options struct {
	Host string
	Port int
	// Username and Password authenticate with AUTH PLAIN; no Username means
	// no authentication.
	Username string
	Password string
	// From is the sender, as in "Calimatic Auth <no-reply@example.com>".
	From string
	// TLS is TLSNone, TLSStartTLS or TLSImplicit.
	TLS string
	// Timeout bounds one Send, dial included; 0 means DefaultTimeout.
	Timeout time.Duration
	// TLSConfig, if set, is used for the TLS connection (tests set RootCAs
	// to trust a self-signed certificate). ServerName defaults to Host.
	TLSConfig *tls.Config
}

// Mailer sends mail through one SMTP relay, one connection per message.
// It is safe for concurrent use.
type Mailer struct {
	opts Options
	addr string
	from *mail.Address
}

// New checks opts and returns a Mailer; it does not connect.
func New(opts Options) (*Mailer, error) {
	switch opts.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("smtp: tls mode %q is not one of %q, %q, %q", opts.TLS, TLSNone, TLSStartTLS, TLSImplicit)
	}
	if opts.Host == "" || opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("smtp: host and port are required (got %q, %d)", opts.Host, opts.Port)
	}
	from, err := mail.ParseAddress(opts.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address %q: %w", opts.From, err)
	}
	if opts.Username != "" {
		// Fail at start rather than at the first mail.
		if err := checkAuthTransport(opts.Host, opts.TLS != TLSNone); err != nil {
			return nil, err
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Mailer{opts: opts, addr: net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)), from: from}, nil
}

// Send delivers m, or fails within the timeout or when ctx ends.
func (m *Mailer) Send(ctx context.Context, msg domain.Mail) error {
	to, err := checkMail(msg)
	if err != nil {
		return err
	}
	data := buildMessage(m.from, to, msg.Subject, msg.Text, time.Now())

	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	err = m.send(ctx, to.Address, data)
	if err != nil && ctx.Err() != nil {
		// The connection was closed under the client; the context says why.
		return fmt.Errorf("smtp: send to %s: %w", m.addr, context.Cause(ctx))
	}
	return err
}

// send runs one SMTP session. go-smtp sets its own deadline on each command,
// so ctx is enforced by closing the connection when it ends.
func (m *Mailer) send(ctx context.Context, to string, data []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", m.addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := m.client(ctx, conn)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := m.auth(c); err != nil {
		return err
	}
	if err := c.SendMail(m.from.Address, []string{to}, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("smtp: send to %s: %w", m.addr, err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp: quit %s: %w", m.addr, err)
	}
	return nil
}

// client starts the SMTP session on conn in the configured TLS mode.
func (m *Mailer) client(ctx context.Context, conn net.Conn) (*gosmtp.Client, error) {
	switch m.opts.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, m.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("smtp: tls handshake with %s: %w", m.addr, err)
		}
		return gosmtp.NewClient(tc), nil
	case TLSStartTLS:
		// NewClientStartTLS fails if the server does not offer STARTTLS:
		// never fall back to plain text.
		c, err := gosmtp.NewClientStartTLS(conn, m.tlsConfig())
		if err != nil {
			return nil, fmt.Errorf("smtp: starttls with %s: %w", m.addr, err)
		}
		return c, nil
	default:
		return gosmtp.NewClient(conn), nil
	}
}

func (m *Mailer) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if m.opts.TLSConfig != nil {
		cfg = m.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = m.opts.Host
	}
	return cfg
}

// auth authenticates with PLAIN when a username is set. The transport is
// checked again on the live connection, the one that matters.
func (m *Mailer) auth(c *gosmtp.Client) error {
	if m.opts.Username == "" {
		return nil
	}
	_, encrypted := c.TLSConnectionState()
	if err := checkAuthTransport(m.opts.Host, encrypted); err != nil {
		return err
	}
	if !c.SupportsAuth(sasl.Plain) {
		return fmt.Errorf("smtp: auth as %q: %s does not offer AUTH PLAIN", m.opts.Username, m.addr)
	}
	// The SASL client and the server's reply never echo the password.
	if err := c.Auth(sasl.NewPlainClient("", m.opts.Username, m.opts.Password)); err != nil {
		return fmt.Errorf("smtp: auth as %q on %s: %w", m.opts.Username, m.addr, err)
	}
	return nil
}

// checkAuthTransport refuses credentials in clear text except to a loopback
// host, where they never leave the machine (a local relay or a test).
func checkAuthTransport(host string, encrypted bool) error {
	if encrypted || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("%w to %s (use tls mode %q or %q)", ErrInsecureAuth, host, TLSStartTLS, TLSImplicit)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
