package upstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/calimatic/calimatic-auth/adapters/internal/jwks"
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
	// One sign-in fetches a new set while the others wait for it; a set
	// that could not be fetched is not kept, so the next sign-in tries
	// again. The set is refreshed until it is evicted or c closes.
	set, err := c.sets.Get(ctx, jwksURI, func() (*jwks.Set, error) {
		return jwks.Fetch(c.life, jwksURI, c.fetchOptions())
	})
	if err != nil {
		return nil, unavailable("fetch the upstream's keys at "+jwksURI, err)
	}
	record := &fetchRecord{}
	ctx = context.WithValue(ctx, fetchRecordKey{}, record)
	parser := jwt.NewParser(jwt.WithValidMethods(allowedAlgs), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(raw, claims, set.Keyfunc(ctx)); err != nil {
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

// fetchOptions are how the upstreams' sets are fetched and kept: with
// the Client's requests, each body cut at maxBody, and with every failed
// refetch logged and, within a verification, recorded in its fetchRecord.
func (c *Client) fetchOptions() jwks.FetchOptions {
	return jwks.FetchOptions{
		Client:     c.jwksHTTP,
		Timeout:    c.timeout,
		Refresh:    jwksRefresh,
		UnknownKID: jwksUnknownKID,
		WaitMax:    jwksFetchWait,
		OnRefreshError: func(ctx context.Context, uri string, err error) {
			if record, ok := ctx.Value(fetchRecordKey{}).(*fetchRecord); ok {
				record.mu.Lock()
				record.err = err
				record.mu.Unlock()
			}
			c.log.WarnContext(ctx, "cannot fetch an upstream's JWK Set", "jwks_uri", uri, "error", err)
		},
	}
}
