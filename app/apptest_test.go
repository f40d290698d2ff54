package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	httpadapter "github.com/calimatic/calimatic-auth/adapters/http"
	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// The dev seed's user and admin key in every test server.
const (
	seedEmail    = "jane.e2e@example.edu"
	seedPassword = "correct horse battery staple"
	seedAdminKey = "cak_e2e-admin-key-0123456789abcdefghijklmnop"
)

// testServer is the real application, started in-process on a free
// loopback port.
type testServer struct {
	BaseURL string // the issuer
	// URL is where the server listens; it differs from BaseURL only when a
	// test gives several servers one issuer.
	URL    string
	Users  ports.UserStore
	Signer ports.KeySigner
	// Events is what the app publishes to (the memory event log, or the
	// Postgres outbox).
	Events ports.EventPublisher
	// HTTP is the HTTP adapter, for the address of its metrics listener.
	HTTP *httpadapter.Server
	stop func() // stops the app, once
}

// startServer starts the app with config.Default() changed by edit, and
// stops it when the test ends. The port is reserved by listening on :0 and
// closing; if another process takes it in between, the start is retried.
// extra options go into the fx graph (a test's clock, say).
func startServer(t *testing.T, edit func(*config.Config), extra ...fx.Option) *testServer {
	t.Helper()
	var lastErr error
	for range 3 {
		srv, err := tryStart(t, edit, extra...)
		if err == nil {
			return srv
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	require.NoError(t, lastErr, "the app must start")
	return nil
}

func tryStart(t *testing.T, edit func(*config.Config), extra ...fx.Option) (*testServer, error) {
	t.Helper()
	port := freePort(t)
	cfg := config.Default()
	cfg.HTTP.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.HTTP.MetricsAddr = "127.0.0.1:0" // tests run side by side; each gets its own
	cfg.Issuer = fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg.Dev.SeedEmail, cfg.Dev.SeedPassword, cfg.Dev.SeedAdminKey = seedEmail, seedPassword, seedAdminKey
	if edit != nil {
		edit(&cfg)
	}
	logger := slog.New(slog.DiscardHandler)
	opts, err := app.Options(cfg, logger)
	require.NoError(t, err, "the configuration must be valid")

	srv := &testServer{BaseURL: cfg.Issuer, URL: "http://" + cfg.HTTP.Addr}
	fxApp := fx.New(opts,
		// The seed banner goes to the "banner" writer; keep it out of test output.
		fx.Supply(fx.Annotate(io.Discard, fx.As(new(io.Writer)), fx.ResultTags(`name:"banner"`))),
		fx.Populate(&srv.Users, &srv.Signer, &srv.Events, &srv.HTTP),
		fx.Options(extra...),
	)
	if err := fxApp.Err(); err != nil {
		return nil, fmt.Errorf("the app graph must build: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		return nil, err
	}
	var once sync.Once
	srv.stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			if err := fxApp.Stop(ctx); err != nil {
				// Say what was still running: a hook that hangs is a bug.
				var stacks strings.Builder
				_ = pprof.Lookup("goroutine").WriteTo(&stacks, 2)
				t.Errorf("the app must stop cleanly; after %s: %v\ngoroutines:\n%s", time.Since(start).Round(time.Millisecond), err, stacks.String())
			}
		})
	}
	t.Cleanup(srv.stop)
	return srv, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

// setStatus changes a user's status, as an administrator would.
func (s *testServer) setStatus(t *testing.T, email string, status domain.UserStatus) {
	t.Helper()
	ctx := context.Background()
	u, err := s.Users.GetUserByEmail(ctx, email)
	require.NoError(t, err)
	_, err = s.Users.UpdateUser(ctx, u.ID, func(u *domain.User) error {
		u.Status = status
		return nil
	})
	require.NoError(t, err)
}

// env is the oidcflow environment of this server and its seed user.
func (s *testServer) env() oidcflow.Env {
	return oidcflow.Env{
		BaseURL:  s.BaseURL,
		Email:    seedEmail,
		Password: seedPassword,
		AdminKey: seedAdminKey,
		SuspendUser: func(t *testing.T, email string) {
			s.setStatus(t, email, domain.UserSuspended)
		},
		ReactivateUser: func(t *testing.T, email string) {
			s.setStatus(t, email, domain.UserActive)
		},
		SetHomeProfile: func(t *testing.T, email string, p domain.OrgProfile) {
			t.Helper()
			u, err := s.Users.GetUserByEmail(t.Context(), email)
			require.NoError(t, err)
			require.NotEmpty(t, u.HomeOrganizationID, "the seed user has a home organization")
			_, err = s.Users.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
				u.Profiles = map[string]domain.OrgProfile{u.HomeOrganizationID: p}
				return nil
			})
			require.NoError(t, err)
		},
	}
}
