// Command ferretdb runs an embedded FerretDB (a MongoDB wire-protocol server
// on SQLite or PostgreSQL) for the MongoDB adapter's tests in CI (.ci/run).
//
// It lives in its own module so that FerretDB's dependencies never enter the
// product's go.mod. It wraps the embeddable package because FerretDB's own
// main panics when built from the module proxy (its version file is
// generated at release time).
//
//	go build -o /tmp/ferretdb . &&
//	mkdir -p /tmp/ferret-data &&
//	/tmp/ferretdb -listen 127.0.0.1:27117 -sqlite /tmp/ferret-data
//
// then connect to mongodb://127.0.0.1:27117/ (no authentication). It stops
// cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27117", "TCP `address` to listen on")
	sqliteDir := flag.String("sqlite", "", "use the SQLite backend with its files in `dir` (created if missing)")
	pgURL := flag.String("postgresql", "", "use the PostgreSQL backend at `url` instead of SQLite")
	logLevel := flag.String("log-level", "error", "log `level`: debug, info, warn or error")
	flag.Parse()

	if err := run(*listen, *sqliteDir, *pgURL, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, sqliteDir, pgURL, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	conf := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   logger,
	}
	switch {
	case sqliteDir != "" && pgURL != "":
		return fmt.Errorf("give -sqlite or -postgresql, not both")
	case pgURL != "":
		conf.Handler = "postgresql"
		conf.PostgreSQLURL = pgURL
	case sqliteDir != "":
		dir, err := filepath.Abs(sqliteDir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		conf.Handler = "sqlite"
		conf.SQLiteURL = "file:" + strings.TrimSuffix(dir, "/") + "/"
	default:
		return fmt.Errorf("give -sqlite DIR or -postgresql URL")
	}

	f, err := ferretdb.New(conf)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Run returns once ctx is canceled and the listener, the connections and
	// the backend are closed.
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	fmt.Fprintf(os.Stderr, "ferretdb: %s backend, listening on %s\n", conf.Handler, f.MongoDBURI())
	return <-done
}
