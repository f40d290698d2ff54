package vault

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.KeySigner = (*Signer)(nil)

// Defaults for the zero values of Options.
const (
	DefaultMount        = "transit"
	DefaultAppRoleMount = "approle"
	DefaultRefresh      = 30 * time.Second
	DefaultBatchMax     = 64
	DefaultBatchWindow  = 300 * time.Microsecond
	DefaultTimeout      = 5 * time.Second
)

// DefaultKeys are the transit key names used for algorithms that
// Options.Keys does not name.
var DefaultKeys = map[string]string{
	domain.AlgRS256: "calimatic-rs256",
	domain.AlgES256: "calimatic-es256",
}

// Options configures a Signer.
type Options struct {
	// Address is Vault's URL; empty means VAULT_ADDR, then Vault's default.
	Address string
	// Token authenticates to Vault, unless RoleID is set.
	Token string
	// AppRoleMount, RoleID and SecretID log in with AppRole instead of a
	// token; the signer renews the token's lease and logs in again when it
	// ends. AppRoleMount defaults to "approle".
	AppRoleMount string
	RoleID       string
	SecretID     string
	// Namespace is the Vault Enterprise namespace (X-Vault-Namespace).
	Namespace string
	// CACert, ClientCert and ClientKey are paths of PEM files: the CA that
	// signed Vault's certificate, and this client's certificate and key for
	// TLS client authentication. TLSServerName overrides the name checked
	// in Vault's certificate (SNI).
	CACert        string
	ClientCert    string
	ClientKey     string
	TLSServerName string
	// Mount is the transit engine's path; default "transit".
	Mount string
	// Keys names the transit key of each algorithm; DefaultKeys fills in
	// the rest. Missing keys are created at start, not exportable.
	Keys map[string]string
	// Algorithms lists the algorithms to sign with: RS256, ES256. Empty
	// means RS256 alone (OIDC Core §15.1 makes RS256 mandatory).
	Algorithms []string
	// PublishDelay is how long a version must have been published before
	// it signs, on top of the rotation that promotes it. Zero relies on the
	// time between rotations alone, as localkeys does.
	PublishDelay time.Duration
	// RetireAfter is how long a version stays published after it stopped
	// signing: the longest token lifetime plus clock skew, plus Refresh when
	// instances share Vault. It must be positive.
	RetireAfter time.Duration
	// Refresh is how often the signer re-reads its keys, to see other
	// instances' rotations; 0 means DefaultRefresh, negative never.
	Refresh time.Duration
	// BatchMax is the most signatures one transit call carries (0 means
	// DefaultBatchMax; 1 turns batching off). BatchWindow is how long a
	// batch waits for company after its first signature (0 means
	// DefaultBatchWindow).
	BatchMax    int
	BatchWindow time.Duration
	// Timeout bounds each call to Vault; 0 means DefaultTimeout.
	Timeout time.Duration
	// Clock tells the time of rotations and retirements; nil means the
	// system clock.
	Clock ports.Clock
	// OnRefreshError, if set, hears about failed background work: periodic
	// refreshes and AppRole logins.
	OnRefreshError func(error)
}

