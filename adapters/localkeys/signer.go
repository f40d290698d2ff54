package localkeys

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.KeySigner = (*Signer)(nil)

const (
	// RFC 7518 §3.3: RSA keys for RS256 must be 2048 bits or larger.
	minRSABits = 2048
	// maxAttempts bounds how many compare-and-swaps one write may lose. Each
	// loss means another instance made progress, so a few are plenty.
	maxAttempts = 10
)

// Options configures a Signer.
type Options struct {
	// Algorithms lists the algorithms to keep keys for: RS256, ES256. The
	// first is the default that token issuance uses; empty means RS256 alone
	// (OIDC Core §15.1 makes RS256 mandatory).
	Algorithms []string
	// RetireAfter is how long a retired key stays published: the longest
	// token lifetime plus clock skew, plus Reload when instances share a
	// store (an instance signs with its old active key until it reloads).
	// It must be positive.
	RetireAfter time.Duration
	// RSABits is the size of new RSA keys; 0 means 2048.
	RSABits int
	// Reload is how often Module's lifecycle re-reads the store to pick up
	// other instances' rotations; 0 means never. Rotations must be further
	// apart than Reload plus relying parties' JWKS cache time, or a next key
	// made by one rotation may sign before everyone has fetched it.
	Reload time.Duration
	// RotateEvery, if positive, rotates an algorithm's keys once its active
	// key has signed that long, checked on each periodic reload. It must
	// leave relying parties time to fetch the next key first (it is in JWKS
	// from the previous rotation on), so it is far longer than Reload plus
	// their JWKS cache time.
	RotateEvery time.Duration
	// OnReloadError, if set, hears about failed periodic reloads. The signer
	// keeps its previous keys when a reload fails.
	OnReloadError func(error)
}

// normalize fills in defaults and rejects options that would make a signer
// unsafe or useless, before any key is made.
func (o Options) normalize() (Options, error) {
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{domain.AlgRS256}
	}
	o.Algorithms = slices.Clone(o.Algorithms)
	for i, alg := range o.Algorithms {
		if alg != domain.AlgRS256 && alg != domain.AlgES256 {
			return o, fmt.Errorf("localkeys: unsupported algorithm %q (valid: %s, %s)", alg, domain.AlgRS256, domain.AlgES256)
		}
		if slices.Contains(o.Algorithms[:i], alg) {
			return o, fmt.Errorf("localkeys: algorithm %s listed twice", alg)
		}
	}
	if o.RSABits == 0 {
		o.RSABits = minRSABits
	}
	if o.RSABits < minRSABits {
		return o, fmt.Errorf("localkeys: RSABits %d is below %d (RFC 7518 §3.3)", o.RSABits, minRSABits)
	}
	if o.RetireAfter <= 0 {
		return o, errors.New("localkeys: RetireAfter must be positive, or retired keys leave JWKS while their tokens are still valid")
	}
	if o.Reload < 0 {
		return o, errors.New("localkeys: Reload must not be negative")
	}
	if o.RotateEvery < 0 || o.RotateEvery > 0 && o.Reload == 0 {
		return o, errors.New("localkeys: RotateEvery must not be negative, and scheduled rotation needs a positive Reload to check it")
	}
	return o, nil
}

// Signer is a ports.KeySigner over keys made in process and kept in a
// ports.KeyStore. Reads (ActiveKey, Sign, PublicKeys, Ready) are lock-free;
// writes (Rotate, Reload) are serialized within the instance and
// compare-and-swapped across instances through the store.
type Signer struct {
	store ports.KeyStore
	clock ports.Clock
	opts  Options

	writeMu sync.Mutex // serializes this instance's reads of the store and writes to it
	snap    atomic.Pointer[snapshot]
}

