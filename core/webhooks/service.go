package webhooks

import (
	"time"

	"github.com/calimatic/calimatic-auth/ports"
)

// Config holds the webhook settings.
type Config struct {
	Schedule Schedule
	// DisableAfter disables a subscription after this many failed attempts
	// in a row (0: never).
	DisableAfter int
	// RequireHTTPS refuses subscription URLs that are not https.
	RequireHTTPS bool
	// Lease is how long a claimed delivery is reserved for its instance; it
	// must outlast the sender's timeout.
	Lease time.Duration
	// Batch is how many events or deliveries one step takes.
	Batch int
	// Parallel is how many posts one step makes at once.
	Parallel int
}

// Defaults for the zero values of Config.
const (
	DefaultDisableAfter = 50
	DefaultLease        = time.Minute
	DefaultBatch        = 100
	DefaultParallel     = 16
)

// Deps are the ports webhooks drive.
type Deps struct {
	Clients       ports.ClientStore
	Subscriptions ports.SubscriptionStore
	Deliveries    ports.DeliveryStore
	Grants        ports.ClientGrantStore
	Sender        ports.WebhookSender
	// LogoutTokens signs back-channel logout tokens; without it they fail.
	LogoutTokens LogoutTokenSigner
	Clock        ports.Clock
	Random       ports.Random
}

// Service runs the webhook use cases.
type Service struct {
	cfg  Config
	deps Deps
}

// New returns a webhook service.
func New(cfg Config, deps Deps) *Service {
	if len(cfg.Schedule.Delays) == 0 {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	return &Service{cfg: cfg, deps: deps}
}

func (s *Service) now() time.Time { return s.deps.Clock.Now() }
