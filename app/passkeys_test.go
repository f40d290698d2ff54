package app_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/mfa"
)

// Passkeys belong to the issuer's host, which WebAuthn wants to be a
// domain: an issuer reached by IP address has none.
func TestPasskeysFollowTheIssuersHost(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		on     bool
	}{
		{"http://localhost:8080", true},
		{"https://auth.example.com", true},
		{"https://auth.example.com:8443/tenant", true},
		{"http://127.0.0.1:8080", false},
		{"http://[::1]:8080", false},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			cfg := config.Default()
			cfg.Issuer = tc.issuer
			opts, err := app.Options(cfg, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			var svc *mfa.Service
			fxApp := fx.New(opts,
				fx.Supply(fx.Annotate(io.Discard, fx.As(new(io.Writer)), fx.ResultTags(`name:"banner"`))),
				fx.Populate(&svc),
			)
			require.NoError(t, fxApp.Err(), "the app graph builds")
			assert.Equal(t, tc.on, svc.PasskeysOn())
		})
	}
}
