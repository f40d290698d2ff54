package testsuite

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// SignerFactory returns a new signer over its own, empty key storage. The
// signer must:
//   - have an active key, and a published next key, for every algorithm
//     given to RunKeySigner, and no key for any other algorithm;
//   - read the time only from clock;
//   - keep a key that Rotate retires published, and able to sign, until
//     exactly retireAfter after that Rotate by clock (RetireAt = now +
//     retireAfter), and drop it from then on.
type SignerFactory func(t *testing.T, clock ports.Clock, retireAfter time.Duration) ports.KeySigner

// keySuiteStart is where the suites' fake clocks begin.
var keySuiteStart = time.Date(2026, time.January, 1, 9, 0, 0, 0, time.UTC)

// keySuiteRetireAfter is the retireAfter RunKeySigner gives its factory.
const keySuiteRetireAfter = 2 * time.Hour

// RunKeySigner runs the ports.KeySigner conformance suite for the algorithms
// in algs (domain.AlgRS256, domain.AlgES256). It sees a signer only through
// the port, so it runs unchanged against any adapter.
func RunKeySigner(t *testing.T, algs []string, newSigner SignerFactory) {
	require.NotEmpty(t, algs, "RunKeySigner needs at least one algorithm")
	fresh := func(t *testing.T) (ports.KeySigner, *FakeClock) {
		clock := NewFakeClock(keySuiteStart)
		return newSigner(t, clock, keySuiteRetireAfter), clock
	}
	ctx := context.Background()

	t.Run("EveryAlgorithmHasAnActiveKeyThatIsPublished", func(t *testing.T) {
		s, _ := fresh(t)
		set := signerKeySet(t, s)
		for _, alg := range algs {
			ref, err := s.ActiveKey(ctx, alg)
			require.NoError(t, err, alg)
			assert.Equal(t, alg, ref.Algorithm)
			pub, ok := set.Find(ref.KID)
			require.True(t, ok, "active %s key %s is not published", alg, ref.KID)
			assert.Equal(t, alg, pub.Algorithm)
		}
	})

	t.Run("FreshSignerIsReady", func(t *testing.T) {
		s, _ := fresh(t)
		require.NoError(t, s.Ready(ctx))
	})

	t.Run("AlgorithmWithoutKeysHasNoActiveKey", func(t *testing.T) {
		s, _ := fresh(t)
		// A signer never holds symmetric keys, whatever it was configured with.
		_, err := s.ActiveKey(ctx, "HS256")
		require.ErrorIs(t, err, domain.ErrNotFound)
	})

	t.Run("KIDIsTheRFC7638ThumbprintOfThePublishedKey", func(t *testing.T) {
		s, _ := fresh(t)
		set := signerKeySet(t, s)
		require.NotEmpty(t, set.Keys)
		for _, pub := range set.Keys {
			tp, err := (&jose.JSONWebKey{Key: pub.Key}).Thumbprint(crypto.SHA256)
			require.NoError(t, err)
			assert.Equal(t, base64.RawURLEncoding.EncodeToString(tp), pub.KID)
		}
	})

	t.Run("PublishedKeysFitTheirAlgorithm", func(t *testing.T) {
		s, _ := fresh(t)
		for _, pub := range signerKeySet(t, s).Keys {
			switch pub.Algorithm {
			case domain.AlgRS256:
				k, ok := pub.Key.(*rsa.PublicKey)
				require.True(t, ok, "RS256 key %s is a %T", pub.KID, pub.Key)
				// RFC 7518 §3.3: 2048 bits or larger.
				assert.GreaterOrEqual(t, k.N.BitLen(), 2048)
			case domain.AlgES256:
				k, ok := pub.Key.(*ecdsa.PublicKey)
				require.True(t, ok, "ES256 key %s is a %T", pub.KID, pub.Key)
				assert.Equal(t, elliptic.P256(), k.Curve)
			default:
				t.Errorf("key %s has algorithm %q, which the suite did not ask for", pub.KID, pub.Algorithm)
			}
			assert.Contains(t, algs, pub.Algorithm)
		}
	})

	t.Run("SignatureVerifiesWithThePublishedKey", func(t *testing.T) {
		s, _ := fresh(t)
		for _, alg := range algs {
			ref, err := s.ActiveKey(ctx, alg)
			require.NoError(t, err)
			requireSignatureVerifies(t, s, ref)
		}
	})

	t.Run("SignWithUnknownKIDIsNotFound", func(t *testing.T) {
		s, _ := fresh(t)
		_, err := s.Sign(ctx, domain.KeyRef{KID: "no-such-kid", Algorithm: algs[0]}, []byte("e30.e30"))
		require.ErrorIs(t, err, domain.ErrNotFound)
	})

	t.Run("EveryKeyIsPublishedBeforeItBecomesActive", func(t *testing.T) {
		s, clock := fresh(t)
		for round := range 3 {
			before := signerKeySet(t, s)
			active := signerActiveKIDs(t, s, algs)
			for _, alg := range algs {
				assert.NotEmpty(t, slices.DeleteFunc(keySetKIDs(before, alg), func(kid string) bool { return kid == active[alg] }),
					"round %d: no %s key is published besides the active one", round, alg)
			}
			clock.Advance(time.Minute)
			require.NoError(t, s.Rotate(ctx))
			for alg, kid := range signerActiveKIDs(t, s, algs) {
				assert.Contains(t, keySetKIDs(before, alg), kid, "round %d: the new %s key was not published before it became active", round, alg)
				assert.NotEqual(t, active[alg], kid, "round %d: Rotate left the %s key active", round, alg)
			}
		}
	})

	t.Run("RotatePromotesTheNextKeyRetiresTheActiveOneAndPublishesANewNextKey", func(t *testing.T) {
		s, clock := fresh(t)
		before := signerKeySet(t, s)
		oldActive := signerActiveKIDs(t, s, algs)
		clock.Advance(time.Minute)
		require.NoError(t, s.Rotate(ctx))
		after := signerKeySet(t, s)
		newActive := signerActiveKIDs(t, s, algs)
		for _, alg := range algs {
			next := slices.DeleteFunc(keySetKIDs(before, alg), func(kid string) bool { return kid == oldActive[alg] })
			assert.Contains(t, next, newActive[alg], "the %s next key did not become active", alg)
			assert.Contains(t, keySetKIDs(after, alg), oldActive[alg], "the retired %s key left JWKS at once", alg)

			made := slices.DeleteFunc(keySetKIDs(after, alg), func(kid string) bool { return slices.Contains(keySetKIDs(before, alg), kid) })
			require.Len(t, made, 1, "Rotate should publish exactly one new %s key", alg)
			assert.NotEqual(t, newActive[alg], made[0], "the new %s key signs before it was published", alg)
		}
	})

	t.Run("PublishedKeysCarryTheirStateAndDates", func(t *testing.T) {
		s, _ := fresh(t)
		set := signerKeySet(t, s)
		for _, alg := range algs {
			ref, err := s.ActiveKey(ctx, alg)
			require.NoError(t, err)
			byState := keySetByState(set, alg)
			require.Equal(t, []string{ref.KID}, byState[domain.KeyActive], "the %s key that signs should be the one active key", alg)
			assert.NotEmpty(t, byState[domain.KeyNext], "no %s key is next", alg)
			assert.Empty(t, byState[domain.KeyRetired], "a fresh signer has retired a %s key", alg)
		}
		for _, k := range set.Keys {
			assert.Equal(t, keySuiteStart, k.CreatedAt.UTC(), "key %s (%s) was not made at the clock's time", k.KID, k.State)
			if k.State == domain.KeyActive {
				assert.Equal(t, keySuiteStart, k.ActiveAt.UTC(), "active key %s does not say since when it signs", k.KID)
			}
			assert.True(t, k.RetiredAt.IsZero() && k.RetireAt.IsZero(), "key %s is %s but has retirement dates", k.KID, k.State)
		}
	})

	t.Run("RotateMovesEveryKeyOneStateOn", func(t *testing.T) {
		s, clock := fresh(t)
		before := signerKeySet(t, s)
		clock.Advance(time.Minute)
		rotated := clock.Now()
		require.NoError(t, s.Rotate(ctx))
		after := signerKeySet(t, s)
		for _, alg := range algs {
			was, is := keySetByState(before, alg), keySetByState(after, alg)
			require.Len(t, was[domain.KeyActive], 1)
			require.Len(t, is[domain.KeyActive], 1, "after Rotate, %s should have one active key", alg)
			require.Len(t, is[domain.KeyNext], 1, "after Rotate, %s should have one next key", alg)

			assert.Equal(t, was[domain.KeyActive], is[domain.KeyRetired], "the old active %s key is not the retired one", alg)
			assert.Contains(t, was[domain.KeyNext], is[domain.KeyActive][0], "the old next %s key is not the active one", alg)
			assert.NotContains(t, keySetKIDs(before, alg), is[domain.KeyNext][0], "the next %s key is not new", alg)

			retired, _ := after.Find(is[domain.KeyRetired][0])
			assert.Equal(t, rotated, retired.RetiredAt.UTC(), "the retired %s key does not say when it stopped signing", alg)
			assert.Equal(t, rotated.Add(keySuiteRetireAfter), retired.RetireAt.UTC(), "the retired %s key does not say when it leaves JWKS", alg)
			active, _ := after.Find(is[domain.KeyActive][0])
			assert.Equal(t, rotated, active.ActiveAt.UTC(), "the new active %s key does not say since when it signs", alg)
			next, _ := after.Find(is[domain.KeyNext][0])
			assert.Equal(t, rotated, next.CreatedAt.UTC(), "the new next %s key was not made at the rotation", alg)
		}
	})

	t.Run("RetiredKeyStillSigns", func(t *testing.T) {
		s, clock := fresh(t)
		old := signerActiveRefs(t, s, algs)
		clock.Advance(time.Minute)
		require.NoError(t, s.Rotate(ctx))
		// A token's header names its kid before Sign runs; a rotation in
		// between must not make Sign fail.
		for _, ref := range old {
			requireSignatureVerifies(t, s, ref)
		}
	})

	t.Run("KeySetVersionChangesOnRotationOnly", func(t *testing.T) {
		s, clock := fresh(t)
		v1 := signerKeySet(t, s).Version
		assert.NotEmpty(t, v1)
		assert.Equal(t, v1, signerKeySet(t, s).Version, "the version changed although the key set did not")
		clock.Advance(time.Minute)
		require.NoError(t, s.Rotate(ctx))
		v2 := signerKeySet(t, s).Version
		assert.NotEqual(t, v1, v2)
		assert.Equal(t, v2, signerKeySet(t, s).Version, "the version changed although the key set did not")
	})

	t.Run("RetiredKeyLeavesJWKSExactlyRetireAfterItsRotation", func(t *testing.T) {
		s, clock := fresh(t)
		old := signerActiveRefs(t, s, algs)
		clock.Advance(time.Minute)
		require.NoError(t, s.Rotate(ctx))

		clock.Advance(keySuiteRetireAfter - time.Second)
		set := signerKeySet(t, s)
		for _, ref := range old {
			_, ok := set.Find(ref.KID)
			assert.True(t, ok, "retired %s key %s left JWKS before RetireAfter", ref.Algorithm, ref.KID)
			requireSignatureVerifies(t, s, ref)
		}

		clock.Advance(time.Second)
		after := signerKeySet(t, s)
		assert.NotEqual(t, set.Version, after.Version, "the key set lost keys but kept its version")
		for _, ref := range old {
			_, ok := after.Find(ref.KID)
			assert.False(t, ok, "retired %s key %s is still published after RetireAfter", ref.Algorithm, ref.KID)
			_, err := s.Sign(ctx, ref, []byte("e30.e30"))
			assert.ErrorIs(t, err, domain.ErrNotFound)
		}
		for _, ref := range signerActiveRefs(t, s, algs) {
			requireSignatureVerifies(t, s, ref)
		}
	})

	t.Run("ConcurrentSignsDuringRotationAllVerify", func(t *testing.T) {
		s, clock := fresh(t)
		const workers, signsEach = 8, 12
		type signed struct {
			ref        domain.KeyRef
			input, sig []byte
		}
		results := make(chan signed, workers*signsEach*len(algs))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range signsEach {
					for _, alg := range algs {
						ref, err := s.ActiveKey(ctx, alg)
						if !assert.NoError(t, err) {
							return
						}
						input := []byte(jwsSigningInput(ref, fmt.Sprintf(`{"worker":%d,"i":%d}`, w, i)))
						sig, err := s.Sign(ctx, ref, input)
						if !assert.NoError(t, err, "Sign lost a race with Rotate") {
							return
						}
						results <- signed{ref, input, sig}
					}
				}
			})
		}
		wg.Go(func() {
			for range 2 {
				clock.Advance(time.Minute)
				assert.NoError(t, s.Rotate(ctx))
			}
		})
		wg.Wait()
		close(results)

		// The clock moved by minutes against hours of RetireAfter, so every
		// key that signed is still published.
		set := signerKeySet(t, s)
		n := 0
		for r := range results {
			pub, ok := set.Find(r.ref.KID)
			require.True(t, ok, "key %s signed but is not published", r.ref.KID)
			requireJWSVerifies(t, pub, string(r.input)+"."+base64.RawURLEncoding.EncodeToString(r.sig))
			n++
		}
		assert.Equal(t, workers*signsEach*len(algs), n)
	})
}

