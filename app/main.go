package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/ports"
)

const usage = `Usage: calimatic-auth [command] [--config FILE]

Commands:
  serve    run the provider (the default)
  migrate  apply pending database migrations (storage.driver postgres) and exit
  keys rotate
           rotate the signing keys (the next key starts signing, a new next
           key is published) and exit; on a running server the admin API's
           POST /api/v1/admin/keys/rotate does the same
  admin create-key [--name NAME]
           make a platform admin key for /api/v1/admin, print it once and
           exit; only its hash is stored (storage.driver postgres or mongo)
  admin grant-platform-admin EMAIL
  admin revoke-platform-admin EMAIL
           grant or revoke the platform administrator role (the console's
           view of every organization) on the account of EMAIL and exit
           (storage.driver postgres or mongo); on a running server the
           admin API's PUT and DELETE /api/v1/admin/platform-admins/{userId}
           do the same
  help     show this help

The configuration file may also be named by CALIMATIC_CONFIG. Every key can
be overridden from the environment: CALIMATIC_ plus the key's path in upper
case, e.g. CALIMATIC_HTTP_ADDR, CALIMATIC_STORAGE_DRIVER.
`

// Main parses the command line and runs the command until it ends (for
// serve: until SIGINT or SIGTERM, then a graceful shutdown).
func Main(args, environ []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("calimatic-auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	path := fs.String("config", envValue(environ, "CALIMATIC_CONFIG"), "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch cmd {
	case "admin":
		return admin(args, environ, stdout, stderr)
	case "keys":
		return keysCommand(args, environ, stdout, stderr)
	}
	switch cmd {
	case "serve":
		return serve(*path, environ, stdout, stderr)
	case "migrate":
		return migrate(*path, environ, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q (valid: serve, migrate, keys, admin, help)", cmd)
}

// migrateTimeout bounds the whole migrate command: waiting for another
// instance's migration lock included.
const migrateTimeout = 10 * time.Minute

// migrate applies the pending migrations of the configured database and
// prints what it did.
func migrate(path string, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return err
	}
	if cfg.Storage.Driver != config.StoragePostgres {
		return fmt.Errorf("migrate: storage.driver is %q: only postgres has migrations", cfg.Storage.Driver)
	}
	opts, err := postgresOptions(cfg)
	if err != nil {
		return err
	}
	opts.Migrate = false // applied below, to report what was done
	ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
	defer cancel()
	pool, err := postgres.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := postgres.MigrateUp(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrate: the schema is up to date; nothing to apply")
		return nil
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "migrate: applied %s\n", name)
	}
	fmt.Fprintf(stdout, "migrate: %d migration(s) applied; the schema is up to date\n", len(applied))
	return nil
}

func serve(path string, environ []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return err
	}
	tuneGC(environ)
	log := NewLogger(cfg.Log, stderr)
	for _, name := range config.UnknownEnv(environ) {
		log.Warn("ignoring unknown environment variable", slog.String("name", name))
	}
	opts, err := Options(cfg, log)
	if err != nil {
		return err
	}
	fxApp := fx.New(opts, fx.Supply(fx.Annotate(stdout, fx.As(new(io.Writer)), fx.ResultTags(`name:"banner"`))))
	if err := fxApp.Err(); err != nil {
		return err
	}
	fxApp.Run()
	return nil
}

// tuneGC sets the collector for this workload unless GOGC or GOMEMLIMIT say
// otherwise. Requests allocate briskly over a live heap of a few MB, so the
// default goal (twice the live heap) collects dozens of times a second; a
// higher percentage with a memory limit well inside the 150 MB budget keeps
// throughput up and memory bounded (docs/PERFORMANCE.md).
func tuneGC(environ []string) {
	if envValue(environ, "GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if envValue(environ, "GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(100 << 20)
	}
}

