package upstream

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// How upstreams' JWK Sets are fetched and kept.
const (
	// jwksRefresh is how often a set is fetched again in the background,
	// so that a key the upstream withdrew stops verifying within it.
	jwksRefresh = time.Hour
	// jwksUnknownKID is how often a set may be fetched again because an ID
	// token named a kid it lacks: how a rotation is followed at once. Only
	// tokens the upstream's token endpoint handed us reach the lookup, so
	// a stranger cannot force fetches; the limit spares the upstream a
	// burst of them from sign-ins that arrive together after a rotation.
	jwksUnknownKID = time.Second
	// jwksFetchWait bounds the wait for that limiter and the fetch it
	// allows (jwkset uses one context for both).
	jwksFetchWait = 5 * time.Second
	// maxKeySets bounds the sets kept; the least recently used goes first,
	// its refreshes stopped.
	maxKeySets = 1000
)

// allowedAlgs are the ID token signatures accepted: the asymmetric ones
// of RFC 7518 §3.1. Never "none", and never HS*, whose key would be the
// client secret (OIDC Core §10.1), which the upstream's JWK Set does not
// hold and an attacker who learnt it could sign with.
var allowedAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// keySet is one upstream's published keys, kept by keyfunc and jwkset:
// fetched at creation, every jwksRefresh, and when a token names a kid
// the set lacks.
type keySet struct {
	ready  chan struct{} // closed once kf or err is set
	kf     keyfunc.Keyfunc
	cancel context.CancelFunc // stops the background refreshes
	err    error
	used   uint64
}

// fetchRecord is put in the context of one verification: jwkset reports a
// failed refetch (after an unknown kid) only to the refresh error handler,
// which records it here, so that the verification can tell "the key is
// not published" (an invalid token) from "the keys could not be fetched"
// (unavailable).
type fetchRecord struct {
	mu  sync.Mutex
	err error
}

type fetchRecordKey struct{}

// verify checks raw's signature against the keys at jwksURI and returns its
// claims, none of them checked.
func (c *Client) verify(ctx context.Context, jwksURI, raw string) (map[string]any, error) {
	set, err := c.setAt(ctx, jwksURI)
	if err != nil {
		return nil, unavailable("fetch the upstream's keys at "+jwksURI, err)
	}
	record := &fetchRecord{}
	ctx = context.WithValue(ctx, fetchRecordKey{}, record)
	parser := jwt.NewParser(jwt.WithValidMethods(allowedAlgs), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(raw, claims, set.keyfunc(ctx)); err != nil {
		record.mu.Lock()
		fetchErr := record.err
		record.mu.Unlock()
		if fetchErr != nil || ctx.Err() != nil {
			return nil, unavailable("verify the ID token", fmt.Errorf("its key could not be fetched: %w", errors.Join(fetchErr, ctx.Err())))
		}
		return nil, fmt.Errorf("verify the ID token: %w: %w", domain.ErrInvalidToken, err)
	}
	return claims, nil
}

// keyfunc is the set's lookup for golang-jwt. A token with a kid gets that
// key, refetched if unknown (keyfunc's rules, signing keys only). A token
// without one gets every key that could have signed it: use sig or unset,
// and an alg that is the token's or unset.
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
			return nil, errors.New("no published key for the token's alg")
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

// setAt returns the set at uri, fetched first when there is none. One
// caller fetches while the others wait for it; a set that could not be
// fetched is not kept, so the next sign-in tries again.
func (c *Client) setAt(ctx context.Context, uri string) (*keySet, error) {
	c.mu.Lock()
	c.tick++
	s, ok := c.sets[uri]
	if !ok {
		if len(c.sets) >= maxKeySets {
			c.evictOldest()
		}
		s = &keySet{ready: make(chan struct{})}
		c.sets[uri] = s
		life := c.life
		c.mu.Unlock()
		kf, cancel, err := c.fetch(life, uri)
		c.mu.Lock()
		if err != nil {
			s.err = err
			if c.sets[uri] == s {
				delete(c.sets, uri)
			}
		} else {
			s.kf, s.cancel = kf, cancel
		}
		close(s.ready)
	}
	s.used = c.tick
	c.mu.Unlock()
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

// evictOldest drops the least recently used set that is not being
// fetched, and stops its refreshes.
func (c *Client) evictOldest() {
	var oldest string
	for uri, s := range c.sets {
		select {
		case <-s.ready:
		default:
			continue
		}
		if oldest == "" || s.used < c.sets[oldest].used {
			oldest = uri
		}
	}
	if oldest == "" {
		return
	}
	if cancel := c.sets[oldest].cancel; cancel != nil {
		cancel()
	}
	delete(c.sets, oldest)
}

// fetch makes the set at uri: fetched now (an error if that fails), then
// refreshed every jwksRefresh, and on an unknown kid at most once per
// jwksUnknownKID, until life ends or the set is evicted.
func (c *Client) fetch(life context.Context, uri string) (keyfunc.Keyfunc, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(life)
	fail := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{uri}, keyfunc.Override{
		Client:                    c.jwksHTTP,
		HTTPTimeout:               c.timeout,
		NoErrorReturnFirstHTTPReq: &fail,
		RefreshInterval:           jwksRefresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(jwksUnknownKID), 1),
		RateLimitWaitMax:          jwksFetchWait,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				if record, ok := ctx.Value(fetchRecordKey{}).(*fetchRecord); ok {
					record.mu.Lock()
					record.err = err
					record.mu.Unlock()
				}
				c.log.WarnContext(ctx, "cannot fetch an upstream's JWK Set", "jwks_uri", u, "error", err)
			}
		},
	})
	if err == nil {
		// An upstream's key published for encryption signs nothing
		// (RFC 7517 §4.2).
		kf, err = keyfunc.New(keyfunc.Options{Storage: kf.Storage(), UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
	}
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return kf, cancel, nil
}