// jwsSigningInput is the JWS signing input (RFC 7515 §5.1 step 5) of a token
// with payload, signed by ref.
func jwsSigningInput(ref domain.KeyRef, payload string) string {
	header := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, ref.Algorithm, ref.KID)
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
}

// requireSignatureVerifies signs a compact JWS with ref and checks it against
// the published key, as a relying party would.
func requireSignatureVerifies(t *testing.T, s ports.KeySigner, ref domain.KeyRef) {
	t.Helper()
	input := jwsSigningInput(ref, `{"iss":"https://suite.example","sub":"user-1","iat":1767258000}`)
	sig, err := s.Sign(context.Background(), ref, []byte(input))
	require.NoError(t, err, "sign with %s key %s", ref.Algorithm, ref.KID)
	if ref.Algorithm == domain.AlgES256 {
		// RFC 7518 §3.4: r‖s, 32 bytes each, not ASN.1.
		require.Len(t, sig, 64)
	}
	set := signerKeySet(t, s)
	pub, ok := set.Find(ref.KID)
	require.True(t, ok, "key %s signed but is not published", ref.KID)
	requireJWSVerifies(t, pub, input+"."+base64.RawURLEncoding.EncodeToString(sig))
}

func requireJWSVerifies(t *testing.T, pub domain.PublicKey, compact string) {
	t.Helper()
	jws, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(pub.Algorithm)})
	require.NoError(t, err)
	_, err = jws.Verify(pub.Key)
	require.NoError(t, err, "%s signature by %s does not verify", pub.Algorithm, pub.KID)
}

