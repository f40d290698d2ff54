package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func setJSON(t *testing.T, keys ...jose.JSONWebKey) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	require.NoError(t, err)
	return raw
}

// sign returns an ES256 token signed by key, with kid in its header unless
// kid is "".
func sign(t *testing.T, key *ecdsa.PrivateKey, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"sub": "someone"})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// verify parses token through s's lookup.
func verify(ctx context.Context, s *Set, token string) error {
	_, err := jwt.Parse(token, s.Keyfunc(ctx), jwt.WithValidMethods([]string{"ES256"}))
	return err
}

// stub is a set whose refreshes are only a flag, for the cache's tests.
func stub() (*Set, *atomic.Bool) {
	stopped := &atomic.Bool{}
	return &Set{cancel: func() { stopped.Store(true) }}, stopped
}

// builds returns a build that answers set and err, and counts its calls.
func builds(set *Set, err error) (func() (*Set, error), *atomic.Int32) {
	n := &atomic.Int32{}
	return func() (*Set, error) {
		n.Add(1)
		return set, err
	}, n
}

// blocked returns a build that answers set once release is closed.
func blocked(set *Set) (build func() (*Set, error), release func(), calls *atomic.Int32) {
	n := &atomic.Int32{}
	ch := make(chan struct{})
	return func() (*Set, error) {
		n.Add(1)
		<-ch
		return set, nil
	}, func() { close(ch) }, n
}

