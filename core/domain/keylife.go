package domain

import (
	"cmp"
	"slices"
	"time"
)

// The rules of a signing key's life, which every KeySigner follows whatever
// it keeps its keys in: which key signs, which keys the JWKS publishes, and
// when a retired key leaves it. A signer works out each key's KeyLife from
// what it stores (a KeyRecord, a version of a Vault transit key) and asks
// ViewKeys what to publish and sign with.

// KeyLife is what the key rules read of a signing key.
type KeyLife struct {
	Algorithm string
	State     KeyState
	// ActiveAt is when the key started signing. For a next key it is when
	// the key is due to start, if the signer knows; zero while that waits
	// for a rotation.
	ActiveAt time.Time
	// RetireAt is when a retired key leaves the JWKS (RetiredUntil).
	RetireAt time.Time
}

// Life returns what the key rules read of r.
func (r KeyRecord) Life() KeyLife {
	return KeyLife{Algorithm: r.Algorithm, State: r.State, ActiveAt: r.ActiveAt, RetireAt: r.RetireAt}
}

// RetiredUntil returns when a key that stopped signing at stopped leaves
// the JWKS: retireAfter later, once every token it signed has expired
// (retireAfter is the longest token lifetime plus clock skew, plus how late
// instances sharing the keys may learn of a rotation).
func RetiredUntil(stopped time.Time, retireAfter time.Duration) time.Time {
	return stopped.Add(retireAfter)
}

// Published reports whether k is in the JWKS at now. Next keys are, so that
// relying parties have cached them before they sign; active keys are; a
// retired key is until its RetireAt, exclusive.
func (k KeyLife) Published(now time.Time) bool {
	return k.State != KeyRetired || k.RetireAt.After(now)
}

// keyStateRank orders the JWKS: active keys first, for relying parties
// that naively try the first key, then next keys, then retired ones.
var keyStateRank = map[KeyState]int{KeyActive: 0, KeyNext: 1, KeyRetired: 2}

// KeyView is what a signer publishes and signs with at one instant.
type KeyView[K any] struct {
	// Published are the keys in the JWKS, in its order.
	Published []K
	// Signing is the key that signs new tokens, by algorithm.
	Signing map[string]K
	// ChangesAt is the first instant after now at which the passing of
	// time alone changes the view (a retired key leaves, or a next key's
	// ActiveAt comes); zero if none does.
	ChangesAt time.Time
}

// ViewKeys applies the key rules to keys at now, reading each key's life
// with life:
//   - the published keys (KeyLife.Published) are ordered active, next,
//     retired, then by algorithm, then by tiebreak, which the signer
//     chooses (kid, or newest version first);
//   - the active key of an algorithm signs. One active key per algorithm
//     is the rule; should there be two, the one that became active last
//     signs, or of equals the first in keys.
func ViewKeys[K any](keys []K, life func(K) KeyLife, now time.Time, tiebreak func(a, b K) int) KeyView[K] {
	v := KeyView[K]{Signing: map[string]K{}}
	signingSince := map[string]time.Time{}
	soonest := func(t time.Time) {
		if t.After(now) && (v.ChangesAt.IsZero() || t.Before(v.ChangesAt)) {
			v.ChangesAt = t
		}
	}
	for _, k := range keys {
		l := life(k)
		if !l.Published(now) {
			continue
		}
		v.Published = append(v.Published, k)
		switch l.State {
		case KeyRetired:
			soonest(l.RetireAt)
		case KeyNext:
			soonest(l.ActiveAt)
		case KeyActive:
			if since, ok := signingSince[l.Algorithm]; !ok || l.ActiveAt.After(since) {
				v.Signing[l.Algorithm], signingSince[l.Algorithm] = k, l.ActiveAt
			}
		}
	}
	slices.SortFunc(v.Published, func(a, b K) int {
		la, lb := life(a), life(b)
		return cmp.Or(cmp.Compare(keyStateRank[la.State], keyStateRank[lb.State]),
			cmp.Compare(la.Algorithm, lb.Algorithm), tiebreak(a, b))
	})
	return v
}
