package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Defaults for the zero values of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxResponse = 64 << 10
	DefaultPollEvery   = 250 * time.Millisecond
)

// Options configure the adapter.
type Options struct {
	// Timeout bounds one post, from dialling to the last byte read.
	Timeout time.Duration
	// MaxResponse is how much of a response body is read; the rest is
	// dropped with the connection.
	MaxResponse int64
	// AllowLoopback lets deliveries reach 127.0.0.1 and ::1 (development
	// and tests).
	AllowLoopback bool
	// AllowPrivate lets deliveries reach RFC 1918, fc00::/7 and CGNAT
	// addresses (receivers on the same private network).
	AllowPrivate bool
	// PollEvery is how often the worker looks for work when nothing woke
	// it, and how long it backs off after an error.
	PollEvery time.Duration
	// Disabled runs no worker on this instance; the Sender is still
	// provided, since the API's service needs one.
	Disabled bool
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = DefaultMaxResponse
	}
	if o.PollEvery <= 0 {
		o.PollEvery = DefaultPollEvery
	}
	return o
}

// Sender posts deliveries with net/http under the SSRF policy of its
// Options.
type Sender struct {
	client      *http.Client
	timeout     time.Duration
	maxResponse int64
}

// NewSender returns a Sender for opts.
func NewSender(opts Options) *Sender {
	opts = opts.withDefaults()
	return &Sender{client: newClient(opts), timeout: opts.Timeout, maxResponse: opts.MaxResponse}
}

// newClient returns an http.Client that connects only where opts' SSRF
// policy allows, never through a proxy and never following a redirect.
// Everything this adapter fetches from an address a client chose goes
// through one.
func newClient(opts Options) *http.Client {
	pol := policy{allowLoopback: opts.AllowLoopback, allowPrivate: opts.AllowPrivate}
	dialer := &net.Dialer{
		Timeout: opts.Timeout,
		// Control runs after resolution, for each address tried, just
		// before connect: the address it sees is the one the socket
		// reaches, so DNS rebinding cannot slip past.
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("refused: cannot read the address %q", address)
			}
			return pol.check(ap.Addr())
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // the environment's proxy would hide the real peer
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   opts.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		// A 3xx is the endpoint's answer, and a failed attempt: following
		// it could lead a delivery to an address the URL never named.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var _ ports.WebhookSender = (*Sender)(nil)

// Send posts body to url with headers. See ports.WebhookSender.
func (s *Sender) Send(ctx context.Context, url string, headers map[string]string, body []byte) ports.SendResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return ports.SendResult{Err: errors.New("the url cannot be posted to")}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return ports.SendResult{Err: errors.New("the url must be http or https")}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return ports.SendResult{Latency: time.Since(start), Err: s.describe(ctx, err)}
	}
	defer resp.Body.Close()
	// A body cut short (timeout, reset) does not change what the status
	// said, so a read error keeps what arrived and is not reported.
	got, _ := readCapped(resp.Body, s.maxResponse)
	return ports.SendResult{
		StatusCode: resp.StatusCode,
		Latency:    time.Since(start),
		Body:       bytes.Clone(got[:min(len(got), domain.MaxAttemptResponse)]),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// readCapped reads at most limit bytes of r. Stopping early costs the
// connection, which is the point: an endpoint cannot make us read forever.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}

// describe turns a client error into the short text kept with the attempt:
// the refusal, a timeout, a resolution failure or the transport's own words,
// without the URL the client error repeats.
func (s *Sender) describe(ctx context.Context, err error) error {
	var refused *RefusedError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &refused):
		return refused
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Errorf("cannot resolve %s: no such host", dnsErr.Name)
		}
		return fmt.Errorf("cannot resolve %s", dnsErr.Name)
	case isTimeout(err):
		return fmt.Errorf("no response within %s", s.timeout)
	}
	if urlErr, ok := errors.AsType[*neturl.Error](err); ok {
		return urlErr.Err
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &t) && t.Timeout()
}

// retryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number of
// seconds or an HTTP-date. Anything else, or a date in the past, is 0.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}