// normalize fills in defaults and rejects options that would make a signer
// unsafe or useless, before Vault is called.
func (o Options) normalize() (Options, error) {
	if len(o.Algorithms) == 0 {
		o.Algorithms = []string{domain.AlgRS256}
	}
	o.Algorithms = slices.Clone(o.Algorithms)
	keys := maps.Clone(DefaultKeys)
	maps.Copy(keys, o.Keys)
	o.Keys = keys
	names := map[string]string{}
	for i, alg := range o.Algorithms {
		if keyTypes[alg] == "" {
			return o, fmt.Errorf("vault: unsupported algorithm %q (valid: %s, %s)", alg, domain.AlgRS256, domain.AlgES256)
		}
		if slices.Contains(o.Algorithms[:i], alg) {
			return o, fmt.Errorf("vault: algorithm %s listed twice", alg)
		}
		name := o.Keys[alg]
		if name == "" {
			return o, fmt.Errorf("vault: no transit key name for %s", alg)
		}
		if other, ok := names[name]; ok {
			return o, fmt.Errorf("vault: %s and %s cannot share the transit key %q", other, alg, name)
		}
		names[name] = alg
	}
	if o.Token == "" && o.RoleID == "" {
		return o, errors.New("vault: set a token, or an AppRole role_id and secret_id")
	}
	if o.RetireAfter <= 0 {
		return o, errors.New("vault: RetireAfter must be positive, or retired keys leave JWKS while their tokens are still valid")
	}
	if o.PublishDelay < 0 || o.BatchMax < 0 || o.BatchWindow < 0 || o.Timeout < 0 {
		return o, errors.New("vault: PublishDelay, BatchMax, BatchWindow and Timeout must not be negative")
	}
	o.Mount = cmpOr(o.Mount, DefaultMount)
	o.AppRoleMount = cmpOr(o.AppRoleMount, DefaultAppRoleMount)
	o.Refresh = cmpOr(o.Refresh, DefaultRefresh)
	o.BatchMax = cmpOr(o.BatchMax, DefaultBatchMax)
	o.BatchWindow = cmpOr(o.BatchWindow, DefaultBatchWindow)
	o.Timeout = cmpOr(o.Timeout, DefaultTimeout)
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	return o, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Signer is a ports.KeySigner over Vault's transit engine. The hot path
// (ActiveKey, PublicKeys, and Sign up to its transit call) reads an
// immutable snapshot without locks; refreshes and rotations are serialized.
type Signer struct {
	opts   Options
	client *api.Client
	batch  *batcher

	mu    sync.Mutex // serializes reads of Vault into state, and rotations
	state atomic.Pointer[state]

	fault   atomic.Pointer[error] // the last outage; nil while Vault answers
	probing sync.Mutex            // one recovery probe at a time
	relogin chan struct{}         // asks the AppRole loop to log in again

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// state is the keys as last read from Vault and the view they give at the
// time it was evaluated.
type state struct {
	keys []lineage
	view *view
}

// New connects to Vault, logs in, makes the transit keys that are missing
// (each with a next version), and reads them. It starts the AppRole renewal
// and the periodic refresh; Close stops them.
func New(ctx context.Context, opts Options) (*Signer, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	client, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	s := &Signer{opts: opts, client: client, relogin: make(chan struct{}, 1)}
	s.batch = newBatcher(opts.BatchMax, opts.BatchWindow, s.signDigests)
	s.state.Store(&state{view: evaluate(nil, opts.Clock.Now(), opts.PublishDelay, opts.RetireAfter)})
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if opts.RoleID != "" {
		secret, err := s.login(ctx)
		if err != nil {
			cancel()
			return nil, err
		}
		s.wg.Go(func() { s.keepLoggedIn(bg, secret) })
	}
	if err := s.update(ctx, s.ensure); err != nil {
		s.Close()
		return nil, err
	}
	if opts.Refresh > 0 {
		s.wg.Go(func() { s.watch(bg) })
	}
	return s, nil
}

// Close stops the background work. Signatures in flight complete.
func (s *Signer) Close() {
	s.cancel()
	s.wg.Wait()
}

// ActiveKey returns the version that signs new tokens with alg.
func (s *Signer) ActiveKey(ctx context.Context, alg string) (domain.KeyRef, error) {
	if err := s.available(ctx); err != nil {
		return domain.KeyRef{}, err
	}
	v := s.current().active[alg]
	if v == nil {
		return domain.KeyRef{}, fmt.Errorf("vault: no active %s key: %w", alg, domain.ErrNotFound)
	}
	return domain.KeyRef{KID: v.kid, Algorithm: v.alg}, nil
}

// Sign signs signingInput with the published version ref names, whatever
// its state, by an explicit key_version.
func (s *Signer) Sign(ctx context.Context, ref domain.KeyRef, signingInput []byte) ([]byte, error) {
	v := s.current().byKID[ref.KID]
	if v == nil || v.alg != ref.Algorithm {
		return nil, fmt.Errorf("vault: no %s key %q: %w", ref.Algorithm, ref.KID, domain.ErrNotFound)
	}
	if err := s.available(ctx); err != nil {
		return nil, err
	}
	// Prehashed: only the digest travels to Vault.
	digest := sha256.Sum256(signingInput)
	return s.batch.sign(ctx, batchKey{alg: v.alg, name: v.name, version: v.number}, digest[:])
}

// PublicKeys returns the published versions from memory, also while Vault
// is unreachable. The Keys slice is shared by every caller until the set
// changes: callers must not modify it.
func (s *Signer) PublicKeys(context.Context) (domain.KeySet, error) {
	return s.current().set, nil
}

// Ready reads the keys from Vault, which proves that Vault answers and the
// token is good, and checks that every algorithm has a version to sign with.
func (s *Signer) Ready(ctx context.Context) error {
	if err := s.refresh(ctx); err != nil {
		return err
	}
	v := s.current()
	for _, alg := range s.opts.Algorithms {
		if v.active[alg] == nil {
			return fmt.Errorf("vault: no active %s key: %w", alg, domain.ErrUnavailable)
		}
	}
	return nil
}

// Rotate rotates each algorithm's transit key. The new version is
// published as the next key; the previous next version signs from now on
// (once PublishDelay after its own creation has passed), and the version
// that signed until now retires.
func (s *Signer) Rotate(ctx context.Context) error {
	return s.update(ctx, func(ctx context.Context, keys []lineage) (bool, error) {
		for i, l := range keys {
			if err := s.call(ctx, func(ctx context.Context) error { return s.rotateKey(ctx, l.name) }); err != nil {
				return i > 0, err
			}
		}
		return true, nil
	})
}

// ensure makes the keys that are missing, and gives each key that has a
// single version a next version. A new key's first version signs at once:
// acceptable only because that algorithm has never signed.
func (s *Signer) ensure(ctx context.Context, keys []lineage) (bool, error) {
	changed := false
	for _, l := range keys {
		n := len(l.versions)
		if n == 0 {
			if err := s.call(ctx, func(ctx context.Context) error { return s.createKey(ctx, l.alg, l.name) }); err != nil {
				return changed, err
			}
			changed, n = true, 1
		}
		if n < 2 {
			if err := s.call(ctx, func(ctx context.Context) error { return s.rotateKey(ctx, l.name) }); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	return changed, nil
}

// refresh re-reads the keys from Vault.
func (s *Signer) refresh(ctx context.Context) error {
	return s.update(ctx, nil)
}

// update reads every key from Vault, lets change act on Vault, reads the
// keys back if it changed anything, and installs the result. Versions that
// appeared meanwhile were made by change: their creation time is the
// signer's clock at the change, so that publish delays and retirements
// follow that clock exactly. Versions read otherwise keep Vault's creation
// time, which is why instances need synchronized clocks.
func (s *Signer) update(ctx context.Context, change func(context.Context, []lineage) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, err := s.readAll(ctx)
	if err != nil {
		return err
	}
	if change != nil {
		now := s.opts.Clock.Now()
		changed, err := change(ctx, keys)
		if changed {
			before := keys
			var rerr error
			if keys, rerr = s.readAll(ctx); rerr != nil {
				return errors.Join(err, rerr)
			}
			stampNew(before, keys, now)
		}
		if err != nil {
			s.install(keys)
			return err
		}
	}
	s.install(keys)
	return nil
}

// readAll reads each algorithm's key; a missing key has no versions.
func (s *Signer) readAll(ctx context.Context) ([]lineage, error) {
	known := map[string]map[int]*version{}
	for _, l := range s.state.Load().keys {
		known[l.name] = map[int]*version{}
		for _, v := range l.versions {
			known[l.name][v.number] = v
		}
	}
	keys := make([]lineage, 0, len(s.opts.Algorithms))
	for _, alg := range s.opts.Algorithms {
		name := s.opts.Keys[alg]
		var l lineage
		var ok bool
		err := s.call(ctx, func(ctx context.Context) error {
			var err error
			l, ok, err = s.readKey(ctx, alg, name, known[name])
			return err
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			l = lineage{alg: alg, name: name}
		}
		keys = append(keys, l)
	}
	return keys, nil
}

// stampNew gives the versions in after that are not in before the creation
// time now.
func stampNew(before, after []lineage, now time.Time) {
	for i := range after {
		latest := 0
		for _, b := range before {
			if b.name == after[i].name && len(b.versions) > 0 {
				latest = b.versions[len(b.versions)-1].number
			}
		}
		for j, v := range after[i].versions {
			if v.number > latest {
				stamped := *v
				stamped.created = now
				after[i].versions[j] = &stamped
			}
		}
	}
}

func (s *Signer) install(keys []lineage) {
	s.state.Store(&state{keys: keys, view: evaluate(keys, s.opts.Clock.Now(), s.opts.PublishDelay, s.opts.RetireAfter)})
}

// current returns the view to read, first re-evaluating it if time alone
// has changed it (a version retired or became active), so that both are
// exact even with no refresh.
func (s *Signer) current() *view {
	for {
		st := s.state.Load()
		if st.view.expiresAt.IsZero() {
			return st.view
		}
		now := s.opts.Clock.Now()
		if now.Before(st.view.expiresAt) {
			return st.view
		}
		next := &state{keys: st.keys, view: evaluate(st.keys, now, s.opts.PublishDelay, s.opts.RetireAfter)}
		// Losing this swap means a refresh installed newer keys: read those.
		if s.state.CompareAndSwap(st, next) {
			return next.view
		}
	}
}

// call runs one Vault call under Timeout and records whether Vault answered.
func (s *Signer) call(ctx context.Context, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := f(cctx)
	s.observe(ctx, err)
	return err
}

// observe records the outcome of a Vault call made under ctx: an answer
// ends an outage, a failure to get one starts it. A 403 with AppRole means
// the token is gone: the login loop gets a nudge.
func (s *Signer) observe(ctx context.Context, err error) {
	switch {
	case err == nil:
		if s.fault.Load() != nil {
			s.fault.Store(nil)
		}
	case isOutage(ctx, err):
		s.fault.Store(&err)
		if s.opts.RoleID != "" && isForbidden(err) {
			select {
			case s.relogin <- struct{}{}:
			default:
			}
		}
	}
}

// available returns nil unless Vault was last found unreachable. Then it
// probes Vault with a refresh, one caller at a time, while the others fail
// at once; so the signer recovers on the first request after Vault does,
// and an outage does not pile requests onto Vault.
func (s *Signer) available(ctx context.Context) error {
	f := s.fault.Load()
	if f == nil {
		return nil
	}
	if !s.probing.TryLock() {
		return *f
	}
	defer s.probing.Unlock()
	if s.fault.Load() == nil {
		return nil
	}
	return s.refresh(ctx)
}

// watch refreshes every Refresh until ctx is done.
func (s *Signer) watch(ctx context.Context) {
	t := time.NewTicker(s.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.refresh(ctx); err != nil {
				s.report(ctx, err)
			}
		}
	}
}

func (s *Signer) report(ctx context.Context, err error) {
	if ctx.Err() == nil && s.opts.OnRefreshError != nil {
		s.opts.OnRefreshError(err)
	}
}