func TestKeyfuncTriesOnlyKeysThatCouldHaveSignedTheToken(t *testing.T) {
	sig, plain, enc, other := ecKey(t), ecKey(t), ecKey(t), ecKey(t)
	set, err := Inline(setJSON(t,
		jose.JSONWebKey{Key: &sig.PublicKey, KeyID: "sig", Use: "sig", Algorithm: "ES256"},
		jose.JSONWebKey{Key: &plain.PublicKey, KeyID: "plain"},
		jose.JSONWebKey{Key: &enc.PublicKey, KeyID: "enc", Use: "enc"},
		jose.JSONWebKey{Key: &other.PublicKey, KeyID: "other", Algorithm: "RS256"},
	))
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		key      *ecdsa.PrivateKey
		kid      string
		verifies bool
	}{
		{"a signing key of the token's alg verifies a token naming it", sig, "sig", true},
		{"a signing key of the token's alg verifies a token without a kid", sig, "", true},
		{"a key of no use and no alg verifies a token without a kid", plain, "", true},
		{"a key of no use and no alg verifies a token naming it", plain, "plain", true},
		{"an encryption key verifies no token naming it", enc, "enc", false},
		{"an encryption key verifies no token without a kid", enc, "", false},
		{"another alg's key verifies no token naming it", other, "other", false},
		{"another alg's key verifies no token without a kid", other, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(context.Background(), set, sign(t, tc.key, tc.kid))
			if tc.verifies {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestKeyfuncWithoutKIDFailsWhenNoKeyHasTheTokensAlg(t *testing.T) {
	other := ecKey(t)
	set, err := Inline(setJSON(t, jose.JSONWebKey{Key: &other.PublicKey, KeyID: "other", Algorithm: "RS256"}))
	require.NoError(t, err)
	err = verify(context.Background(), set, sign(t, other, ""))
	assert.ErrorContains(t, err, "no signing key for the token's alg")
}

func TestInlineRefusesWhatIsNoJWKSet(t *testing.T) {
	_, err := Inline(json.RawMessage(`{"keys":`))
	assert.Error(t, err)
}

// jwksServer publishes a JWK Set that a test can change, or fail with 500.
type jwksServer struct {
	*httptest.Server
	mu  sync.Mutex
	set json.RawMessage // nil: answer 500
}

func newJWKSServer(t *testing.T, set json.RawMessage) *jwksServer {
	s := &jwksServer{set: set}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		set := s.set
		s.mu.Unlock()
		if set == nil {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(set json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set = set
}

func TestFetch(t *testing.T) {
	type marker struct{}
	sig, enc := ecKey(t), ecKey(t)
	published := []jose.JSONWebKey{
		{Key: &sig.PublicKey, KeyID: "sig", Use: "sig", Algorithm: "ES256"},
		{Key: &enc.PublicKey, KeyID: "enc", Use: "enc"},
	}
	var (
		mu     sync.Mutex
		failed []string // the URIs OnRefreshError heard of, with the marker in ctx
	)
	options := func(srv *jwksServer) FetchOptions {
		return FetchOptions{
			Client:     srv.Client(),
			Timeout:    2 * time.Second,
			Refresh:    time.Hour,
			UnknownKID: time.Millisecond,
			WaitMax:    2 * time.Second,
			OnRefreshError: func(ctx context.Context, uri string, _ error) {
				if ctx.Value(marker{}) != nil {
					mu.Lock()
					failed = append(failed, uri)
					mu.Unlock()
				}
			},
		}
	}

	t.Run("a set that cannot be fetched is an error", func(t *testing.T) {
		srv := newJWKSServer(t, nil)
		_, err := Fetch(context.Background(), srv.URL, options(srv))
		assert.Error(t, err)
	})

	t.Run("a fetched set verifies with its signing keys only", func(t *testing.T) {
		srv := newJWKSServer(t, setJSON(t, published...))
		set, err := Fetch(context.Background(), srv.URL, options(srv))
		require.NoError(t, err)
		defer set.stop()
		assert.NoError(t, verify(context.Background(), set, sign(t, sig, "sig")))
		assert.NoError(t, verify(context.Background(), set, sign(t, sig, "")))
		assert.Error(t, verify(context.Background(), set, sign(t, enc, "enc")), "an encryption key")
	})

	t.Run("an unknown kid fetches the set again, and a failure reaches OnRefreshError in the verification's context", func(t *testing.T) {
		srv := newJWKSServer(t, setJSON(t, published...))
		set, err := Fetch(context.Background(), srv.URL, options(srv))
		require.NoError(t, err)
		defer set.stop()

		rotated := ecKey(t)
		srv.publish(setJSON(t, append(published, jose.JSONWebKey{Key: &rotated.PublicKey, KeyID: "rotated", Use: "sig", Algorithm: "ES256"})...))
		assert.NoError(t, verify(context.Background(), set, sign(t, rotated, "rotated")), "a rotation is followed at once")

		srv.publish(nil)
		ctx := context.WithValue(context.Background(), marker{}, true)
		assert.Error(t, verify(ctx, set, sign(t, ecKey(t), "unknown")))
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{srv.URL}, failed)
	})

	t.Run("the set's refreshes end with its life", func(t *testing.T) {
		raw := setJSON(t, published...)
		synctest.Test(t, func(t *testing.T) {
			var hits atomic.Int32
			client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
				hits.Add(1)
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(string(raw))), Request: r}, nil
			})}
			life, end := context.WithCancel(context.Background())
			_, err := Fetch(life, "https://keys.example/jwks", FetchOptions{Client: client, Refresh: time.Minute, UnknownKID: time.Minute, WaitMax: time.Second})
			require.NoError(t, err)
			time.Sleep(3*time.Minute + time.Second)
			synctest.Wait()
			assert.EqualValues(t, 4, hits.Load(), "fetched, then refreshed every Refresh")
			end()
			time.Sleep(3 * time.Minute)
			synctest.Wait()
			assert.EqualValues(t, 4, hits.Load(), "no refresh once its life ended")
		})
	})
}

// roundTrip answers requests in memory.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCacheBuildsASetOnceForConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(10, 0)
		want, _ := stub()
		build, release, calls := blocked(want)
		got := make(chan *Set, 20)
		for range cap(got) {
			go func() {
				s, err := c.Get(context.Background(), "k", build)
				assert.NoError(t, err)
				got <- s
			}()
		}
		synctest.Wait()
		assert.EqualValues(t, 1, calls.Load(), "one caller builds while the others wait")
		assert.Empty(t, got, "no caller is answered before the build ends")

		other, _ := stub()
		s, err := c.Get(context.Background(), "other", func() (*Set, error) { return other, nil })
		require.NoError(t, err)
		assert.Same(t, other, s, "a build holds up no other key")

		release()
		for range cap(got) {
			assert.Same(t, want, <-got)
		}
	})
}

func TestCacheWaiterGivesUpWithItsContextAndTheBuildGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(10, 0)
		want, _ := stub()
		build, release, calls := blocked(want)
		go func() { _, _ = c.Get(context.Background(), "k", build) }()
		synctest.Wait()

		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error, 1)
		go func() {
			_, err := c.Get(ctx, "k", build)
			gaveUp <- err
		}()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-gaveUp, context.Canceled)

		release()
		s, err := c.Get(context.Background(), "k", build)
		require.NoError(t, err)
		assert.Same(t, want, s)
		assert.EqualValues(t, 1, calls.Load())
	})
}