func signerKeySet(t *testing.T, s ports.KeySigner) domain.KeySet {
	t.Helper()
	set, err := s.PublicKeys(context.Background())
	require.NoError(t, err)
	return set
}

// keySetByState returns the kids of alg's published keys by state, each
// list in kid order.
func keySetByState(set domain.KeySet, alg string) map[domain.KeyState][]string {
	out := map[domain.KeyState][]string{}
	for _, k := range set.Keys {
		if k.Algorithm == alg {
			out[k.State] = append(out[k.State], k.KID)
		}
	}
	for _, kids := range out {
		slices.Sort(kids)
	}
	return out
}

// keySetKIDs returns the kids of alg's published keys, in a new slice.
func keySetKIDs(set domain.KeySet, alg string) []string {
	var kids []string
	for _, k := range set.Keys {
		if k.Algorithm == alg {
			kids = append(kids, k.KID)
		}
	}
	return kids
}

func signerActiveRefs(t *testing.T, s ports.KeySigner, algs []string) []domain.KeyRef {
	t.Helper()
	refs := make([]domain.KeyRef, 0, len(algs))
	for _, alg := range algs {
		ref, err := s.ActiveKey(context.Background(), alg)
		require.NoError(t, err)
		refs = append(refs, ref)
	}
	return refs
}

func signerActiveKIDs(t *testing.T, s ports.KeySigner, algs []string) map[string]string {
	t.Helper()
	kids := map[string]string{}
	for _, ref := range signerActiveRefs(t, s, algs) {
		kids[ref.Algorithm] = ref.KID
	}
	return kids
}
