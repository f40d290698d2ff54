package vault_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/calimatic/calimatic-auth/adapters/vault"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// benchSigningInput is an access token's signing input (RFC 9068) of a
// realistic size, as in localkeys' benchmark.
func benchSigningInput(ref domain.KeyRef) []byte {
	enc := base64.RawURLEncoding
	header := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"at+jwt"}`, ref.Algorithm, ref.KID)
	payload := `{"iss":"https://auth.calimatic.com","sub":"0b6c3a52-8f0e-4c1d-9a57-3f1f4b8e2d10",` +
		`"aud":"https://api.calimatic.com","client_id":"cca_3Jf8sK2pQx7LmN4vR9tY1wZ6",` +
		`"scope":"openid profile email offline_access","iat":1772366400,"exp":1772370000,` +
		`"jti":"f47ac10b-58cc-4372-a567-0e02b2c3d479"}`
	return []byte(enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)))
}

// benchmarkSign signs from 16 goroutines per CPU, as a busy token endpoint
// would, and reports signatures per second.
func benchmarkSign(b *testing.B, alg string, batchMax int) {
	ctx := context.Background()
	s := newSigner(b, vault.Options{Algorithms: []string{alg}, BatchMax: batchMax})
	ref, err := s.ActiveKey(ctx, alg)
	if err != nil {
		b.Fatal(err)
	}
	input := benchSigningInput(ref)
	b.SetParallelism(16)
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

func BenchmarkSignBatched(b *testing.B) {
	for _, alg := range []string{domain.AlgES256, domain.AlgRS256} {
		b.Run(alg, func(b *testing.B) { benchmarkSign(b, alg, vault.DefaultBatchMax) })
	}
}

func BenchmarkSignUnbatched(b *testing.B) {
	for _, alg := range []string{domain.AlgES256, domain.AlgRS256} {
		b.Run(alg, func(b *testing.B) { benchmarkSign(b, alg, 1) })
	}
}
