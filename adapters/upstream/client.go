package upstream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/adapters/internal/jwks"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

const (
	// defaultTimeout bounds each request when Options.Timeout is zero: a
	// user waits on the callback page for the exchange.
	defaultTimeout = 10 * time.Second
	// maxBody bounds what is read of a discovery document, a token
	// response or a JWK Set: an upstream cannot make us read without end.
	maxBody = 1 << 20
)

// Options configure a Client.
type Options struct {
	// RequireHTTPS refuses an issuer or endpoint that is not https, with
	// ErrInsecure. Production sets it; tests against httptest servers
	// don't.
	RequireHTTPS bool
	// Timeout bounds each request to an upstream; zero means 10 s.
	Timeout time.Duration
	// HTTPClient makes the requests; nil means a client of the Client's
	// own. Whichever it is, redirects are not followed, and its Timeout, if
	// zero, becomes Timeout.
	HTTPClient *http.Client
	// Log receives what happens in the background, a JWK Set that could
	// not be refreshed; nil means slog.Default(). Module sets the graph's.
	Log *slog.Logger
}

var _ ports.Upstream = (*Client)(nil)

// Client is the ports.Upstream of this adapter. It is safe for concurrent
// use; Close stops the refreshes of the key sets it keeps.
type Client struct {
	http     *http.Client
	jwksHTTP *http.Client // http, with each body cut at maxBody
	timeout  time.Duration
	https    bool
	log      *slog.Logger
	now      func() time.Time

	sets *jwks.Cache // by jwks_uri; a failed fetch is forgotten at once

	mu         sync.Mutex
	discovered map[string]cachedMetadata // by issuer

	// life ends the key sets' background refreshes on Close.
	life context.Context
	end  context.CancelFunc
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	if hc.Timeout == 0 {
		hc.Timeout = opts.Timeout
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	jwksHTTP := *hc
	jwksHTTP.Transport = jwks.CapBody(jwksHTTP.Transport, maxBody)

	life, end := context.WithCancel(context.Background())
	return &Client{
		http:       hc,
		jwksHTTP:   &jwksHTTP,
		timeout:    opts.Timeout,
		https:      opts.RequireHTTPS,
		log:        opts.Log,
		now:        time.Now,
		discovered: make(map[string]cachedMetadata),
		sets:       jwks.NewCache(maxKeySets, 0),
		life:       life,
		end:        end,
	}
}

// Close stops the background refreshes of every key set, as the
// application stops. The Client is not to be used after.
func (c *Client) Close() {
	c.end()
	c.sets.Close()
}

// checkURL refuses what is no absolute http(s) URL, and plain http when
// https is required. what names the URL in the error.
func (c *Client) checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("upstream: the %s %q is not an http(s) URL", what, raw)
	}
	if c.https && u.Scheme != "https" {
		return fmt.Errorf("%w: the %s is %q", ErrInsecure, what, raw)
	}
	return nil
}

// readBody reads resp's body, an error if it exceeds maxBody.
func readBody(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the answer exceeds %d bytes", maxBody)
	}
	return body, nil
}

// unavailable wraps a failure to reach an upstream, or to make sense of its
// answer, in domain.ErrUnavailable: what to do is try again later.
func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, domain.ErrUnavailable, err)
}
