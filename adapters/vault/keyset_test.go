package vault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

var t0 = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// fakeLineage makes an ES256 key whose versions were created at the times
// given, oldest first.
func fakeLineage(t *testing.T, created ...time.Time) lineage {
	t.Helper()
	l := lineage{alg: domain.AlgES256, name: "k"}
	for i, c := range created {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		kid, err := thumbprint(&priv.PublicKey)
		require.NoError(t, err)
		l.versions = append(l.versions, &version{alg: l.alg, name: l.name, number: i + 1, kid: kid, pub: &priv.PublicKey, created: c})
	}
	return l
}

func activeNumber(v *view) int {
	if a := v.active[domain.AlgES256]; a != nil {
		return a.number
	}
	return 0
}

func publishedNumbers(v *view) []int {
	var ns []int
	for _, k := range v.set.Keys {
		ns = append(ns, v.byKID[k.KID].number)
	}
	return ns
}

func TestEvaluate(t *testing.T) {
	const hour = time.Hour
	for _, tc := range []struct {
		name      string
		created   []time.Duration // after t0
		now       time.Duration
		delay     time.Duration
		active    int
		published []int // in JWKS order: active, next, retired
		expiresAt time.Duration
	}{
		{name: "a key with one version signs with it", created: []time.Duration{0}, active: 1, published: []int{1}},
		{name: "the newest version is next and the one before signs", created: []time.Duration{0, 0}, active: 1, published: []int{1, 2}},
		{name: "a rotation retires the active version until RetireAfter", created: []time.Duration{0, 0, hour}, now: hour, active: 2, published: []int{2, 3, 1}, expiresAt: 3 * hour},
		{name: "a retired version leaves exactly RetireAfter after the rotation", created: []time.Duration{0, 0, hour}, now: 3 * hour, active: 2, published: []int{2, 3}},
		{name: "with a delay, a young next version does not sign yet", created: []time.Duration{0, 0, time.Minute}, now: time.Minute, delay: 10 * time.Minute, active: 1, published: []int{1, 3, 2}, expiresAt: 10 * time.Minute},
		{name: "with a delay, the next version signs once published long enough", created: []time.Duration{0, 0, time.Minute}, now: 10 * time.Minute, delay: 10 * time.Minute, active: 2, published: []int{2, 3, 1}, expiresAt: 10*time.Minute + 2*hour},
		{name: "with a delay, a fresh key signs with its first version", created: []time.Duration{0, 0}, delay: 10 * time.Minute, active: 1, published: []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var created []time.Time
			for _, c := range tc.created {
				created = append(created, t0.Add(c))
			}
			v := evaluate([]lineage{fakeLineage(t, created...)}, t0.Add(tc.now), tc.delay, 2*hour)
			assert.Equal(t, tc.active, activeNumber(v))
			assert.Equal(t, tc.published, publishedNumbers(v))
			if tc.expiresAt == 0 {
				assert.True(t, v.expiresAt.IsZero(), "expires at %v", v.expiresAt)
			} else {
				assert.Equal(t, t0.Add(tc.expiresAt), v.expiresAt)
			}
		})
	}
}

func TestEvaluateVersionChangesWithThePublishedKidsOnly(t *testing.T) {
	l := fakeLineage(t, t0, t0.Add(time.Minute), t0.Add(2*time.Minute))
	delay := 5 * time.Minute
	before := evaluate([]lineage{l}, t0.Add(2*time.Minute), delay, time.Hour)
	promoted := evaluate([]lineage{l}, t0.Add(6*time.Minute), delay, time.Hour)
	require.NotEqual(t, activeNumber(before), activeNumber(promoted), "the test needs a promotion")
	assert.Equal(t, before.set.Version, promoted.set.Version, fmt.Sprint("a promotion changes no JWK"))
	retired := evaluate([]lineage{l}, t0.Add(2*time.Hour), delay, time.Hour)
	assert.NotEqual(t, before.set.Version, retired.set.Version)
}
