package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/webhook"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func newClientKeys() *webhook.ClientKeys {
	return webhook.NewClientKeys(webhook.Options{AllowLoopback: true, Timeout: 2 * time.Second}, slog.New(slog.DiscardHandler))
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func setOf(t *testing.T, keys ...jose.JSONWebKey) string {
	raw, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	require.NoError(t, err)
	return string(raw)
}

// verify parses a token signed by key with header kid ("" for none)
// through the client's key lookup.
func verify(t *testing.T, ck *webhook.ClientKeys, c *domain.Client, key *ecdsa.PrivateKey, kid string) error {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"sub": c.ID})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	kf, err := ck.Keyfunc(context.Background(), c)
	require.NoError(t, err)
	_, err = jwt.Parse(s, kf, jwt.WithValidMethods([]string{"ES256"}))
	return err
}

// TestClientKeysOnlySigningKeysVerify: a key the client published for
// encryption, or for another algorithm, verifies nothing, with or without
// a kid in the token.
func TestClientKeysOnlySigningKeysVerify(t *testing.T) {
	ck := newClientKeys()
	sig, enc, other := ecKey(t), ecKey(t), ecKey(t)
	c := &domain.Client{ID: "cca_keys", JWKS: setOf(t,
		jose.JSONWebKey{Key: &sig.PublicKey, KeyID: "sig", Use: "sig", Algorithm: "ES256"},
		jose.JSONWebKey{Key: &enc.PublicKey, KeyID: "enc", Use: "enc"},
		jose.JSONWebKey{Key: &other.PublicKey, KeyID: "other", Algorithm: "RS256"},
	)}
	require.NoError(t, verify(t, ck, c, sig, "sig"))
	require.NoError(t, verify(t, ck, c, sig, ""), "without a kid the signing key is tried")
	for _, kid := range []string{"enc", ""} {
		assert.Error(t, verify(t, ck, c, enc, kid), "an encryption key, kid %q", kid)
		assert.Error(t, verify(t, ck, c, other, kid), "a key for another alg, kid %q", kid)
	}
}

// TestClientKeysFailedFetchIsRemembered: a jwks_uri that fails is fetched
// once for a burst of requests, not once per request, and reported
// unavailable.
func TestClientKeysFailedFetchIsRemembered(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		time.Sleep(50 * time.Millisecond)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	ck := newClientKeys()
	c := &domain.Client{ID: "cca_down", JWKSURI: srv.URL}
	var wg sync.WaitGroup
	for range 15 {
		wg.Go(func() {
			_, err := ck.Keyfunc(context.Background(), c)
			assert.ErrorIs(t, err, domain.ErrUnavailable)
		})
	}
	wg.Wait()
	for range 10 {
		_, err := ck.Keyfunc(context.Background(), c)
		assert.ErrorIs(t, err, domain.ErrUnavailable)
	}
	assert.EqualValues(t, 1, hits.Load(), "one fetch for every request within the retry interval")
}

// TestClientKeysUnusableInlineSetIsNoOutage: a stored set that cannot be
// read fails the client's authentication, not the service.
func TestClientKeysUnusableInlineSetIsNoOutage(t *testing.T) {
	_, err := newClientKeys().Keyfunc(context.Background(), &domain.Client{ID: "cca_bad", JWKS: `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","X5C":["AAAA"]}]}`})
	require.Error(t, err)
	assert.False(t, errors.Is(err, domain.ErrUnavailable))
}
