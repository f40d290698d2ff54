package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/internal/background"
	"github.com/calimatic/calimatic-auth/ports"
)

// Options configures Module.
type Options struct {
	// URI is a mongodb:// or mongodb+srv:// connection string.
	URI string
	// Database is the database the collections live in.
	Database string
	// Timeout bounds connecting and the index set-up at start, and each
	// step of the start's backfill (BackfillDirectory).
	Timeout time.Duration
	// KeyEncryptionKey is the 32-byte master key that seals signing keys,
	// webhook secrets, TOTP secrets and identity providers' client secrets
	// at rest.
	KeyEncryptionKey []byte
	// JanitorEvery is how often the janitor deletes expired documents; 0
	// turns it off.
	JanitorEvery time.Duration
	// WebhookRetention keeps finished deliveries and dispatched events this
	// long; 0 is DefaultWebhookRetention.
	WebhookRetention time.Duration
}

// Ready reports whether the server answers; it is the "storage" readiness
// check.
type Ready func(ctx context.Context) error

// Open connects, checks that the server answers, makes every index, and
// brings the documents of older versions to the current shape
// (BackfillDirectory) before anything reads them. The caller disconnects
// the client.
func Open(ctx context.Context, opts Options) (*mongo.Client, *mongo.Database, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	// No client-wide timeout: it adds maxTimeMS to every command, which some
	// servers (FerretDB 1.24) refuse on some commands; contexts bound calls.
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(opts.URI).
		SetServerSelectionTimeout(opts.Timeout).SetConnectTimeout(opts.Timeout))
	if err != nil {
		// The driver's parse errors may quote the URI, password included.
		return nil, nil, errors.New("mongo: the URI does not parse (check its syntax)")
	}
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, nil, fmt.Errorf("mongo: cannot reach the server: %w", translate("ping", err))
	}
	db := client.Database(opts.Database)
	if err := EnsureIndexes(ctx, db); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	// A first backfill over a large deployment may outlast opts.Timeout:
	// each of its steps is bounded instead, and a failed start keeps the
	// steps done.
	if _, _, err := (backfill{batch: backfillBatch, timeout: opts.Timeout}).run(parent, db); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return client, db, nil
}

// Module connects (failing the start if the server cannot be reached),
// makes the indexes, backfills older documents (see Open), and provides
// every store as its port; the webhook stores, the key store, the factor
// store and the identity provider store seal their secrets under
// opts.KeyEncryptionKey.
// The rate limiter is provided as *RateLimiter only: the application picks
// the ports.RateLimiter (ratelimit.kind). The janitor runs every
// opts.JanitorEvery from start to stop. The client disconnects on stop.
func Module(opts Options) fx.Option {
	return fx.Module("mongo",
		fx.Provide(
			func(lc fx.Lifecycle) (*mongo.Database, error) {
				client, db, err := Open(context.Background(), opts)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(func(ctx context.Context) error { return client.Disconnect(ctx) }))
				return db, nil
			},
			func(db *mongo.Database) Ready {
				return func(ctx context.Context) error {
					return translate("ping", db.Client().Ping(ctx, readpref.Primary()))
				}
			},
			fx.Annotate(NewClientStore, fx.As(new(ports.ClientStore))),
			fx.Annotate(NewUserStore, fx.As(new(ports.UserStore))),
			fx.Annotate(NewOrganizationStore, fx.As(new(ports.OrganizationStore))),
			NewDirectoryStore,
			func(d *DirectoryStore) ports.DirectoryStore { return d },
			func(d *DirectoryStore) ports.LicenseStore { return d },
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
			NewGrantStore,
			func(g *GrantStore) ports.GrantStore { return g },
			func(g *GrantStore) ports.AuthCodeStore { return g },
			func(g *GrantStore) ports.RefreshTokenStore { return g },
			func(g *GrantStore) ports.RevocationStore { return g },
			func(g *GrantStore) ports.ConsentStore { return g },
			NewRateLimiter,
			fx.Annotate(NewReplayCache, fx.As(new(ports.ReplayCache))),
			fx.Annotate(NewEventOutbox, fx.As(fx.Self()), fx.As(new(ports.EventPublisher)), fx.As(new(ports.EventLog))),
			func(in unitsIn) *Units { return NewUnits(in.DB, in.Log) },
			func(u *Units) ports.UnitOfWork { return u },
			func(db *mongo.Database) (ports.KeyStore, error) {
				return NewKeyStore(db, opts.KeyEncryptionKey)
			},
			func(db *mongo.Database) (*WebhookStore, error) { return NewWebhookStore(db, opts.KeyEncryptionKey) },
			func(w *WebhookStore) ports.SubscriptionStore { return w },
			func(w *WebhookStore) ports.DeliveryStore { return w },
			func(db *mongo.Database) (ports.FactorStore, error) {
				s, err := NewFactorStore(db, opts.KeyEncryptionKey)
				if err != nil {
					return nil, err // not a typed nil in the interface
				}
				return s, nil
			},
			func(db *mongo.Database) (ports.IdentityProviderStore, error) {
				s, err := NewIdentityProviderStore(db, opts.KeyEncryptionKey)
				if err != nil {
					return nil, err
				}
				return s, nil
			},
			fx.Annotate(NewLinkedIdentityStore, fx.As(new(ports.LinkedIdentityStore))),
		),
		fx.Invoke(func(in janitorIn) { runJanitor(opts.JanitorEvery, opts.WebhookRetention, in) }),
		fx.Invoke(runBackfill),
		fx.Invoke(runUnitRecovery),
	)
}

// janitorIn is what runJanitor and runBackfill need; the logger is
// optional.
type janitorIn struct {
	fx.In
	LC    fx.Lifecycle
	DB    *mongo.Database
	Clock ports.Clock
	Log   *slog.Logger `optional:"true"`
}

// unitsIn is what NewUnits needs; the logger is optional.
type unitsIn struct {
	fx.In
	DB  *mongo.Database
	Log *slog.Logger `optional:"true"`
}

// runUnitRecovery settles, every unitHeartbeat, a unit of work that a
// crashed instance left while no other unit has started (Units.Recover).
func runUnitRecovery(in janitorIn, units *Units) {
	log := in.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runEvery(in.LC, unitHeartbeat, func(ctx context.Context) {
		if err := units.Recover(ctx); err != nil && ctx.Err() == nil {
			log.Warn("mongo unit recovery", slog.String("err", err.Error()))
		}
	})
}

// runEvery runs task every `every` from start to stop, in a goroutine of
// its own; stop cancels the task's context and waits for it.
func runEvery(lc fx.Lifecycle, every time.Duration, task func(ctx context.Context)) {
	loop := background.New(func(ctx context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				task(ctx)
			}
		}
	})
	lc.Append(fx.StartStopHook(loop.Start, loop.Stop))
}

// runBackfill completes the user documents of older versions
// (BackfillUsers) in a goroutine from start, so that a large backlog
// neither delays nor fails the start; stop cancels it, and the next start
// finishes the rest.
func runBackfill(in janitorIn) {
	log := in.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	task := background.New(func(ctx context.Context) {
		n, err := BackfillUsers(ctx, in.DB)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("mongo user backfill", slog.String("err", err.Error()), slog.Int("rewritten", n))
		case n > 0:
			log.Info("mongo user backfill", slog.Int("rewritten", n))
		}
	})
	in.LC.Append(fx.StartStopHook(task.Start, task.Stop))
}
