package localkeys_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/calimatic/calimatic-auth/adapters/localkeys"
	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

var (
	bothAlgorithms = []string{domain.AlgRS256, domain.AlgES256}
	start          = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
)

func newSigner(t testing.TB, store ports.KeyStore, clock ports.Clock, algs []string) *localkeys.Signer {
	t.Helper()
	s, err := localkeys.New(context.Background(), store, clock, localkeys.Options{Algorithms: algs, RetireAfter: time.Hour})
	require.NoError(t, err)
	return s
}

func TestSignerConformsToKeySigner(t *testing.T) {
	for _, algs := range [][]string{bothAlgorithms, {domain.AlgES256}} {
		t.Run(fmt.Sprint(algs), func(t *testing.T) {
			testsuite.RunKeySigner(t, algs, func(t *testing.T, clock ports.Clock, retireAfter time.Duration) ports.KeySigner {
				s, err := localkeys.New(context.Background(), memory.NewKeyStore(), clock,
					localkeys.Options{Algorithms: algs, RetireAfter: retireAfter})
				require.NoError(t, err)
				return s
			})
		})
	}
}

func TestSignersSharingAStoreConvergeAfterReload(t *testing.T) {
	ctx := context.Background()
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	a := newSigner(t, store, clock, bothAlgorithms)
	b := newSigner(t, store, clock, bothAlgorithms)
	requireSameKeys(t, a, b)

	clock.Advance(time.Minute)
	require.NoError(t, a.Rotate(ctx))
	before, err := b.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)
	after, err := a.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)
	require.NotEqual(t, before, after, "rotation did not change the active key")

	require.NoError(t, b.Reload(ctx))
	requireSameKeys(t, a, b)
}

func TestSignerRestartedOnAStoreKeepsItsKeys(t *testing.T) {
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	first := newSigner(t, store, clock, bothAlgorithms)
	requireSameKeys(t, first, newSigner(t, store, clock, bothAlgorithms))
}

func TestSignersStartingTogetherOnAnEmptyStoreAgree(t *testing.T) {
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	signers := make([]*localkeys.Signer, 4)
	var wg sync.WaitGroup
	for i := range signers {
		wg.Go(func() { signers[i] = newSigner(t, store, clock, bothAlgorithms) })
	}
	wg.Wait()

	for _, s := range signers {
		require.NoError(t, s.Reload(context.Background()))
		requireSameKeys(t, signers[0], s)
	}
	recs, err := store.ListKeys(context.Background())
	require.NoError(t, err)
	assert.Len(t, recs, 4, "one active and one next key for each of two algorithms")
}

// conflictOnce is a KeyStore whose first ReplaceKeys lets another writer in
// first, as a second instance would.
type conflictOnce struct {
	ports.KeyStore
	once  sync.Once
	first func()
}

func (s *conflictOnce) ReplaceKeys(ctx context.Context, prev, next []domain.KeyRecord) error {
	s.once.Do(s.first)
	return s.KeyStore.ReplaceKeys(ctx, prev, next)
}

func TestRotateLosingToAnotherRotationDoesNotRotateTwice(t *testing.T) {
	ctx := context.Background()
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	other := newSigner(t, store, clock, bothAlgorithms)
	racing := &conflictOnce{KeyStore: store, first: func() { require.NoError(t, other.Rotate(ctx)) }}
	s := newSigner(t, racing, clock, bothAlgorithms)

	clock.Advance(time.Minute)
	require.NoError(t, s.Rotate(ctx))

	// One rotation leaves, per algorithm, one retired, one active and one
	// next key; two would leave two retired keys and an active key that was
	// published only an instant before it signed.
	recs, err := store.ListKeys(ctx)
	require.NoError(t, err)
	assert.Len(t, recs, 6)
	requireSameKeys(t, other, s)
}

func TestRotateDropsExpiredRetiredKeysFromTheStore(t *testing.T) {
	ctx := context.Background()
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	s := newSigner(t, store, clock, []string{domain.AlgES256})
	first, err := s.ActiveKey(ctx, domain.AlgES256)
	require.NoError(t, err)

	require.NoError(t, s.Rotate(ctx))
	clock.Advance(time.Hour) // RetireAfter
	require.NoError(t, s.Rotate(ctx))

	recs, err := store.ListKeys(ctx)
	require.NoError(t, err)
	for _, r := range recs {
		assert.NotEqual(t, first.KID, r.KID, "the first key outlived its RetireAt in the store")
	}
	assert.Len(t, recs, 3, "retired, active and next")
}

func TestNewRejectsUnsafeOptions(t *testing.T) {
	for name, opts := range map[string]localkeys.Options{
		"an unknown algorithm":      {Algorithms: []string{"HS256"}, RetireAfter: time.Hour},
		"an algorithm listed twice": {Algorithms: []string{domain.AlgRS256, domain.AlgRS256}, RetireAfter: time.Hour},
		"RSA keys under 2048 bits":  {RSABits: 1024, RetireAfter: time.Hour},
		"no RetireAfter":            {Algorithms: []string{domain.AlgES256}},
		"a negative Reload":         {Algorithms: []string{domain.AlgES256}, RetireAfter: time.Hour, Reload: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := localkeys.New(context.Background(), memory.NewKeyStore(), testsuite.NewFakeClock(start), opts)
			require.Error(t, err)
		})
	}
}

