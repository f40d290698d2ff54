package jwks

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Set is one JWK Set, kept by keyfunc: a fetched set also refreshes itself
// in the background until it is stopped (by its Cache or its life).
type Set struct {
	kf     keyfunc.Keyfunc
	cancel context.CancelFunc // stops a fetched set's refreshes; nil for an inline set
}

// stop ends s's background refreshes, if it has any.
func (s *Set) stop() {
	if s.cancel != nil {
		s.cancel()
	}
}

// Keyfunc is s's lookup for golang-jwt. A token with a kid gets that key,
// if its use and alg allow, refetched when unknown (keyfunc's own rules).
// A token without one gets every key that could have signed it: use sig or
// unset, and an alg that is the token's or unset; keyfunc's own answer
// there would be every key, encryption keys and other algorithms'
// included. ctx is the verification's: an unknown kid's refetch runs in
// it, and reaches FetchOptions.OnRefreshError if it fails.
func (s *Set) Keyfunc(ctx context.Context) jwt.Keyfunc {
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

// FetchOptions say how Fetch gets and keeps a remote set.
type FetchOptions struct {
	// Client makes the requests. It is the caller's, so that its policy
	// (an SSRF guard, a body cap, no redirects) applies to the set too.
	Client *http.Client
	// Timeout bounds each request; zero is jwkset's default.
	Timeout time.Duration
	// Refresh is how often the set is fetched again in the background, so
	// that a key its owner withdrew stops verifying within it.
	Refresh time.Duration
	// UnknownKID is how often the set may be fetched again because a token
	// named a kid it lacks: how a rotation is followed at once.
	UnknownKID time.Duration
	// WaitMax bounds both the wait for that limiter and the fetch it
	// allows (jwkset uses one context for the two): a kid unknown early in
	// the interval is refused at once, and no verification waits longer.
	WaitMax time.Duration
	// OnRefreshError hears of every fetch after the first that fails, in
	// the background or for an unknown kid; ctx is then the verification's
	// (Set.Keyfunc). nil leaves keyfunc's default, which logs to
	// slog.Default.
	OnRefreshError func(ctx context.Context, uri string, err error)
}

// Fetch makes the set at uri: fetched now (an error if that fails), then
// refreshed every o.Refresh, and on an unknown kid at most once per
// o.UnknownKID, until life ends or the set is stopped.
func Fetch(life context.Context, uri string, o FetchOptions) (*Set, error) {
	ctx, cancel := context.WithCancel(life)
	fail := false
	override := keyfunc.Override{
		Client:                    o.Client,
		HTTPTimeout:               o.Timeout,
		NoErrorReturnFirstHTTPReq: &fail,
		RefreshInterval:           o.Refresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(o.UnknownKID), 1),
		RateLimitWaitMax:          o.WaitMax,
	}
	if o.OnRefreshError != nil {
		override.RefreshErrorHandlerFunc = func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) { o.OnRefreshError(ctx, u, err) }
		}
	}
	kf, err := signingOnly(keyfunc.NewDefaultOverrideCtx(ctx, []string{uri}, override))
	if err != nil {
		cancel()
		return nil, err
	}
	return &Set{kf: kf, cancel: cancel}, nil
}

// Inline makes a set of raw, a JWK Set given as JSON rather than by URL:
// nothing to fetch, and nothing to refresh.
func Inline(raw json.RawMessage) (*Set, error) {
	kf, err := signingOnly(keyfunc.NewJWKSetJSON(raw))
	if err != nil {
		return nil, err
	}
	return &Set{kf: kf}, nil
}

// signingOnly limits kf to keys whose "use" is sig or unset: a key
// published for encryption signs nothing (RFC 7517 §4.2).
func signingOnly(kf keyfunc.Keyfunc, err error) (keyfunc.Keyfunc, error) {
	if err != nil {
		return nil, err
	}
	return keyfunc.New(keyfunc.Options{Storage: kf.Storage(), UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
}
