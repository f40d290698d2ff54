package vault

import (
	"cmp"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// version is one version of a transit key: one signing key.
type version struct {
	alg     string
	name    string // transit key name
	number  int    // transit key version, for key_version
	pem     string // as Vault returned it, to notice a key recreated under the same name
	kid     string
	pub     crypto.PublicKey
	created time.Time
}

// lineage is one algorithm's transit key: its available versions, oldest
// first.
type lineage struct {
	alg      string
	name     string
	versions []*version
}

// view is what the signer publishes and signs with at one instant. It is
// immutable; readers share it.
type view struct {
	byKID  map[string]*version // published versions
	active map[string]*version // by algorithm
	set    domain.KeySet
	// expiresAt is the first instant at which the view changes by the
	// passing of time alone (a version retires or becomes active); zero if
	// never.
	expiresAt time.Time
}

// keyEntry is one version with its place in its life; retiredAt is when a
// retired version stopped signing.
type keyEntry struct {
	ver       *version
	life      domain.KeyLife
	retiredAt time.Time
}

// evaluate works out, from the versions of each key and the time, each
// version's place in its life; the key rules (domain.ViewKeys) then say
// which version signs, which are published, and when that next changes.
func evaluate(keys []lineage, now time.Time, publishDelay, retireAfter time.Duration) *view {
	var entries []keyEntry
	for _, l := range keys {
		entries = append(entries, l.lives(now, publishDelay, retireAfter)...)
	}
	// Versions of one state and algorithm: newest first.
	keyView := domain.ViewKeys(entries, func(e keyEntry) domain.KeyLife { return e.life }, now,
		func(a, b keyEntry) int { return cmp.Compare(b.ver.number, a.ver.number) })
	v := &view{byKID: map[string]*version{}, active: map[string]*version{}, expiresAt: keyView.ChangesAt}
	for alg, e := range keyView.Signing {
		v.active[alg] = e.ver
	}
	v.publish(keyView.Published)
	return v
}

// lives places each of the key's versions in its life at now.
//
// The newest version is the next key. Version i becomes active at
// activation(i): once version i+1 exists (it was made by the rotation that
// promotes i) and, with a publish delay, once i itself has been published
// that long. The newest version whose activation has passed signs; the
// versions before it retire RetireAfter after their successor's activation.
func (l lineage) lives(now time.Time, publishDelay, retireAfter time.Duration) []keyEntry {
	vs := l.versions
	if len(vs) == 0 {
		return nil
	}
	latest := len(vs) - 1
	activation := func(i int) time.Time {
		at := vs[i+1].created
		if t := vs[i].created.Add(publishDelay); publishDelay > 0 && t.After(at) {
			at = t
		}
		return at
	}
	// With no publish delay, the rotation that made the next version
	// promoted its predecessor, whatever the clocks say.
	eligible := func(i int) bool {
		return i < latest && (publishDelay == 0 || !activation(i).After(now))
	}
	active := 0 // a key that has never rotated signs with its only version
	for i := latest - 1; i >= 0; i-- {
		if eligible(i) {
			active = i
			break
		}
	}
	var entries []keyEntry
	for i, ver := range vs {
		var retiredAt time.Time
		life := domain.KeyLife{Algorithm: l.alg}
		if i < latest {
			// When it started signing; for a next version other than
			// the newest (there is one only with a publish delay), when
			// it is due to.
			life.ActiveAt = activation(i)
		}
		switch {
		case i < active:
			life.State = domain.KeyRetired
			retiredAt = activation(i + 1)
			life.RetireAt = domain.RetiredUntil(retiredAt, retireAfter)
		case i == active:
			life.State = domain.KeyActive
			if i == latest {
				life.ActiveAt = ver.created
			}
		default:
			life.State = domain.KeyNext
		}
		entries = append(entries, keyEntry{ver, life, retiredAt})
	}
	return entries
}

// publish fills the view's JWKS and kid index from the published versions,
// in order, and names the set with a version.
func (v *view) publish(published []keyEntry) {
	// The version names the published keys only: a key changing state
	// (next to active) does not change the JWKS document. The states and
	// dates travel in the set itself (domain.KeySet).
	kids := make([]string, 0, len(published))
	v.set.Keys = make([]domain.PublicKey, 0, len(published))
	for _, e := range published {
		v.byKID[e.ver.kid] = e.ver
		v.set.Keys = append(v.set.Keys, domain.PublicKey{
			KID: e.ver.kid, Algorithm: e.ver.alg, Key: e.ver.pub, State: e.life.State,
			CreatedAt: e.ver.created, ActiveAt: e.life.ActiveAt, RetiredAt: e.retiredAt, RetireAt: e.life.RetireAt,
		})
		kids = append(kids, e.ver.kid)
	}
	slices.Sort(kids)
	h := sha256.New()
	for _, kid := range kids {
		h.Write([]byte(kid))
		h.Write([]byte{0})
	}
	v.set.Version = base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// thumbprint is the RFC 7638 JWK thumbprint of pub (SHA-256, base64url),
// which serves as its kid, as in localkeys.
func thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