func TestNewRejectsAStoredKeyWhoseKIDIsNotItsThumbprint(t *testing.T) {
	ctx := context.Background()
	store := memory.NewKeyStore()
	newSigner(t, store, testsuite.NewFakeClock(start), []string{domain.AlgES256})
	recs, err := store.ListKeys(ctx)
	require.NoError(t, err)
	forged := slices.Clone(recs)
	for i := range forged {
		forged[i].KID += "x"
	}
	require.NoError(t, store.ReplaceKeys(ctx, recs, forged))

	_, err = localkeys.New(ctx, store, testsuite.NewFakeClock(start), localkeys.Options{Algorithms: []string{domain.AlgES256}, RetireAfter: time.Hour})
	require.ErrorContains(t, err, "thumbprint")
}

func TestModuleProvidesTheSignerAndReloadsIt(t *testing.T) {
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	other := newSigner(t, store, clock, []string{domain.AlgES256})

	var signer ports.KeySigner
	app := fxtest.New(t,
		fx.Provide(
			func() ports.KeyStore { return store },
			func() ports.Clock { return clock },
		),
		localkeys.Module(localkeys.Options{Algorithms: []string{domain.AlgES256}, RetireAfter: time.Hour, Reload: 10 * time.Millisecond}),
		fx.Populate(&signer),
	)
	app.RequireStart()
	defer app.RequireStop()
	requireSameKeys(t, other, signer)

	require.NoError(t, other.Rotate(context.Background()))
	want, err := other.PublicKeys(context.Background())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := signer.PublicKeys(context.Background())
		return err == nil && got.Version == want.Version
	}, 5*time.Second, 10*time.Millisecond, "the module's reload loop did not pick up the rotation")
}

// requireSameKeys checks that a and b publish the same set and sign with the
// same active keys.
func requireSameKeys(t *testing.T, a, b ports.KeySigner) {
	t.Helper()
	ctx := context.Background()
	setA, err := a.PublicKeys(ctx)
	require.NoError(t, err)
	setB, err := b.PublicKeys(ctx)
	require.NoError(t, err)
	require.Equal(t, setA.Version, setB.Version)
	for _, alg := range bothAlgorithms {
		refA, errA := a.ActiveKey(ctx, alg)
		refB, errB := b.ActiveKey(ctx, alg)
		require.Equal(t, errA == nil, errB == nil, alg)
		require.Equal(t, refA, refB, alg)
	}
}

// benchSigningInput is an access token's signing input (RFC 9068) of a
// realistic size.
func benchSigningInput(ref domain.KeyRef) []byte {
	enc := base64.RawURLEncoding
	header := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"at+jwt"}`, ref.Algorithm, ref.KID)
	payload := `{"iss":"https://auth.calimatic.com","sub":"0b6c3a52-8f0e-4c1d-9a57-3f1f4b8e2d10",` +
		`"aud":"https://api.calimatic.com","client_id":"cca_3Jf8sK2pQx7LmN4vR9tY1wZ6",` +
		`"scope":"openid profile email offline_access","iat":1772366400,"exp":1772370000,` +
		`"jti":"f47ac10b-58cc-4372-a567-0e02b2c3d479"}`
	return []byte(enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)))
}

func benchmarkSign(b *testing.B, alg string) {
	ctx := context.Background()
	s := newSigner(b, memory.NewKeyStore(), testsuite.NewFakeClock(start), []string{alg})
	ref, err := s.ActiveKey(ctx, alg)
	require.NoError(b, err)
	input := benchSigningInput(ref)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(ctx, ref, input); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSignRS256(b *testing.B) { benchmarkSign(b, domain.AlgRS256) }

func BenchmarkSignES256(b *testing.B) { benchmarkSign(b, domain.AlgES256) }

func TestScheduledRotationRotatesOnlyOldKeysAndOncePerFleet(t *testing.T) {
	ctx := context.Background()
	store := memory.NewKeyStore()
	clock := testsuite.NewFakeClock(start)
	a := newSigner(t, store, clock, bothAlgorithms)
	b := newSigner(t, store, clock, bothAlgorithms)
	first, err := a.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)

	clock.Advance(23 * time.Hour)
	require.NoError(t, a.RotateDue(ctx, 24*time.Hour))
	still, err := a.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)
	assert.Equal(t, first, still, "a key younger than the schedule keeps signing")

	clock.Advance(time.Hour)
	require.NoError(t, a.RotateDue(ctx, 24*time.Hour))
	rotated, err := a.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)
	assert.NotEqual(t, first, rotated, "a key that signed for the whole period is rotated")

	// The other instance, on the same schedule, finds a young key and leaves it.
	require.NoError(t, b.RotateDue(ctx, 24*time.Hour))
	require.NoError(t, a.Reload(ctx))
	requireSameKeys(t, a, b)
	again, err := b.ActiveKey(ctx, domain.AlgRS256)
	require.NoError(t, err)
	assert.Equal(t, rotated, again, "the fleet rotates once per period")
}
