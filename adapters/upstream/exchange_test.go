package upstream_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/upstream"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestExchange(t *testing.T) {
	ctx := context.Background()

	t.Run("returns the claims of the ID token, unchecked", func(t *testing.T) {
		u := newTestUpstream(t)
		claims, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.NoError(t, err)
		assert.Equal(t, u.URL, claims["iss"])
		assert.Equal(t, "alice", claims["sub"])
		assert.Equal(t, "n-1", claims["nonce"])
		assert.IsType(t, float64(0), claims["exp"], "numbers are as encoding/json decodes them")
	})
	t.Run("claims are not validated: an expired token for another audience is returned", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) {
			u.tokenReply = func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id_token": u.signer.sign(t, jwt.MapClaims{
					"iss": "someone-else", "aud": "other", "exp": time.Now().Add(-time.Hour).Unix(),
				})})
			}
		})
		claims, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.NoError(t, err)
		assert.Equal(t, "other", claims["aud"])
	})
	t.Run("posts the code, redirect_uri and verifier, the client in client_secret_basic, form-encoded", func(t *testing.T) {
		u := newTestUpstream(t)
		x := u.exchange()
		x.ClientID, x.ClientSecret = "rp:1", "s/e c+r=t"
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, x)
		require.NoError(t, err)

		req := u.lastRequest()
		assert.Equal(t, url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {"code-1"},
			"redirect_uri":  {"https://rp.example/callback"},
			"code_verifier": {"verifier-1"},
		}, req.Form, "no client credentials in the body")
		raw, ok := strings.CutPrefix(req.Authorization, "Basic ")
		require.True(t, ok, "client_secret_basic")
		pair, err := base64.StdEncoding.DecodeString(raw)
		require.NoError(t, err)
		// RFC 6749 §2.3.1: each part form-urlencoded, so the colon inside
		// the id does not end it.
		assert.Equal(t, "rp%3A1:s%2Fe+c%2Br%3Dt", string(pair))
	})
	t.Run("the client authenticates as the upstream supports", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			methods []string
			post    bool
		}{
			{"with client_secret_basic when the upstream names no method", nil, false},
			{"with client_secret_basic when the upstream supports both", []string{"client_secret_post", "client_secret_basic"}, false},
			{"with client_secret_post when the upstream supports only it", []string{"client_secret_post"}, true},
			{"with client_secret_post when it is the only secret method", []string{"private_key_jwt", "client_secret_post"}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := newTestUpstream(t)
				x := u.exchange()
				x.Metadata.TokenEndpointAuthMethods = tc.methods
				_, err := newClient(t, upstream.Options{}).Exchange(ctx, x)
				require.NoError(t, err)
				req := u.lastRequest()
				if tc.post {
					assert.Empty(t, req.Authorization)
					assert.Equal(t, "rp", req.Form.Get("client_id"))
					assert.Equal(t, "s3cret", req.Form.Get("client_secret"))
				} else {
					assert.True(t, strings.HasPrefix(req.Authorization, "Basic "))
					assert.False(t, req.Form.Has("client_secret"))
				}
			})
		}
	})
	t.Run("a refusal is an *OAuthError, neither unavailable nor an invalid token", func(t *testing.T) {
		for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized} {
			u := newTestUpstream(t)
			u.set(func(u *testUpstream) {
				u.tokenReply = func(w http.ResponseWriter, _ *http.Request) {
					writeJSON(w, status, map[string]any{"error": "invalid_grant", "error_description": "code expired"})
				}
			})
			_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
			var oauthErr *upstream.OAuthError
			require.ErrorAs(t, err, &oauthErr, "status %d", status)
			assert.Equal(t, upstream.OAuthError{Code: "invalid_grant", Description: "code expired"}, *oauthErr)
			assert.NotErrorIs(t, err, domain.ErrUnavailable)
			assert.NotErrorIs(t, err, domain.ErrInvalidToken)
		}
	})
	t.Run("is unavailable when the token endpoint", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			reply http.HandlerFunc
			says  string
		}{
			{"answers 500", func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "server_error"})
			}, "answered 500"},
			{"answers 400 without an error", func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte("<html>Bad Request</html>"))
			}, "answered 400"},
			{"answers 200 with garbage", func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte("<html>ok</html>"))
			}, "not JSON"},
			{"answers 200 without an id_token", func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"access_token": "at", "token_type": "Bearer"})
			}, "no id_token"},
			{"redirects", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			}, "answered 307"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := newTestUpstream(t)
				u.set(func(u *testUpstream) { u.tokenReply = tc.reply })
				_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
				require.ErrorIs(t, err, domain.ErrUnavailable)
				assert.Contains(t, err.Error(), tc.says)
			})
		}
	})
	t.Run("is unavailable when the upstream cannot be reached", func(t *testing.T) {
		u := newTestUpstream(t)
		x := u.exchange()
		u.Close()
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, x)
		require.ErrorIs(t, err, domain.ErrUnavailable)
	})
	t.Run("RequireHTTPS refuses an http endpoint before the code is sent", func(t *testing.T) {
		u := newTestUpstream(t)
		_, err := newClient(t, upstream.Options{RequireHTTPS: true}).Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, upstream.ErrInsecure)
		assert.NotErrorIs(t, err, domain.ErrUnavailable)
		_, _, tokenRequests := u.counts()
		assert.Zero(t, tokenRequests)
	})
}

