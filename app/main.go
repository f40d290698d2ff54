package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
)

const usage = `Usage: calimatic-auth [command] [--config FILE]

Commands:
  serve    run the provider (the default)
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
	case "serve":
		return serve(*path, environ, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q (valid: serve, help)", cmd)
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
