package webhook

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// How clients' JWK Sets are fetched and kept.
const (
	// jwksRefresh is how often a cached set is fetched again in the
	// background: a key the client removed stops working within it.
	jwksRefresh = time.Hour
	// jwksUnknownKID is how often a set may be fetched again because an
	// assertion named a kid it lacks: a rotation at the client is picked up
	// at once, and a stream of made-up kids costs one fetch per interval.
	jwksUnknownKID = 10 * time.Second
	// jwksFetchWait bounds how long an assertion with an unknown kid
	// waits for the set to be fetched again.
	jwksFetchWait = 5 * time.Second
	// jwksRetryAfter is how long a set that could not be fetched answers
	// "unavailable" before it is fetched again.
	jwksRetryAfter = 10 * time.Second
	// jwksMaxBody bounds a fetched set.
	jwksMaxBody = 64 << 10
	// maxJWKSets bounds the sets kept, remote and inline alike; the least
	// recently used goes first.
	maxJWKSets = 1000
)

var _ ports.ClientKeys = (*ClientKeys)(nil)

// ClientKeys is the ports.ClientKeys of this adapter. A client's jwks_uri
// is an address the client chose, as a subscription URL is, so it is
// fetched by the same SSRF-safe client as deliveries; the keys are parsed,
// cached and refreshed by github.com/MicahParks/keyfunc/v3.
type ClientKeys struct {
	client *http.Client
	log    *slog.Logger

	mu   sync.Mutex
	sets map[string]*keySet // by "uri:"+jwks_uri or "inline:"+hash of jwks
	tick uint64             // a use counter, for least-recently-used eviction
}

type keySet struct {
	ready   chan struct{} // closed once kf or err is set
	kf      keyfunc.Keyfunc
	cancel  context.CancelFunc // stops a remote set's refreshes
	err     error              // why the set could not be made
	retryAt time.Time          // when a failed set may be tried again
	used    uint64
}

// keyfunc is the set's lookup for golang-jwt. A token with a kid gets that
// key, if its use and alg allow (keyfunc's own rules). A token without one
// gets every key that could have signed it: use sig or unset, and an alg
// that is the token's or unset; keyfunc's own answer there would be every
// key, encryption keys and other algorithms' included.
func (s *keySet) keyfunc(ctx context.Context) jwt.Keyfunc {
	byKID := s.kf.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["kid"]; ok {
			return byKID(t)
		}
		all, err := s.kf.Storage().KeyReadAll(ctx)
		if err != nil {
			return nil, err
		}
		alg, _ := t.Header["alg"].(string)
		var set jwt.VerificationKeySet
		for _, jwk := range all {
			m := jwk.Marshal()
			if (m.USE == jwkset.UseSig || m.USE == "") && (m.ALG == "" || m.ALG.String() == alg) {
				set.Keys = append(set.Keys, publicOf(jwk.Key()))
			}
		}
		if len(set.Keys) == 0 {
			return nil, errors.New("no signing key for the token's alg")
		}
		return set, nil
	}
}

// publicOf returns the public half of a key jwkset parsed.
func publicOf(key any) any {
	if k, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		return k.Public()
	}
	return key
}

// NewClientKeys returns a ClientKeys that fetches under opts' SSRF policy.
func NewClientKeys(opts Options, log *slog.Logger) *ClientKeys {
	opts = opts.withDefaults()
	client := newClient(opts)
	client.Transport = capBody{client.Transport, jwksMaxBody}
	return &ClientKeys{client: client, log: log, sets: make(map[string]*keySet)}
}

