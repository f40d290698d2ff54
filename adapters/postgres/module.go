package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/internal/background"
	"github.com/calimatic/calimatic-auth/ports"
)

// Options configures Module.
type Options struct {
	// DSN is a libpq connection string or URL (sslmode, connect_timeout and
	// the other libpq parameters apply, plus pgx's pool_* parameters).
	DSN string
	// MaxConns caps the pool; 0 keeps pgx's default (or the DSN's
	// pool_max_conns).
	MaxConns int32
	// Migrate applies pending migrations when the pool opens.
	Migrate bool
	// KeyEncryptionKey is the 32-byte master key that seals signing keys at
	// rest (see KeyStore).
	KeyEncryptionKey []byte
	// JanitorEvery is how often the janitor deletes expired rows (see
	// Janitor); 0 turns it off (storage.postgres.janitor_every).
	JanitorEvery time.Duration
	// WebhookRetention is how long the janitor keeps dispatched events and
	// completed webhook deliveries; 0 is DefaultWebhookRetention.
	WebhookRetention time.Duration
}

// startTimeout bounds the first connection and the migrations at start.
const startTimeout = 60 * time.Second

// Ready reports whether the database answers; it is the "storage"
// readiness check.
type Ready func(ctx context.Context) error

// Module opens the pool (failing the start if the database cannot be
// reached), migrates it when opts.Migrate, and provides every store as its
// port (the webhook stores, the factor store and the identity provider
// store seal their secrets under opts.KeyEncryptionKey). One GrantStore
// backs the grant port and each of its four parts. The rate limiter is
// provided as *RateLimiter only: the application picks the
// ports.RateLimiter (ratelimit.kind). The janitor runs every
// opts.JanitorEvery from start to stop, on the graph's ports.Clock, logging
// failures to its *slog.Logger if there is one. The pool is closed on stop.
func Module(opts Options) fx.Option {
	return fx.Module("postgres",
		fx.Provide(
			func(lc fx.Lifecycle) (*pgxpool.Pool, error) {
				pool, err := Open(context.Background(), opts)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(pool.Close))
				return pool, nil
			},
			func(pool *pgxpool.Pool) Ready { return pool.Ping },
			newInvalidations,
			fx.Annotate(func(pool *pgxpool.Pool, inv *Invalidations) *CachedClientStore {
				return NewCachedClientStore(NewClientStore(pool), inv)
			}, fx.As(new(ports.ClientStore))),
			fx.Annotate(func(pool *pgxpool.Pool, inv *Invalidations) *CachedUserStore {
				return NewCachedUserStore(NewUserStore(pool), inv)
			}, fx.As(new(ports.UserStore))),
			fx.Annotate(NewOrganizationStore, fx.As(new(ports.OrganizationStore))),
			fx.Annotate(NewDirectoryStore, fx.As(new(ports.DirectoryStore))),
			fx.Annotate(NewLicenseStore, fx.As(new(ports.LicenseStore))),
			fx.Annotate(NewClientGrantStore, fx.As(new(ports.ClientGrantStore))),
			fx.Annotate(NewRoleStore, fx.As(new(ports.RoleStore))),
			fx.Annotate(NewAdminKeyStore, fx.As(new(ports.AdminKeyStore))),
			fx.Annotate(NewSCIMStore, fx.As(new(ports.SCIMStore))),
			fx.Annotate(NewDomainStore, fx.As(new(ports.DomainStore))),
			fx.Annotate(NewGroupStore, fx.As(new(ports.GroupStore))),
			fx.Annotate(NewActionTokenStore, fx.As(new(ports.ActionTokenStore))),
			fx.Annotate(NewSessionStore, fx.As(new(ports.SessionStore))),
			fx.Annotate(NewAuthRequestStore, fx.As(new(ports.AuthRequestStore))),
			fx.Annotate(NewDeviceGrantStore, fx.As(new(ports.DeviceGrantStore))),
			fx.Annotate(NewEventOutbox, fx.As(fx.Self()), fx.As(new(ports.EventPublisher)), fx.As(new(ports.EventLog))),
			fx.Annotate(NewUnits, fx.As(new(ports.UnitOfWork))),
			// The webhook stores seal subscription secrets under the same
			// key-encryption key as signing keys.
			func(pool *pgxpool.Pool) (ports.SubscriptionStore, error) {
				s, err := NewSubscriptionStore(pool, opts.KeyEncryptionKey)
				if err != nil {
					return nil, err
				}
				return s, nil
			},
			func(pool *pgxpool.Pool) (ports.DeliveryStore, error) {
				s, err := NewDeliveryStore(pool, opts.KeyEncryptionKey)
				if err != nil {
					return nil, err
				}
				return s, nil
			},
			// TOTP secrets are sealed under the same key as well.
			func(pool *pgxpool.Pool) (ports.FactorStore, error) {
				s, err := NewFactorStore(pool, opts.KeyEncryptionKey)
				if err != nil {
					return nil, err
				}
				return s, nil
			},
			// And so are identity providers' client secrets.
			func(pool *pgxpool.Pool) (ports.IdentityProviderStore, error) {
				s, err := NewIdentityProviderStore(pool, opts.KeyEncryptionKey)
				if err != nil {
					return nil, err
				}
				return s, nil
			},
			fx.Annotate(NewLinkedIdentityStore, fx.As(new(ports.LinkedIdentityStore))),
			func(pool *pgxpool.Pool) ports.KeyStore {
				return NewKeyStore(pool, WithKeyEncryptionKey(opts.KeyEncryptionKey))
			},
			NewRateLimiter,
			fx.Annotate(NewReplayCache, fx.As(new(ports.ReplayCache))),
			NewGrantStore,
			// Revocation checks are cached per instance under the
			// invalidation listener; the rest of the grants go straight
			// to the database.
			func(g *GrantStore, inv *Invalidations) *CachedGrantStore { return NewCachedGrantStore(g, inv) },
			func(g *CachedGrantStore) ports.GrantStore { return g },
			func(g *GrantStore) ports.AuthCodeStore { return g },
			func(g *GrantStore) ports.RefreshTokenStore { return g },
			func(g *CachedGrantStore) ports.RevocationStore { return g },
			func(g *GrantStore) ports.ConsentStore { return g },
			func(pool *pgxpool.Pool) *Janitor {
				return NewJanitor(pool, WithWebhookRetention(opts.WebhookRetention))
			},
		),
		fx.Invoke(func(in janitorIn) { runJanitor(opts.JanitorEvery, in) }),
	)
}

