package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/calimatic/calimatic-auth/adapters/internal/jwks"
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

	// sets holds the sets by "uri:"+jwks_uri or "inline:"+hash of jwks. A
	// set that could not be made is remembered as such for jwksRetryAfter:
	// anyone can send an assertion naming a client before authenticating,
	// so otherwise a broken jwks_uri would be fetched once per request.
	sets *jwks.Cache
}

// NewClientKeys returns a ClientKeys that fetches under opts' SSRF policy.
func NewClientKeys(opts Options, log *slog.Logger) *ClientKeys {
	opts = opts.withDefaults()
	client := newClient(opts)
	client.Transport = jwks.CapBody(client.Transport, jwksMaxBody)
	return &ClientKeys{client: client, log: log, sets: jwks.NewCache(maxJWKSets, jwksRetryAfter)}
}

// Close stops the background refreshes of every remote set, as the app
// stops.
func (k *ClientKeys) Close() { k.sets.Close() }

// Keyfunc returns the lookup over c's keys. See ports.ClientKeys.
func (k *ClientKeys) Keyfunc(ctx context.Context, c *domain.Client) (jwt.Keyfunc, error) {
	switch {
	case c.JWKS != "":
		sum := sha256.Sum256([]byte(c.JWKS))
		set, err := k.sets.Get(ctx, "inline:"+string(sum[:]), func() (*jwks.Set, error) {
			return jwks.Inline(json.RawMessage(c.JWKS))
		})
		if err != nil {
			// Registration checked the set, so this is a set stored before
			// a rule existed, or a fault: the client cannot authenticate.
			k.log.WarnContext(ctx, "a client's registered JWK Set cannot be used", "client_id", c.ID, "error", err)
			return nil, fmt.Errorf("client %s jwks: %w", c.ID, err)
		}
		return set.Keyfunc(ctx), nil
	case c.JWKSURI != "":
		set, err := k.sets.Get(ctx, "uri:"+c.JWKSURI, func() (*jwks.Set, error) {
			return jwks.Fetch(context.Background(), c.JWKSURI, k.fetchOptions())
		})
		if err != nil {
			return nil, fmt.Errorf("fetch the jwks_uri of client %s: %w: %w", c.ID, domain.ErrUnavailable, err)
		}
		return set.Keyfunc(ctx), nil
	}
	return nil, domain.ErrNotFound
}

// fetchOptions are how a remote set is fetched and kept: refreshed every
// jwksRefresh and on an unknown kid, through the SSRF-safe client.
func (k *ClientKeys) fetchOptions() jwks.FetchOptions {
	return jwks.FetchOptions{
		Client:     k.client,
		Timeout:    k.client.Timeout,
		Refresh:    jwksRefresh,
		UnknownKID: jwksUnknownKID,
		WaitMax:    jwksFetchWait,
		OnRefreshError: func(ctx context.Context, uri string, err error) {
			k.log.WarnContext(ctx, "cannot refresh a client's JWK Set", "jwks_uri", uri, "error", err)
		},
	}
}