// NewLogger makes the structured logger.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// admin runs an administration subcommand: create-key,
// grant-platform-admin or revoke-platform-admin.
func admin(args, environ []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "create-key":
		return adminCreateKey(args[1:], environ, stdout, stderr)
	case "grant-platform-admin":
		return adminPlatformAdmin(sub, true, args[1:], environ, stdout, stderr)
	case "revoke-platform-admin":
		return adminPlatformAdmin(sub, false, args[1:], environ, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return errors.New("admin: the subcommand is create-key, grant-platform-admin or revoke-platform-admin")
}

// adminCreateKey makes a platform admin key and prints it once.
func adminCreateKey(args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calimatic-auth admin create-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", envValue(environ, "CALIMATIC_CONFIG"), "configuration file (YAML)")
	name := fs.String("name", "admin", "a label for the key, to tell keys apart")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	if cfg.Storage.Driver == config.StorageMemory {
		return fmt.Errorf("admin create-key: storage.driver is %q; a key made here would vanish with this process (with the memory driver, set dev.seed_admin_key)", cfg.Storage.Driver)
	}
	var (
		keys   ports.AdminKeyStore
		clock  ports.Clock
		random ports.Random
	)
	return withStorage(cfg, stderr, func(ctx context.Context) error {
		dir := directory.New(directory.Config{}, directory.Deps{AdminKeys: keys, Clock: clock, Random: random})
		key, k, err := dir.CreateAdminKey(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "admin key %q (id %s):\n\n  %s\n\nIt is shown only this once; store it in a secret manager.\n", k.Name, k.ID, key)
		return nil
	}, fx.Populate(&keys, &clock, &random))
}

// adminPlatformAdmin grants (on) or revokes the platform administrator
// role on the account of the one email argument. The account is named by
// its email, not its id, because the operator bootstrapping the console
// knows the address and nothing else yet.
func adminPlatformAdmin(sub string, on bool, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calimatic-auth admin "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", envValue(environ, "CALIMATIC_CONFIG"), "configuration file (YAML)")
	emails, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(emails) != 1 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("admin %s: name exactly one account by its email (got %d arguments)", sub, len(emails))
	}
	email := emails[0]
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	if cfg.Storage.Driver == config.StorageMemory {
		return fmt.Errorf("admin %s: storage.driver is %q; the change would be made in this process's own empty store and vanish with it (with the memory driver, the dev seed's user is a platform administrator)", sub, cfg.Storage.Driver)
	}
	var (
		users ports.UserStore
		clock ports.Clock
	)
	return withStorage(cfg, stderr, func(ctx context.Context) error {
		dir := directory.New(directory.Config{}, directory.Deps{Users: users, Clock: clock})
		u, err := dir.SetPlatformAdminByEmail(ctx, email, on)
		if e, ok := fault.As(err); ok && e.Kind == fault.NotFound {
			return fmt.Errorf("admin %s: no account has the email %q", sub, email)
		}
		if err != nil {
			return fmt.Errorf("admin %s: %w", sub, err)
		}
		state := "is now"
		if !on {
			state = "is no longer"
		}
		fmt.Fprintf(stdout, "%s (id %s) %s a platform administrator\n", u.Email, u.ID, state)
		return nil
	}, fx.Populate(&users, &clock))
}

// parseInterspersed parses fs from args with the flags before, between or
// after the positional arguments (the standard flag package stops at the
// first positional one), and returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// withStorage builds the storage module of cfg, the system clock and
// random, and the modules in extra; starts them; runs do; and stops them.
// It builds nothing else, so that a command runs next to live servers, on
// whichever driver cfg names.
func withStorage(cfg config.Config, stderr io.Writer, do func(ctx context.Context) error, extra ...fx.Option) error {
	storage, err := storageModule(cfg)
	if err != nil {
		return err
	}
	fxApp := fx.New(fx.NopLogger, fx.Supply(cfg, NewLogger(cfg.Log, stderr)), system.Module, storage, fx.Options(extra...))
	if err := fxApp.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = fxApp.Stop(context.WithoutCancel(ctx)) }()
	return do(ctx)
}

// keysCommand runs a signing-key subcommand: rotate. It builds only the
// storage and signer of the configuration (withStorage), so it runs next
// to live servers, which see the rotation at their next reload (localkeys)
// or refresh (vault).
func keysCommand(args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, usage)
		return errors.New("keys: the subcommand is rotate")
	}
	fs := flag.NewFlagSet("calimatic-auth keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", envValue(environ, "CALIMATIC_CONFIG"), "configuration file (YAML)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	if cfg.Storage.Driver == config.StorageMemory && cfg.Signer.Kind == config.SignerLocal {
		return errors.New("keys rotate: with the memory driver and local keys the keys live in the server's process; rotate them there (POST /api/v1/admin/keys/rotate)")
	}
	signer, err := signerModule(cfg)
	if err != nil {
		return err
	}
	var ks ports.KeySigner
	return withStorage(cfg, stderr, func(ctx context.Context) error {
		if err := ks.Rotate(ctx); err != nil {
			return fmt.Errorf("keys rotate: %w", err)
		}
		set, err := ks.PublicKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys rotate: %w", err)
		}
		fmt.Fprintf(stdout, "keys rotated; published now:\n")
		for _, k := range set.Keys {
			fmt.Fprintf(stdout, "  %s  %s\n", k.Algorithm, k.KID)
		}
		return nil
	}, signer, fx.Populate(&ks))
}