func TestExchangeVerifiesTheIDToken(t *testing.T) {
	ctx := context.Background()

	// replyWith makes u answer the code with the ID token made by tok.
	replyWith := func(u *testUpstream, tok func() string) {
		u.set(func(u *testUpstream) {
			u.tokenReply = func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"id_token": tok()})
			}
		})
	}

	t.Run("accepts every asymmetric algorithm, ES256 and PS256 among them", func(t *testing.T) {
		for _, k := range []signingKey{ecKey(t, "ec-1"), rsaKey(t, "ps-1")} {
			if k.kid == "ps-1" {
				k.method = jwt.SigningMethodPS256
			}
			u := newTestUpstream(t)
			u.set(func(u *testUpstream) { u.signer, u.published = k, []signingKey{k} })
			claims, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
			require.NoError(t, err, k.method.Alg())
			assert.Equal(t, "alice", claims["sub"])
		}
	})
	t.Run("accepts a token without a kid, checked against the published keys", func(t *testing.T) {
		u := newTestUpstream(t)
		k := u.signer
		k.kid = ""
		replyWith(u, func() string { return k.sign(t, u.claims()) })
		claims, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.NoError(t, err)
		assert.Equal(t, "alice", claims["sub"])
	})
	t.Run("a token signed by another key under a published kid is an invalid token", func(t *testing.T) {
		u := newTestUpstream(t)
		forger := rsaKey(t, u.signer.kid)
		replyWith(u, func() string { return forger.sign(t, u.claims()) })
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrInvalidToken)
		assert.NotErrorIs(t, err, domain.ErrUnavailable)
	})
	t.Run("a token whose kid is not published, even after a refetch, is an invalid token", func(t *testing.T) {
		u := newTestUpstream(t)
		stranger := rsaKey(t, "unknown")
		replyWith(u, func() string { return stranger.sign(t, u.claims()) })
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrInvalidToken)
		_, jwksFetches, _ := u.counts()
		assert.Equal(t, 2, jwksFetches, "fetched at first, and again for the unknown kid")
	})
	t.Run(`alg "none" is an invalid token`, func(t *testing.T) {
		u := newTestUpstream(t)
		replyWith(u, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, u.claims())
			tok.Header["kid"] = u.signer.kid
			s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			require.NoError(t, err)
			return s
		})
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("HS256 under the client secret is an invalid token", func(t *testing.T) {
		u := newTestUpstream(t)
		replyWith(u, func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, u.claims()).SignedString([]byte("s3cret"))
			require.NoError(t, err)
			return s
		})
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("a token that is no JWT is an invalid token", func(t *testing.T) {
		u := newTestUpstream(t)
		replyWith(u, func() string { return "not.a.jwt" })
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
}

func TestExchangeFollowsTheUpstreamsKeys(t *testing.T) {
	ctx := context.Background()

	t.Run("after a rotation to a new kid the next exchange succeeds, the keys fetched once more", func(t *testing.T) {
		u := newTestUpstream(t)
		c := newClient(t, upstream.Options{})
		_, err := c.Exchange(ctx, u.exchange())
		require.NoError(t, err)
		_, err = c.Exchange(ctx, u.exchange())
		require.NoError(t, err)
		_, jwksFetches, _ := u.counts()
		require.Equal(t, 1, jwksFetches, "the keys are kept between exchanges")

		next := rsaKey(t, "key-2")
		u.set(func(u *testUpstream) { u.signer, u.published = next, []signingKey{next} })
		claims, err := c.Exchange(ctx, u.exchange())
		require.NoError(t, err)
		assert.Equal(t, "alice", claims["sub"])
		_, jwksFetches, _ = u.counts()
		assert.Equal(t, 2, jwksFetches)
	})
	t.Run("keys that cannot be fetched are unavailable, and fetched again at the next exchange", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) { u.jwksStatus = http.StatusServiceUnavailable })
		c := newClient(t, upstream.Options{})
		_, err := c.Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrUnavailable)

		u.set(func(u *testUpstream) { u.jwksStatus = 0 })
		_, err = c.Exchange(ctx, u.exchange())
		require.NoError(t, err)
	})
	t.Run("a new kid whose keys cannot be fetched is unavailable, not an invalid token", func(t *testing.T) {
		u := newTestUpstream(t)
		c := newClient(t, upstream.Options{})
		_, err := c.Exchange(ctx, u.exchange())
		require.NoError(t, err)

		next := rsaKey(t, "key-2")
		u.set(func(u *testUpstream) {
			u.signer, u.published, u.jwksStatus = next, []signingKey{next}, http.StatusBadGateway
		})
		_, err = c.Exchange(ctx, u.exchange())
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.NotErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("a caller that gives up is not kept waiting", func(t *testing.T) {
		u := newTestUpstream(t)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := newClient(t, upstream.Options{}).Exchange(ctx, u.exchange())
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled))
	})
}
