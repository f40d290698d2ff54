package vault_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/calimatic/calimatic-auth/adapters/vault"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestSignerConformsToKeySigner(t *testing.T) {
	for _, algs := range [][]string{bothAlgorithms, {domain.AlgES256}} {
		t.Run(fmt.Sprint(algs), func(t *testing.T) {
			testsuite.RunKeySigner(t, algs, func(t *testing.T, clock ports.Clock, retireAfter time.Duration) ports.KeySigner {
				return newSigner(t, vault.Options{Algorithms: algs, Clock: clock, RetireAfter: retireAfter})
			})
		})
	}
}

// jwsInput is a compact JWS signing input (RFC 7515 §5.1) by ref.
func jwsInput(ref domain.KeyRef, payload string) []byte {
	enc := base64.RawURLEncoding
	header := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, ref.Algorithm, ref.KID)
	return []byte(enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)))
}

// requireStdlibVerifies checks sig over input with the published key, using
// the standard library only: PKCS #1 v1.5 for RS256 (RFC 7518 §3.3), and
// ECDSA over r‖s for ES256 (RFC 7518 §3.4).
func requireStdlibVerifies(t *testing.T, s ports.KeySigner, ref domain.KeyRef, input, sig []byte) {
	t.Helper()
	set, err := s.PublicKeys(context.Background())
	require.NoError(t, err)
	pub, ok := set.Find(ref.KID)
	require.True(t, ok, "key %s is not published", ref.KID)
	digest := sha256.Sum256(input)
	switch ref.Algorithm {
	case domain.AlgRS256:
		require.NoError(t, rsa.VerifyPKCS1v15(pub.Key.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))
	case domain.AlgES256:
		require.Len(t, sig, 64)
		r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		require.True(t, ecdsa.Verify(pub.Key.(*ecdsa.PublicKey), digest[:], r, ss), "ES256 signature does not verify")
	}
}

func TestSignaturesVerifyWithThePublishedKeyUsingTheStandardLibrary(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, vault.Options{Algorithms: bothAlgorithms})
	for _, alg := range bothAlgorithms {
		t.Run(alg, func(t *testing.T) {
			ref, err := s.ActiveKey(ctx, alg)
			require.NoError(t, err)
			input := jwsInput(ref, `{"sub":"user-1"}`)
			sig, err := s.Sign(ctx, ref, input)
			require.NoError(t, err)
			requireStdlibVerifies(t, s, ref, input, sig)

			tampered := append([]byte{}, input...)
			tampered[len(tampered)-1] ^= 1
			digest := sha256.Sum256(tampered)
			set, _ := s.PublicKeys(ctx)
			pub, _ := set.Find(ref.KID)
			if alg == domain.AlgRS256 {
				assert.Error(t, rsa.VerifyPKCS1v15(pub.Key.(*rsa.PublicKey), crypto.SHA256, digest[:], sig), "the signature covers the input")
			} else {
				assert.False(t, ecdsa.Verify(pub.Key.(*ecdsa.PublicKey), digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])))
			}
		})
	}
}

func TestANewVersionIsPublishedForPublishDelayBeforeItSigns(t *testing.T) {
	ctx := context.Background()
	const delay = 10 * time.Minute
	clock := testsuite.NewFakeClock(time.Now())
	s := newSigner(t, vault.Options{Algorithms: []string{domain.AlgES256}, Clock: clock, PublishDelay: delay})
	first, err := s.ActiveKey(ctx, domain.AlgES256)
	require.NoError(t, err)
	before, err := s.PublicKeys(ctx)
	require.NoError(t, err)
	require.Len(t, before.Keys, 2, "a fresh key publishes its next version")

	clock.Advance(time.Minute)
	require.NoError(t, s.Rotate(ctx))
	after, err := s.PublicKeys(ctx)
	require.NoError(t, err)
	require.Len(t, after.Keys, 3, "Rotate publishes a new version at once")
	still, err := s.ActiveKey(ctx, domain.AlgES256)
	require.NoError(t, err)
	assert.Equal(t, first, still, "the next version signs before it has been published for PublishDelay")
	input := jwsInput(still, `{}`)
	sig, err := s.Sign(ctx, still, input)
	require.NoError(t, err)
	requireStdlibVerifies(t, s, still, input, sig)

	clock.Advance(delay - time.Minute - time.Second)
	again, err := s.ActiveKey(ctx, domain.AlgES256)
	require.NoError(t, err)
	assert.Equal(t, first, again, "one second before PublishDelay")

	clock.Advance(time.Second)
	promoted, err := s.ActiveKey(ctx, domain.AlgES256)
	require.NoError(t, err)
	assert.NotEqual(t, first, promoted, "the next version signs once published for PublishDelay")
	_, ok := before.Find(promoted.KID)
	assert.True(t, ok, "the version that signs now was published before the rotation")
	input = jwsInput(promoted, `{}`)
	sig, err = s.Sign(ctx, promoted, input)
	require.NoError(t, err)
	requireStdlibVerifies(t, s, promoted, input, sig)
	_, ok = after.Find(first.KID)
	assert.True(t, ok, "the version that stopped signing is still published")
}