// invalidationsIn is what the cache listener needs; the logger is optional.
type invalidationsIn struct {
	fx.In
	LC   fx.Lifecycle
	Pool *pgxpool.Pool
	Log  *slog.Logger `optional:"true"`
}

// newInvalidations runs the caches' LISTEN connection from start to stop;
// it stops before the pool closes.
func newInvalidations(in invalidationsIn) *Invalidations {
	inv := NewInvalidations(in.Pool, in.Log)
	in.LC.Append(fx.Hook{
		OnStart: func(context.Context) error { inv.Start(); return nil },
		OnStop:  inv.Stop,
	})
	return inv
}

// janitorIn is what runJanitor needs; the logger is optional.
type janitorIn struct {
	fx.In
	LC      fx.Lifecycle
	Janitor *Janitor
	Clock   ports.Clock
	Log     *slog.Logger `optional:"true"`
}

// runJanitor runs the janitor every `every` (0: never) from start to stop,
// in a goroutine of its own, so that the start never waits for a sweep.
func runJanitor(every time.Duration, in janitorIn) {
	if every <= 0 {
		return
	}
	log := in.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	task := background.New(func(ctx context.Context) { in.Janitor.run(ctx, every, in.Clock, log) })
	in.LC.Append(fx.StartStopHook(task.Start, task.Stop))
}

// Open returns a pool on opts.DSN once the database has answered a ping, and
// migrated when opts.Migrate. The caller closes it.
func Open(ctx context.Context, opts Options) (*pgxpool.Pool, error) {
	if len(opts.KeyEncryptionKey) != KeyEncryptionKeySize {
		return nil, fmt.Errorf("postgres: key encryption key must be %d bytes, got %d", KeyEncryptionKeySize, len(opts.KeyEncryptionKey))
	}
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		// pgx's parse errors may quote the DSN, password included.
		return nil, errors.New("postgres: the DSN does not parse (check its syntax)")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach the database at %s:%d/%s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if opts.Migrate {
		if err := Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return pool, nil
}

// The stores implement their ports; these lines make a drift a compile error
// here rather than a start-up error in fx.
var (
	_ ports.ClientStore           = (*ClientStore)(nil)
	_ ports.UserStore             = (*UserStore)(nil)
	_ ports.OrganizationStore     = (*OrganizationStore)(nil)
	_ ports.GrantStore            = (*GrantStore)(nil)
	_ ports.GrantStore            = (*CachedGrantStore)(nil)
	_ ports.SessionStore          = (*SessionStore)(nil)
	_ ports.AuthRequestStore      = (*AuthRequestStore)(nil)
	_ ports.DeviceGrantStore      = (*DeviceGrantStore)(nil)
	_ ports.RateLimiter           = (*RateLimiter)(nil)
	_ ports.ReplayCache           = (*ReplayCache)(nil)
	_ ports.DirectoryStore        = (*DirectoryStore)(nil)
	_ ports.UnitOfWork            = (*Units)(nil)
	_ ports.LicenseStore          = (*LicenseStore)(nil)
	_ ports.ClientGrantStore      = (*ClientGrantStore)(nil)
	_ ports.RoleStore             = (*RoleStore)(nil)
	_ ports.AdminKeyStore         = (*AdminKeyStore)(nil)
	_ ports.ActionTokenStore      = (*ActionTokenStore)(nil)
	_ ports.DomainStore           = (*DomainStore)(nil)
	_ ports.GroupStore            = (*GroupStore)(nil)
	_ ports.EventPublisher        = (*EventOutbox)(nil)
	_ ports.EventLog              = (*EventOutbox)(nil)
	_ ports.SubscriptionStore     = (*SubscriptionStore)(nil)
	_ ports.DeliveryStore         = (*DeliveryStore)(nil)
	_ ports.FactorStore           = (*FactorStore)(nil)
	_ ports.IdentityProviderStore = (*IdentityProviderStore)(nil)
	_ ports.LinkedIdentityStore   = (*LinkedIdentityStore)(nil)
)