func TestCacheEvictsTheLeastRecentlyUsedSet(t *testing.T) {
	c := NewCache(2, 0)
	a, aStopped := stub()
	b, bStopped := stub()
	d, dStopped := stub()
	get := func(key string, set *Set) int32 {
		t.Helper()
		build, calls := builds(set, nil)
		got, err := c.Get(context.Background(), key, build)
		require.NoError(t, err)
		require.Same(t, set, got)
		return calls.Load()
	}
	get("a", a)
	get("b", b)
	assert.Zero(t, get("a", a), "a is kept")
	get("d", d) // the bound is reached: b, used least recently, goes

	assert.True(t, bStopped.Load(), "an evicted set's refreshes stop")
	assert.False(t, aStopped.Load())
	assert.False(t, dStopped.Load())
	assert.Zero(t, get("a", a), "a recently used set stays")
	assert.EqualValues(t, 1, get("b", b), "an evicted set is built again")
}

func TestCacheEvictsNoSetBeingBuilt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(1, 0)
		a, aStopped := stub()
		build, release, calls := blocked(a)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s, err := c.Get(context.Background(), "a", build)
			assert.NoError(t, err)
			assert.Same(t, a, s)
		}()
		synctest.Wait()

		b, _ := stub()
		s, err := c.Get(context.Background(), "b", func() (*Set, error) { return b, nil })
		require.NoError(t, err)
		assert.Same(t, b, s, "a set is built past the bound when the only one to evict is being built")

		release()
		<-done
		assert.False(t, aStopped.Load())
		_, err = c.Get(context.Background(), "a", build)
		require.NoError(t, err)
		assert.EqualValues(t, 1, calls.Load(), "the set built meanwhile is kept")
	})
}

func TestCacheRemembersAFailureForRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const retryAfter = 10 * time.Second
		c := NewCache(10, retryAfter)
		down := errors.New("down")
		fail, failures := builds(nil, down)

		_, err := c.Get(context.Background(), "k", fail)
		require.ErrorIs(t, err, down)
		time.Sleep(retryAfter)
		_, err = c.Get(context.Background(), "k", fail)
		assert.ErrorIs(t, err, down, "the failure is the answer until retryAfter has passed")
		assert.EqualValues(t, 1, failures.Load(), "nothing is built meanwhile")

		time.Sleep(time.Nanosecond)
		want, _ := stub()
		succeed, successes := builds(want, nil)
		s, err := c.Get(context.Background(), "k", succeed)
		require.NoError(t, err)
		assert.Same(t, want, s)
		assert.EqualValues(t, 1, successes.Load(), "built again once retryAfter has passed")
	})
}

func TestCacheForgetsAFailureAtOnceWithoutRetryAfter(t *testing.T) {
	c := NewCache(2, 0)
	kept, _ := stub()
	keep, keptBuilds := builds(kept, nil)
	_, err := c.Get(context.Background(), "kept", keep)
	require.NoError(t, err)

	down := errors.New("down")
	fail, _ := builds(nil, down)
	_, err = c.Get(context.Background(), "k", fail)
	require.ErrorIs(t, err, down)

	want, _ := stub()
	succeed, calls := builds(want, nil)
	for range 2 {
		s, err := c.Get(context.Background(), "k", succeed)
		require.NoError(t, err)
		assert.Same(t, want, s)
	}
	assert.EqualValues(t, 1, calls.Load(), "the next caller builds again, and a success is kept")

	_, err = c.Get(context.Background(), "kept", keep)
	require.NoError(t, err)
	assert.EqualValues(t, 1, keptBuilds.Load(), "a forgotten failure takes no place in the bound")
}

func TestCacheCloseStopsEverySet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(10, 0)
		a, aStopped := stub()
		_, err := c.Get(context.Background(), "a", func() (*Set, error) { return a, nil })
		require.NoError(t, err)
		b, bStopped := stub()
		build, release, _ := blocked(b)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = c.Get(context.Background(), "b", build)
		}()
		synctest.Wait()

		c.Close()
		assert.True(t, aStopped.Load(), "a set kept")
		release()
		<-done
		assert.True(t, bStopped.Load(), "a set whose build ended after Close")
	})
}

func TestCapBodyCutsEveryBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	client := &http.Client{Transport: CapBody(nil, 10)}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Len(t, body, 10)
}
