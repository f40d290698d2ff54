package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func loopbackSender(opts Options) *Sender {
	opts.AllowLoopback = true
	return NewSender(opts)
}

func TestSenderPostsHeadersAndBodyExactly(t *testing.T) {
	type seen struct {
		method string
		header http.Header
		body   []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Clone(), b}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "thanks")
	}))
	defer srv.Close()

	body := []byte(`{"event":"user.created","timestamp":"2025-01-15T10:30:00.000Z","data":{"name":"Zoë \u2028"}}`)
	headers := map[string]string{
		"Content-Type":        "application/json",
		"User-Agent":          "Calimatic-Webhooks/1.0",
		"X-Webhook-Signature": "sha256=abc",
		"webhook-id":          "dlv_1",
	}
	res := loopbackSender(Options{}).Send(context.Background(), srv.URL+"/hook?token=x", headers, body)

	require.NoError(t, res.Err)
	assert.Equal(t, http.StatusAccepted, res.StatusCode)
	assert.Equal(t, "thanks", string(res.Body))
	assert.Positive(t, res.Latency)
	s := <-got
	assert.Equal(t, http.MethodPost, s.method)
	assert.Equal(t, body, s.body, "the body arrives byte for byte, as signed")
	for k, v := range headers {
		assert.Equal(t, v, s.header.Get(k), k)
	}
}

func TestSenderDoesNotFollowRedirects(t *testing.T) {
	var inner atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { inner.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	res := loopbackSender(Options{}).Send(context.Background(), srv.URL, nil, []byte("{}"))

	require.NoError(t, res.Err)
	assert.Equal(t, http.StatusTemporaryRedirect, res.StatusCode, "the 3xx is the answer")
	assert.Zero(t, inner.Load(), "the redirect target was never posted to")
}

func TestSenderKeepsOnlyTheStartOfALargeResponse(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, big)
	}))
	defer srv.Close()

	res := loopbackSender(Options{}).Send(context.Background(), srv.URL, nil, nil)

	require.NoError(t, res.Err)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, big[:domain.MaxAttemptResponse], string(res.Body))
}

// countingReader is an endless body that counts what was read from it.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	r.n += int64(len(p))
	return len(p), nil
}

func TestReadCappedStopsAtTheLimit(t *testing.T) {
	r := &countingReader{}
	got, err := readCapped(r, DefaultMaxResponse)
	require.NoError(t, err)
	assert.Len(t, got, DefaultMaxResponse)
	assert.LessOrEqual(t, r.n, int64(DefaultMaxResponse), "never read past 64 KiB of an endless body")
}

func TestSenderReadsRetryAfter(t *testing.T) {
	at := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name, header string
		min, max     time.Duration
	}{
		{"seconds are read as seconds", "7", 7 * time.Second, 7 * time.Second},
		{"an HTTP-date is read as the time until it", at, 80 * time.Second, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tc.header)
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			defer srv.Close()

			res := loopbackSender(Options{}).Send(context.Background(), srv.URL, nil, nil)

			require.NoError(t, res.Err)
			assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
			assert.GreaterOrEqual(t, res.RetryAfter, tc.min)
			assert.LessOrEqual(t, res.RetryAfter, tc.max)
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"an absent header is none", "", 0},
		{"a number is seconds", "120", 2 * time.Minute},
		{"a zero is none", "0", 0},
		{"a negative number is none", "-5", 0},
		{"an IMF-fixdate is the time until it", "Wed, 15 Jan 2025 10:31:30 GMT", 90 * time.Second},
		{"an RFC 850 date is read too", "Wednesday, 15-Jan-25 10:31:00 GMT", time.Minute},
		{"a past date is none", "Wed, 15 Jan 2025 10:00:00 GMT", 0},
		{"garbage is none", "soon", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, retryAfter(tc.header, now))
		})
	}
}

func TestSenderGivesUpAfterItsTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release) // runs before srv.Close, which waits for the handler

	start := time.Now()
	res := loopbackSender(Options{Timeout: 100 * time.Millisecond}).Send(context.Background(), srv.URL, nil, nil)

	require.Error(t, res.Err)
	assert.Zero(t, res.StatusCode)
	assert.Equal(t, "no response within 100ms", res.Err.Error())
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestSenderRefusesLoopbackUnlessAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()

	res := NewSender(Options{}).Send(context.Background(), srv.URL, nil, nil)

	var refused *RefusedError
	require.True(t, errors.As(res.Err, &refused), "got %v", res.Err)
	assert.Equal(t, "refused: the endpoint's address is not public", res.Err.Error(), "the owner learns nothing of the address")
	assert.Equal(t, "refused: 127.0.0.1 is a loopback address", refused.Detail())
	assert.Zero(t, res.StatusCode)
	assert.Zero(t, hits.Load(), "nothing reached the server")
}

func TestSenderRefusesByTheResolvedAddressNotTheName(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	res := NewSender(Options{}).Send(context.Background(), url, nil, nil)

	var refused *RefusedError
	require.ErrorAs(t, res.Err, &refused)
	assert.Contains(t, refused.Detail(), "is a loopback address", "refused by the address localhost resolved to")
	assert.NotContains(t, res.Err.Error(), "localhost", "the error does not name the URL")
}

