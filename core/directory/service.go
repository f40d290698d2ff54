package directory

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Config holds the directory's settings.
type Config struct {
	// BaseURL is where the account pages live (the issuer): emailed links
	// point there.
	BaseURL   string
	InviteTTL time.Duration
	ResetTTL  time.Duration
	Password  domain.PasswordParams
	// MaxBatch bounds a bulk provisioning request.
	MaxBatch int
}

// Deps are the ports the directory drives.
type Deps struct {
	Clients      ports.ClientStore
	Users        ports.UserStore
	Orgs         ports.OrganizationStore
	Directory    ports.DirectoryStore
	Licenses     ports.LicenseStore
	Grants       ports.ClientGrantStore
	Roles        ports.RoleStore
	Groups       ports.GroupStore
	Domains      ports.DomainStore
	AdminKeys    ports.AdminKeyStore
	ActionTokens ports.ActionTokenStore
	Sessions     ports.SessionStore
	Refresh      ports.RefreshTokenStore
	Events       ports.EventPublisher
	Mailer       ports.Mailer
	Clock        ports.Clock
	Random       ports.Random
}

// Service runs the directory's use cases.
type Service struct {
	cfg  Config
	deps Deps
}

// Defaults for the zero values of Config.
const (
	DefaultInviteTTL = 7 * 24 * time.Hour
	DefaultResetTTL  = time.Hour
	DefaultMaxBatch  = 1000
)

// New returns a directory service.
func New(cfg Config, deps Deps) *Service {
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = DefaultInviteTTL
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = DefaultResetTTL
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Password == (domain.PasswordParams{}) {
		cfg.Password = domain.DefaultPasswordParams
	}
	return &Service{cfg: cfg, deps: deps}
}

// MaxBatch is the largest bulk provisioning request.
func (s *Service) MaxBatch() int { return s.cfg.MaxBatch }

func (s *Service) now() time.Time { return s.deps.Clock.Now() }

// publish stores events for delivery. It runs after the change it reports
// has been stored; see docs for the at-least-once promise.
func (s *Service) publish(ctx context.Context, events ...domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := s.deps.Events.Publish(ctx, events...); err != nil {
		return storeErr("publish events", err)
	}
	return nil
}

// endSignIns ends a user's sessions and revokes their refresh tokens, for a
// password reset or a status that forbids signing in.
func (s *Service) endSignIns(ctx context.Context, userID string, now time.Time) error {
	if err := s.deps.Sessions.DeleteUserSessions(ctx, userID); err != nil {
		return storeErr("delete sessions", err)
	}
	if err := s.deps.Refresh.RevokeUserRefreshFamilies(ctx, userID, now); err != nil {
		return storeErr("revoke refresh tokens", err)
	}
	return nil
}
