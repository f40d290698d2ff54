package domain_test

import (
	"cmp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestKeyPublished(t *testing.T) {
	now := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		life domain.KeyLife
		want bool
	}{
		{"a next key is published", domain.KeyLife{State: domain.KeyNext}, true},
		{"an active key is published", domain.KeyLife{State: domain.KeyActive, ActiveAt: now.Add(-time.Hour)}, true},
		{"a retired key is published until its RetireAt", domain.KeyLife{State: domain.KeyRetired, RetireAt: now.Add(time.Nanosecond)}, true},
		{"a retired key leaves at its RetireAt", domain.KeyLife{State: domain.KeyRetired, RetireAt: now}, false},
		{"a retired key with no RetireAt is not published", domain.KeyLife{State: domain.KeyRetired}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.life.Published(now))
		})
	}
}

func TestRetiredUntil(t *testing.T) {
	stopped := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, stopped.Add(2*time.Hour), domain.RetiredUntil(stopped, 2*time.Hour))
}

// testKey is a key as a signer might keep it: a name for the tiebreak and
// its life.
type testKey struct {
	name string
	life domain.KeyLife
}

func viewTestKeys(keys []testKey, now time.Time) domain.KeyView[testKey] {
	return domain.ViewKeys(keys, func(k testKey) domain.KeyLife { return k.life }, now,
		func(a, b testKey) int { return cmp.Compare(a.name, b.name) })
}

func names(keys []testKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.name)
	}
	return out
}

func TestViewKeys(t *testing.T) {
	t0 := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	const hour = time.Hour
	es, rs := domain.AlgES256, domain.AlgRS256
	active := func(alg string, since time.Duration) domain.KeyLife {
		return domain.KeyLife{Algorithm: alg, State: domain.KeyActive, ActiveAt: t0.Add(since)}
	}
	next := func(alg string, due time.Duration) domain.KeyLife {
		l := domain.KeyLife{Algorithm: alg, State: domain.KeyNext}
		if due != 0 {
			l.ActiveAt = t0.Add(due)
		}
		return l
	}
	retired := func(alg string, until time.Duration) domain.KeyLife {
		return domain.KeyLife{Algorithm: alg, State: domain.KeyRetired, RetireAt: t0.Add(until)}
	}
	for _, tc := range []struct {
		name      string
		keys      []testKey
		published []string
		signing   map[string]string
		changesAt time.Duration // after t0; 0 for never
	}{
		{
			name:      "the JWKS lists active keys, then next, then retired, each by algorithm then tiebreak",
			keys:      []testKey{{"r", retired(es, hour)}, {"n2", next(rs, 0)}, {"n1", next(rs, 0)}, {"a-rs", active(rs, -hour)}, {"a-es", active(es, -hour)}, {"n-es", next(es, 0)}},
			published: []string{"a-es", "a-rs", "n-es", "n1", "n2", "r"},
			signing:   map[string]string{es: "a-es", rs: "a-rs"},
			changesAt: hour,
		},
		{
			name:      "a retired key whose RetireAt has come is not published",
			keys:      []testKey{{"a", active(es, -hour)}, {"gone", retired(es, 0)}, {"kept", retired(es, 2*hour)}},
			published: []string{"a", "kept"},
			signing:   map[string]string{es: "a"},
			changesAt: 2 * hour,
		},
		{
			name:      "of two active keys, the one that became active last signs",
			keys:      []testKey{{"older", active(es, -2*hour)}, {"newer", active(es, -hour)}},
			published: []string{"newer", "older"},
			signing:   map[string]string{es: "newer"},
		},
		{
			name:      "of two active keys that became active together, the first given signs",
			keys:      []testKey{{"b", active(es, -hour)}, {"a", active(es, -hour)}},
			published: []string{"a", "b"},
			signing:   map[string]string{es: "b"},
		},
		{
			name:      "the view changes when a next key is due to sign, if that comes first",
			keys:      []testKey{{"a", active(es, -hour)}, {"n", next(es, 10*time.Minute)}, {"r", retired(es, hour)}},
			published: []string{"a", "n", "r"},
			signing:   map[string]string{es: "a"},
			changesAt: 10 * time.Minute,
		},
		{
			name:      "a next key's past ActiveAt does not change the view",
			keys:      []testKey{{"a", active(es, -hour)}, {"n", next(es, -time.Minute)}},
			published: []string{"a", "n"},
			signing:   map[string]string{es: "a"},
		},
		{
			name:      "an algorithm with no active key has no signing key",
			keys:      []testKey{{"n", next(es, 0)}},
			published: []string{"n"},
			signing:   map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := viewTestKeys(tc.keys, t0)
			assert.Equal(t, tc.published, names(v.Published))
			signing := map[string]string{}
			for alg, k := range v.Signing {
				signing[alg] = k.name
			}
			assert.Equal(t, tc.signing, signing)
			if tc.changesAt == 0 {
				assert.True(t, v.ChangesAt.IsZero(), "changes at %v", v.ChangesAt)
			} else {
				assert.Equal(t, t0.Add(tc.changesAt), v.ChangesAt)
			}
		})
	}
}

func TestKeyRecordLife(t *testing.T) {
	t0 := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	rec := domain.KeyRecord{KID: "k", Algorithm: domain.AlgES256, State: domain.KeyRetired, CreatedAt: t0,
		ActiveAt: t0.Add(time.Hour), RetireAt: t0.Add(3 * time.Hour), Private: []byte{1}}
	assert.Equal(t, domain.KeyLife{Algorithm: domain.AlgES256, State: domain.KeyRetired,
		ActiveAt: t0.Add(time.Hour), RetireAt: t0.Add(3 * time.Hour)}, rec.Life())
}