func TestSenderRefusesOtherSchemes(t *testing.T) {
	res := NewSender(Options{}).Send(context.Background(), "file:///etc/passwd", nil, nil)
	require.Error(t, res.Err)
	assert.Zero(t, res.StatusCode)
}

func TestSenderReportsTheCallerStopping(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	res := loopbackSender(Options{}).Send(ctx, srv.URL, nil, nil)

	assert.ErrorIs(t, res.Err, context.DeadlineExceeded)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want Class
	}{
		{"93.184.216.34", Public},
		{"2606:4700::1111", Public},
		{"127.0.0.1", Loopback},
		{"127.8.9.10", Loopback},
		{"::1", Loopback},
		{"::ffff:127.0.0.1", Loopback},
		{"10.0.0.5", Private},
		{"172.16.0.1", Private},
		{"172.31.255.255", Private},
		{"192.168.1.1", Private},
		{"::ffff:192.168.1.1", Private},
		{"fc00::1", Private},
		{"fd12:3456::1", Private},
		{"100.64.0.1", Shared},
		{"100.127.255.255", Shared},
		{"169.254.169.254", LinkLocal},
		{"::ffff:169.254.169.254", LinkLocal},
		{"fe80::1", LinkLocal},
		{"fe80::1%eth0", LinkLocal},
		{"0.0.0.0", Unspecified},
		{"::", Unspecified},
		{"224.0.0.1", Multicast},
		{"ff02::1", Multicast},
		{"ff05::1", Multicast},
		{"0.1.2.3", Reserved},
		{"255.255.255.255", Reserved},
		{"240.0.0.1", Reserved},
		{"198.18.0.1", Reserved},
		{"64:ff9b::a00:5", Private},    // NAT64 of 10.0.0.5
		{"64:ff9b::7f00:1", Loopback},  // NAT64 of 127.0.0.1
		{"64:ff9b::5db8:d822", Public}, // NAT64 of 93.184.216.34
		{"172.32.0.1", Public},         // just past 172.16/12
		{"100.128.0.1", Public},        // just past 100.64/10
		{"169.255.0.1", Public},        // just past 169.254/16
		{"2001:db8::1", Reserved},
	} {
		t.Run(tc.addr+" is "+string(tc.want), func(t *testing.T) {
			assert.Equal(t, tc.want, Classify(netip.MustParseAddr(tc.addr)))
		})
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pol     policy
		addr    string
		refused string // "" when allowed
	}{
		{"a public address is allowed", policy{}, "93.184.216.34", ""},
		{"loopback is refused by default", policy{}, "127.0.0.1", "refused: 127.0.0.1 is a loopback address"},
		{"a mapped loopback is refused as loopback", policy{}, "::ffff:127.0.0.1", "refused: 127.0.0.1 is a loopback address"},
		{"a private address is refused by default", policy{}, "10.0.0.5", "refused: 10.0.0.5 is a private address"},
		{"the metadata address is refused", policy{}, "169.254.169.254", "refused: 169.254.169.254 is a link-local address"},
		{"CGNAT is refused by default", policy{}, "100.64.1.1", "refused: 100.64.1.1 is a shared (CGNAT) address"},
		{"unspecified is refused", policy{}, "0.0.0.0", "refused: 0.0.0.0 is an unspecified address"},
		{"AllowLoopback allows loopback", policy{allowLoopback: true}, "::1", ""},
		{"AllowLoopback does not allow private", policy{allowLoopback: true}, "192.168.0.2", "refused: 192.168.0.2 is a private address"},
		{"AllowPrivate allows private", policy{allowPrivate: true}, "10.0.0.5", ""},
		{"AllowPrivate allows CGNAT", policy{allowPrivate: true}, "100.64.1.1", ""},
		{"AllowPrivate allows unique local IPv6", policy{allowPrivate: true}, "fd00::1", ""},
		{"AllowPrivate does not allow loopback", policy{allowPrivate: true}, "127.0.0.1", "refused: 127.0.0.1 is a loopback address"},
		{"nothing allows the metadata address", policy{allowLoopback: true, allowPrivate: true}, "169.254.169.254", "refused: 169.254.169.254 is a link-local address"},
		{"nothing allows multicast", policy{allowLoopback: true, allowPrivate: true}, "239.1.1.1", "refused: 239.1.1.1 is a multicast address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.pol.check(netip.MustParseAddr(tc.addr))
			if tc.refused == "" {
				assert.NoError(t, err)
				return
			}
			var refused *RefusedError
			require.ErrorAs(t, err, &refused)
			assert.Equal(t, tc.refused, refused.Detail())
		})
	}
}

func TestIPv6FormsThatEmbedIPv4AreNotPublic(t *testing.T) {
	for _, addr := range []string{"::7f00:1", "::ffff:0:7f00:1", "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fec0::1"} {
		assert.NotEqual(t, Public, Classify(netip.MustParseAddr(addr)), addr)
	}
	assert.Equal(t, Public, Classify(netip.MustParseAddr("2606:4700:4700::1111")), "a real global address stays public")
}