func TestSignersSharingVaultSeeEachOthersRotationsOnRefresh(t *testing.T) {
	ctx := context.Background()
	keys := testKeys()
	a := newSigner(t, vault.Options{Algorithms: bothAlgorithms, Keys: keys})
	b := newSigner(t, vault.Options{Algorithms: bothAlgorithms, Keys: keys, Refresh: 50 * time.Millisecond})
	setA, err := a.PublicKeys(ctx)
	require.NoError(t, err)
	setB, err := b.PublicKeys(ctx)
	require.NoError(t, err)
	require.Equal(t, setA.Version, setB.Version, "two instances publish the same JWKS")

	require.NoError(t, a.Rotate(ctx))
	want, err := a.PublicKeys(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := b.PublicKeys(ctx)
		return err == nil && got.Version == want.Version
	}, 10*time.Second, 20*time.Millisecond, "the periodic refresh did not pick up the other instance's rotation")
	for _, alg := range bothAlgorithms {
		refA, err := a.ActiveKey(ctx, alg)
		require.NoError(t, err)
		refB, err := b.ActiveKey(ctx, alg)
		require.NoError(t, err)
		assert.Equal(t, refA, refB)
	}
}

func TestNewRejectsOptions(t *testing.T) {
	for name, opts := range map[string]vault.Options{
		"an unknown algorithm":      {Algorithms: []string{"HS256"}, Token: "t", RetireAfter: time.Hour},
		"an algorithm listed twice": {Algorithms: []string{domain.AlgES256, domain.AlgES256}, Token: "t", RetireAfter: time.Hour},
		"two algorithms on one key": {Algorithms: bothAlgorithms, Keys: map[string]string{domain.AlgRS256: "k", domain.AlgES256: "k"}, Token: "t", RetireAfter: time.Hour},
		"no credentials":            {RetireAfter: time.Hour},
		"no RetireAfter":            {Token: "t"},
		"a negative PublishDelay":   {Token: "t", RetireAfter: time.Hour, PublishDelay: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := vault.New(context.Background(), opts)
			require.Error(t, err)
		})
	}
}

func TestNewRejectsATransitKeyOfTheWrongType(t *testing.T) {
	addr, token := vaultEnv(t)
	keys := testKeys()
	_, err := rootClient(addr, token).Logical().Write("transit/keys/"+keys[domain.AlgRS256], map[string]any{"type": "ecdsa-p256"})
	require.NoError(t, err)
	_, err = vault.New(context.Background(), vault.Options{Address: addr, Token: token, Keys: keys, RetireAfter: time.Hour})
	require.ErrorContains(t, err, "rsa-2048")
}

func TestNewMakesKeysThatCannotBeExported(t *testing.T) {
	addr, token := vaultEnv(t)
	keys := testKeys()
	newSigner(t, vault.Options{Algorithms: bothAlgorithms, Keys: keys})
	for alg, name := range keys {
		sec, err := rootClient(addr, token).Logical().Read("transit/keys/" + name)
		require.NoError(t, err)
		require.NotNil(t, sec, alg)
		assert.Equal(t, false, sec.Data["exportable"], alg)
	}
}

func TestConcurrentSignsShareTransitCalls(t *testing.T) {
	addr, _ := vaultEnv(t)
	const n = 48
	for _, tc := range []struct {
		name     string
		batchMax int
		calls    func(t *testing.T, calls int64)
	}{
		{"batched signs make fewer calls than signatures", 64, func(t *testing.T, calls int64) {
			assert.Less(t, calls, int64(n/4), "%d calls for %d signatures", calls, n)
		}},
		{"unbatched signs make one call each", 1, func(t *testing.T, calls int64) {
			assert.Equal(t, int64(n), calls)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := newProxy(t, addr)
			s := newSigner(t, vault.Options{Address: p.url(), Algorithms: bothAlgorithms, BatchMax: tc.batchMax, BatchWindow: 50 * time.Millisecond})
			refs := map[string]domain.KeyRef{}
			for _, alg := range bothAlgorithms {
				ref, err := s.ActiveKey(ctx, alg)
				require.NoError(t, err)
				refs[alg] = ref
			}
			p.signCalls.Store(0)
			var wg sync.WaitGroup
			for i := range n {
				ref := refs[bothAlgorithms[i%2]]
				wg.Go(func() {
					input := jwsInput(ref, fmt.Sprintf(`{"i":%d}`, i))
					sig, err := s.Sign(ctx, ref, input)
					if assert.NoError(t, err) {
						requireStdlibVerifies(t, s, ref, input, sig)
					}
				})
			}
			wg.Wait()
			tc.calls(t, p.signCalls.Load())
		})
	}
}

func TestModuleProvidesTheSignerAndStopsIt(t *testing.T) {
	addr, token := vaultEnv(t)
	var signer ports.KeySigner
	app := fxtest.New(t,
		fx.Provide(func() ports.Clock { return testsuite.NewFakeClock(time.Now()) }),
		vault.Module(vault.Options{Address: addr, Token: token, Keys: testKeys(), RetireAfter: time.Hour, Refresh: 10 * time.Millisecond}),
		fx.Populate(&signer),
	)
	app.RequireStart()
	ctx := context.Background()
	require.NoError(t, signer.Ready(ctx))
	ref, err := signer.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)
	input := jwsInput(ref, `{}`)
	sig, err := signer.Sign(ctx, ref, input)
	require.NoError(t, err)
	requireStdlibVerifies(t, signer, ref, input, sig)
	app.RequireStop()
}
