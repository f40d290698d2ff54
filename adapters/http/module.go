package http

import (
	"context"
	"errors"
	"log/slog"

	"go.uber.org/fx"
)

// Module provides the *Server, built from the Options and Deps in the graph,
// and runs it for the application's lifetime: start binds the port at once
// (so a port in use fails the start) and serves in the background; stop
// drains in-flight requests.
var Module = fx.Module("http",
	fx.Provide(New),
	fx.Invoke(func(lc fx.Lifecycle, s *Server, log *slog.Logger) {
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error {
				addr, err := s.Listen()
				if err != nil {
					return err
				}
				log.Info("listening", slog.String("addr", addr.String()))
				if m := s.MetricsAddr(); m != nil {
					log.Info("serving metrics", slog.String("addr", m.String()))
				}
				go func() {
					if err := s.Serve(); err != nil && !errors.Is(err, context.Canceled) {
						log.Error("server stopped", slog.String("err", err.Error()))
					}
				}()
				return nil
			},
			OnStop: s.Shutdown,
		})
	}),
)