// Keyfunc returns the lookup over c's keys. See ports.ClientKeys.
func (k *ClientKeys) Keyfunc(ctx context.Context, c *domain.Client) (jwt.Keyfunc, error) {
	switch {
	case c.JWKS != "":
		sum := sha256.Sum256([]byte(c.JWKS))
		set, err := k.get(ctx, "inline:"+string(sum[:]), func() (*keySet, error) {
			kf, err := signingOnly(keyfunc.NewJWKSetJSON(json.RawMessage(c.JWKS)))
			return &keySet{kf: kf, cancel: func() {}}, err
		})
		if err != nil {
			// Registration checked the set, so this is a set stored before
			// a rule existed, or a fault: the client cannot authenticate.
			k.log.WarnContext(ctx, "a client's registered JWK Set cannot be used", "client_id", c.ID, "error", err)
			return nil, fmt.Errorf("client %s jwks: %w", c.ID, err)
		}
		return set.keyfunc(ctx), nil
	case c.JWKSURI != "":
		set, err := k.get(ctx, "uri:"+c.JWKSURI, func() (*keySet, error) { return k.fetch(c.JWKSURI) })
		if err != nil {
			return nil, fmt.Errorf("fetch the jwks_uri of client %s: %w: %w", c.ID, domain.ErrUnavailable, err)
		}
		return set.keyfunc(ctx), nil
	}
	return nil, domain.ErrNotFound
}

// get returns the set cached under key, made by build when there is none.
// One caller makes it while the others wait for that result, and a set
// that could not be made is remembered as such for jwksRetryAfter: anyone
// can send an assertion naming a client before authenticating, so without
// both a broken jwks_uri would be fetched once per request.
func (k *ClientKeys) get(ctx context.Context, key string, build func() (*keySet, error)) (*keySet, error) {
	k.mu.Lock()
	k.tick++
	e, ok := k.sets[key]
	if ok && e.err != nil && time.Now().After(e.retryAt) {
		ok = false // a failure is retried once its time is up
	}
	if !ok {
		if len(k.sets) >= maxJWKSets {
			k.evictOldest()
		}
		e = &keySet{ready: make(chan struct{})}
		k.sets[key] = e
		k.mu.Unlock()
		made, err := build()
		k.mu.Lock()
		if err != nil {
			e.err, e.retryAt = err, time.Now().Add(jwksRetryAfter)
		} else {
			e.kf, e.cancel = made.kf, made.cancel
		}
		close(e.ready)
	}
	e.used = k.tick
	k.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	return e, nil
}

// evictOldest drops the least recently used set that is not being made.
func (k *ClientKeys) evictOldest() {
	var oldest string
	for key, s := range k.sets {
		select {
		case <-s.ready:
		default:
			continue
		}
		if oldest == "" || s.used < k.sets[oldest].used {
			oldest = key
		}
	}
	if oldest == "" {
		return
	}
	if c := k.sets[oldest].cancel; c != nil {
		c()
	}
	delete(k.sets, oldest)
}

// fetch makes a remote set: fetched now (an error if that fails), then
// refreshed every jwksRefresh and on an unknown kid.
func (k *ClientKeys) fetch(uri string) (*keySet, error) {
	ctx, cancel := context.WithCancel(context.Background())
	fail := false
	kf, err := signingOnly(keyfunc.NewDefaultOverrideCtx(ctx, []string{uri}, keyfunc.Override{
		Client:                    k.client,
		HTTPTimeout:               k.client.Timeout,
		NoErrorReturnFirstHTTPReq: &fail,
		RefreshInterval:           jwksRefresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(jwksUnknownKID), 1),
		// Bounds both the wait for the limiter and the fetch it allows
		// (jwkset uses one context for the two): an unknown kid early in
		// the interval is refused at once, and no request waits longer.
		RateLimitWaitMax: jwksFetchWait,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				k.log.WarnContext(ctx, "cannot refresh a client's JWK Set", "jwks_uri", u, "error", err)
			}
		},
	}))
	if err != nil {
		cancel()
		return nil, err
	}
	return &keySet{kf: kf, cancel: cancel}, nil
}

// capBody cuts every response body at max bytes, so a JWK Set endpoint
// cannot make us read without end.
type capBody struct {
	next http.RoundTripper
	max  int64
}

func (c capBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, c.max), resp.Body}
	return resp, nil
}

// signingOnly limits kf to keys whose "use" is sig or unset: a key the
// client published for encryption signs nothing (RFC 7517 §4.2).
func signingOnly(kf keyfunc.Keyfunc, err error) (keyfunc.Keyfunc, error) {
	if err != nil {
		return nil, err
	}
	return keyfunc.New(keyfunc.Options{Storage: kf.Storage(), UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
}