// New loads the keys in store and makes whatever is missing: for each
// algorithm with no active key, an active key and a next key. When several
// instances start on one empty store, one wins the compare-and-swap and the
// others adopt its keys.
func New(ctx context.Context, store ports.KeyStore, clock ports.Clock, opts Options) (*Signer, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	s := &Signer{store: store, clock: clock, opts: opts}
	s.snap.Store(newSnapshot(nil, clock.Now()))
	err = s.update(ctx, "start", func(d *draft) error {
		for _, alg := range s.opts.Algorithms {
			if err := d.ensure(alg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ActiveKey returns the key that signs new tokens with alg.
func (s *Signer) ActiveKey(_ context.Context, alg string) (domain.KeyRef, error) {
	k := s.current().active[alg]
	if k == nil {
		return domain.KeyRef{}, fmt.Errorf("localkeys: no active %s key: %w", alg, domain.ErrNotFound)
	}
	return domain.KeyRef{KID: k.kid, Algorithm: k.alg}, nil
}

// Sign signs signingInput with the published key ref names, whatever its
// state, so that a rotation between ActiveKey and Sign does no harm.
func (s *Signer) Sign(_ context.Context, ref domain.KeyRef, signingInput []byte) ([]byte, error) {
	k := s.current().byKID[ref.KID]
	if k == nil || k.alg != ref.Algorithm {
		return nil, fmt.Errorf("localkeys: no %s key %q: %w", ref.Algorithm, ref.KID, domain.ErrNotFound)
	}
	return k.sign(signingInput)
}

// PublicKeys returns the published keys. The Keys slice is shared by every
// caller until the set changes: callers must not modify it.
func (s *Signer) PublicKeys(_ context.Context) (domain.KeySet, error) {
	return s.current().set, nil
}

// Ready reports whether every configured algorithm has an active key.
func (s *Signer) Ready(_ context.Context) error {
	snap := s.current()
	for _, alg := range s.opts.Algorithms {
		if snap.active[alg] == nil {
			return fmt.Errorf("localkeys: no active %s key: %w", alg, domain.ErrUnavailable)
		}
	}
	return nil
}

// Rotate promotes each algorithm's next key to active, retires the active key
// until now+RetireAfter, publishes a new next key, and drops retired keys
// whose time is up.
func (s *Signer) Rotate(ctx context.Context) error {
	return s.rotate(ctx, func(*draft, string) bool { return true })
}

// RotateDue rotates each algorithm whose active key has signed for at least
// age. Instances sharing a store may all call it on a schedule: the first to
// write rotates, and the others then find a young active key.
func (s *Signer) RotateDue(ctx context.Context, age time.Duration) error {
	return s.rotate(ctx, func(d *draft, alg string) bool {
		i := d.find(alg, domain.KeyActive)
		return i >= 0 && !d.recs[i].ActiveAt.Add(age).After(d.now)
	})
}

// rotate rotates the algorithms due says are due.
func (s *Signer) rotate(ctx context.Context, due func(*draft, string) bool) error {
	var seen map[string]string // algorithm -> active kid when the rotation began
	return s.update(ctx, "rotate", func(d *draft) error {
		if seen == nil {
			seen = d.activeKIDs()
		}
		d.dropExpired()
		for _, alg := range s.opts.Algorithms {
			// Another instance rotated alg since we first looked (we lost a
			// compare-and-swap to it). Rotating again would make its new next
			// key sign before relying parties have fetched it.
			if d.activeKIDs()[alg] != seen[alg] || !due(d, alg) {
				continue
			}
			if err := d.rotate(alg); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reload re-reads the store, so that this instance signs with, and
// publishes, the keys another instance rotated.
func (s *Signer) Reload(ctx context.Context) error {
	return s.update(ctx, "reload", func(*draft) error { return nil })
}

// Watch reloads every interval until ctx is done. A failed reload keeps the
// previous keys and is passed to onErr, if it is not nil.
func (s *Signer) Watch(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := s.Reload(ctx)
			if err == nil && s.opts.RotateEvery > 0 {
				err = s.RotateDue(ctx, s.opts.RotateEvery)
			}
			if err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}

// update reads the store, lets change edit a draft of it, writes the draft
// back with a compare-and-swap if change changed anything, and installs the
// result as the signer's snapshot. Losing the swap means another instance
// wrote first: update reads its keys and lets change decide again.
func (s *Signer) update(ctx context.Context, op string, change func(*draft) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("localkeys: %s: %w", op, err)
		}
		stored, err := s.store.ListKeys(ctx)
		if err != nil {
			return fmt.Errorf("localkeys: %s: list keys: %w", op, err)
		}
		d := &draft{recs: slices.Clone(stored), fresh: map[string]*material{}, now: s.clock.Now(), opts: &s.opts}
		if err := change(d); err != nil {
			return fmt.Errorf("localkeys: %s: %w", op, err)
		}
		if d.changed {
			err := s.store.ReplaceKeys(ctx, stored, d.recs)
			if errors.Is(err, domain.ErrConflict) {
				continue
			}
			if err != nil {
				return fmt.Errorf("localkeys: %s: replace keys: %w", op, err)
			}
		}
		if err := s.install(d.recs, d.fresh, d.now); err != nil {
			return fmt.Errorf("localkeys: %s: %w", op, err)
		}
		return nil
	}
	return fmt.Errorf("localkeys: %s: lost %d compare-and-swaps in a row: %w", op, maxAttempts, domain.ErrConflict)
}

// install makes recs the published set. Key material comes from fresh (keys
// just made), then from the current snapshot, and is parsed only for keys
// this instance has not seen, so that a reload costs nothing when nothing
// changed.
func (s *Signer) install(recs []domain.KeyRecord, fresh map[string]*material, now time.Time) error {
	known := s.snap.Load().byKID
	keys := make([]*key, 0, len(recs))
	for _, rec := range recs {
		if !rec.Life().Published(now) {
			continue
		}
		m := fresh[rec.KID]
		if m == nil && known[rec.KID] != nil && known[rec.KID].alg == rec.Algorithm {
			m = known[rec.KID].material
		}
		if m == nil {
			var err error
			if m, err = parseRecord(rec); err != nil {
				return err
			}
		}
		keys = append(keys, &key{material: m, kid: rec.KID, life: rec.Life(), created: rec.CreatedAt})
	}
	s.snap.Store(newSnapshot(keys, now))
	return nil
}

// current returns the snapshot to read, first dropping retired keys whose
// time is up, so that retirement is exact even with no reload or rotation.
func (s *Signer) current() *snapshot {
	for {
		snap := s.snap.Load()
		if snap.expiresAt.IsZero() {
			return snap
		}
		now := s.clock.Now()
		if now.Before(snap.expiresAt) {
			return snap
		}
		// Losing this swap means a writer installed a newer snapshot: read
		// that one instead.
		if pruned := newSnapshot(snap.keys, now); s.snap.CompareAndSwap(snap, pruned) {
			return pruned
		}
	}
}

// snapshot is an immutable view of the published keys, prepared so that
// readers allocate nothing.
type snapshot struct {
	keys      []*key // in JWKS order
	byKID     map[string]*key
	active    map[string]*key // by algorithm
	set       domain.KeySet
	expiresAt time.Time // when time alone changes the view; zero if never
}

// newSnapshot publishes the keys of all that the key rules (domain.ViewKeys)
// publish at now; keys of one state and algorithm are in kid order.
func newSnapshot(all []*key, now time.Time) *snapshot {
	view := domain.ViewKeys(all, func(k *key) domain.KeyLife { return k.life }, now,
		func(a, b *key) int { return cmp.Compare(a.kid, b.kid) })
	snap := &snapshot{keys: view.Published, byKID: map[string]*key{}, active: view.Signing, expiresAt: view.ChangesAt}
	for _, k := range snap.keys {
		snap.byKID[k.kid] = k
	}

	// Version hashes what the set is: each key and its state, in kid order.
	h := sha256.New()
	snap.set.Keys = make([]domain.PublicKey, 0, len(snap.keys))
	for _, k := range slices.SortedFunc(slices.Values(snap.keys), func(a, b *key) int { return cmp.Compare(a.kid, b.kid) }) {
		fmt.Fprintf(h, "%s %s %s\n", k.kid, k.alg, k.life.State)
	}
	for _, k := range snap.keys {
		snap.set.Keys = append(snap.set.Keys, domain.PublicKey{
			KID: k.kid, Algorithm: k.alg, Key: k.public, State: k.life.State,
			CreatedAt: k.created, ActiveAt: k.life.ActiveAt, RetiredAt: retiredAt(snap.keys, k), RetireAt: k.life.RetireAt,
		})
	}
	snap.set.Version = base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
	return snap
}

// retiredAt returns when retired key k stopped signing: the rotation that
// retired it promoted its successor at the same instant, so that is the
// earliest ActiveAt of alg's keys that became active after k. The
// successor outlives k in the JWKS, so it is among keys. Zero for a key
// that is not retired.
func retiredAt(keys []*key, k *key) time.Time {
	var at time.Time
	if k.life.State != domain.KeyRetired {
		return at
	}
	for _, o := range keys {
		if o.alg == k.alg && o.life.ActiveAt.After(k.life.ActiveAt) && (at.IsZero() || o.life.ActiveAt.Before(at)) {
			at = o.life.ActiveAt
		}
	}
	return at
}

// key is a published key: its parsed material and its place in its life.
type key struct {
	*material
	kid     string
	life    domain.KeyLife
	created time.Time
}

// material is a parsed private key, ready to sign.
type material struct {
	alg    string
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	public crypto.PublicKey
}

func newMaterial(alg string, priv any) (*material, error) {
	switch alg {
	case domain.AlgRS256:
		k, ok := priv.(*rsa.PrivateKey)
		if !ok || k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%s needs an RSA key of %d bits or more", alg, minRSABits)
		}
		k.Precompute()
		return &material{alg: alg, rsa: k, public: &k.PublicKey}, nil
	case domain.AlgES256:
		k, ok := priv.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s needs a P-256 key (RFC 7518 §3.4)", alg)
		}
		return &material{alg: alg, ec: k, public: &k.PublicKey}, nil
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}
}

// sign returns the JWS signature of input (RFC 7515 §5.1 step 5).
func (m *material) sign(input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	switch {
	case m.rsa != nil:
		// RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256.
		return rsa.SignPKCS1v15(nil, m.rsa, crypto.SHA256, digest[:])
	default:
		// RFC 7518 §3.4: r and s as fixed 32-byte big-endian integers, not
		// ASN.1.
		r, s, err := ecdsa.Sign(rand.Reader, m.ec, digest[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
}

// parseRecord parses a stored key and checks that it is what its record says.
func parseRecord(rec domain.KeyRecord) (*material, error) {
	priv, err := x509.ParsePKCS8PrivateKey(rec.Private)
	if err != nil {
		return nil, fmt.Errorf("key %s: parse PKCS #8: %w", rec.KID, err)
	}
	m, err := newMaterial(rec.Algorithm, priv)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", rec.KID, err)
	}
	kid, err := thumbprint(m.public)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", rec.KID, err)
	}
	if kid != rec.KID {
		return nil, fmt.Errorf("key %s: kid is not the key's thumbprint %s", rec.KID, kid)
	}
	return m, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of pub (SHA-256, base64url),
// which serves as its kid.
func thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// draft is a key set being edited before it is written back to the store.
type draft struct {
	recs    []domain.KeyRecord
	fresh   map[string]*material // material of keys made in this draft, by kid
	now     time.Time
	opts    *Options
	changed bool
}

// ensure gives alg an active key and a next key if it lacks them. A next key
// is promoted when there is one, because it is already published; a key made
// active at once is acceptable only for an algorithm that has never signed.
func (d *draft) ensure(alg string) error {
	if d.find(alg, domain.KeyActive) < 0 {
		if n := d.find(alg, domain.KeyNext); n >= 0 {
			d.promote(n)
		} else if err := d.generate(alg, domain.KeyActive); err != nil {
			return err
		}
	}
	if d.find(alg, domain.KeyNext) < 0 {
		return d.generate(alg, domain.KeyNext)
	}
	return nil
}

// rotate retires alg's active key, promotes its next key, and publishes a new
// next key.
func (d *draft) rotate(alg string) error {
	n := d.find(alg, domain.KeyNext)
	if n < 0 {
		// Nothing published can be promoted: publish a key now, and let the
		// next rotation promote it.
		return d.ensure(alg)
	}
	promoted := d.recs[n].KID
	for i, r := range d.recs {
		if r.Algorithm == alg && r.State == domain.KeyActive {
			d.recs[i].State = domain.KeyRetired
			d.recs[i].RetireAt = domain.RetiredUntil(d.now, d.opts.RetireAfter)
		}
	}
	// A second next key never signed anything, so dropping it is safe.
	d.recs = slices.DeleteFunc(d.recs, func(r domain.KeyRecord) bool {
		return r.Algorithm == alg && r.State == domain.KeyNext && r.KID != promoted
	})
	d.promote(slices.IndexFunc(d.recs, func(r domain.KeyRecord) bool { return r.KID == promoted }))
	return d.generate(alg, domain.KeyNext)
}

// dropExpired removes the retired keys that are no longer published.
func (d *draft) dropExpired() {
	n := len(d.recs)
	d.recs = slices.DeleteFunc(d.recs, func(r domain.KeyRecord) bool {
		return !r.Life().Published(d.now)
	})
	d.changed = d.changed || len(d.recs) != n
}

// find returns the index of alg's newest key in state, or -1.
func (d *draft) find(alg string, state domain.KeyState) int {
	found := -1
	for i, r := range d.recs {
		if r.Algorithm == alg && r.State == state && (found < 0 || r.CreatedAt.After(d.recs[found].CreatedAt)) {
			found = i
		}
	}
	return found
}

func (d *draft) activeKIDs() map[string]string {
	kids := map[string]string{}
	for _, alg := range d.opts.Algorithms {
		if i := d.find(alg, domain.KeyActive); i >= 0 {
			kids[alg] = d.recs[i].KID
		}
	}
	return kids
}

func (d *draft) promote(i int) {
	d.recs[i].State = domain.KeyActive
	d.recs[i].ActiveAt = d.now
	d.changed = true
}

// generate makes a new key for alg in state and adds it to the draft.
func (d *draft) generate(alg string, state domain.KeyState) error {
	var priv crypto.Signer
	var err error
	switch alg {
	case domain.AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, d.opts.RSABits)
	case domain.AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return fmt.Errorf("generate %s key: %w", alg, err)
	}
	m, err := newMaterial(alg, priv)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("marshal %s key: %w", alg, err)
	}
	kid, err := thumbprint(m.public)
	if err != nil {
		return err
	}
	rec := domain.KeyRecord{KID: kid, Algorithm: alg, State: state, Private: der, CreatedAt: d.now}
	if state == domain.KeyActive {
		rec.ActiveAt = d.now
	}
	d.recs = append(d.recs, rec)
	d.fresh[kid] = m
	d.changed = true
	return nil
}
