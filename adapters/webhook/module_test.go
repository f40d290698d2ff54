package webhook

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/core/webhooks"
	"github.com/calimatic/calimatic-auth/ports"
)

// The graph is validated, never run: constructors and invokes are checked
// for what they need, not called.
func TestModuleGraph(t *testing.T) {
	service := fx.Provide(func() *webhooks.Service { return nil })
	logger := fx.Supply(slog.New(slog.DiscardHandler))
	needsSender := fx.Invoke(func(ports.WebhookSender) {})
	notifier := fx.Provide(func() *Notifier { return NewNotifier(nil) })
	for _, tc := range []struct {
		name  string
		app   fx.Option
		valid bool
	}{
		{"the worker runs without a notifier", fx.Options(Module(Options{}), service, logger, needsSender), true},
		{"the worker listens to a notifier in the graph", fx.Options(Module(Options{}), service, logger, notifier, needsSender), true},
		{"a disabled module needs neither service nor logger", fx.Options(Module(Options{Disabled: true}), needsSender), true},
		{"an enabled module needs the service and a logger", fx.Options(Module(Options{}), needsSender), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fx.ValidateApp(tc.app)
			if tc.valid {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}
