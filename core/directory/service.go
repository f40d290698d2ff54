package directory

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
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
	Clients   ports.ClientStore
	Users     ports.UserStore
	Orgs      ports.OrganizationStore
	Directory ports.DirectoryStore
	Licenses  ports.LicenseStore
	Grants    ports.ClientGrantStore
	Roles     ports.RoleStore
	Groups    ports.GroupStore
	Domains   ports.DomainStore
	// TXT looks up the TXT records that verify a domain by DNS; nil
	// leaves domains to administrators' word.
	TXT          ports.TXTResolver
	AdminKeys    ports.AdminKeyStore
	ActionTokens ports.ActionTokenStore
	Sessions     ports.SessionStore
	Refresh      ports.RefreshTokenStore
	// Factors are deleted with the account they guard.
	Factors ports.FactorStore
	// Links are the upstream identities linked to accounts
	// (federation): made with an account provisioned just in time,
	// deleted with the account.
	Links  ports.LinkedIdentityStore
	Events ports.EventPublisher
	// Units makes each change and its events one unit of work.
	Units  ports.UnitOfWork
	Mailer ports.Mailer
	Clock  ports.Clock
	Random ports.Random
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

// atomically runs fn as one unit of work (ports.UnitOfWork): the changes
// it makes and the events it publishes are stored together or not at all.
// fn may run again after a lost conflict, so it only calls stores; mail
// goes out after the unit.
func (s *Service) atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.deps.Units.Atomically(ctx, func(ctx context.Context) error {
		return fn(context.WithValue(ctx, inUnit{}, true))
	})
}

// inUnit marks a context inside atomically, which publish requires.
type inUnit struct{}

// Atomically runs fn as one unit of work that the directory use cases fn
// calls with its context join: everything they read, decide, change and
// publish is one unit, stored whole or not at all. A caller whose request
// makes several changes, or decides what to change from what it reads
// (SCIM's PATCH), runs it so: it never stores half of itself, nor acts on
// a change that is not stored yet (MongoDB's units can be read before they
// end). The mail the use cases send goes out once the unit is stored; one
// that fails then is not reported to the caller. fn may run more than
// once, so it only calls the directory and stores.
func (s *Service) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(mailsKey{}) != nil {
		return s.deps.Units.Atomically(ctx, fn)
	}
	var later *mails
	err := s.deps.Units.Atomically(ctx, func(ctx context.Context) error {
		later = &mails{}
		return fn(context.WithValue(context.WithValue(ctx, inUnit{}, true), mailsKey{}, later))
	})
	if err != nil {
		return err
	}
	for _, m := range later.list {
		_ = s.send(ctx, m)
	}
	return nil
}

// mails are the mails of use cases run inside Atomically, to send once
// its unit is stored.
type mails struct {
	mu   sync.Mutex
	list []outgoing
}

type mailsKey struct{}

// errPublishOutsideUnit is a use case that forgot its unit of work: its
// events could be stored without its change, or lost after it.
var errPublishOutsideUnit = errors.New("directory: events published outside a unit of work")

// asCaller runs fn in a unit of work for a client caller whose grants are
// read again inside the unit, where they hold until it ends: a grant
// withdrawn since the caller authenticated refuses the change, and one
// withdrawn during it waits until it is stored. fn gets the grants as they
// are now. An organization's own directory (OrgCaller) has no client
// grants to read.
func (s *Service) asCaller(ctx context.Context, c *access.Caller, fn func(ctx context.Context, c *access.Caller) error) error {
	return s.atomically(ctx, func(ctx context.Context) error {
		if c.Client.ID == "" {
			return fn(ctx, c)
		}
		grants, err := s.deps.Grants.ListClientGrants(ctx, c.Client.ID)
		if err != nil {
			return fault.Store("list client grants", err)
		}
		// Read after the grants, under their lock: a client deleted or
		// disabled since it authenticated acts no more.
		client, err := s.deps.Clients.GetClient(ctx, c.Client.ID)
		if errors.Is(err, domain.ErrNotFound) || err == nil && !client.Active() {
			return errClientAuth
		}
		if err != nil {
			return fault.Store("get client", err)
		}
		return fn(ctx, &access.Caller{Client: client, Grants: grants})
	})
}

// unitAs is asCaller for a use case that returns a value: the value fn
// returned, or the zero value with the unit's error.
func unitAs[T any](s *Service, ctx context.Context, c *access.Caller, fn func(ctx context.Context, c *access.Caller) (T, error)) (T, error) {
	var out T
	err := s.asCaller(ctx, c, func(ctx context.Context, c *access.Caller) (err error) {
		out, err = fn(ctx, c)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// unit is atomically for a use case that returns a value, as unitAs.
func unit[T any](s *Service, ctx context.Context, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := s.atomically(ctx, func(ctx context.Context) (err error) {
		out, err = fn(ctx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// publish stores events for delivery, in the unit of work of the change
// they report (see atomically).
func (s *Service) publish(ctx context.Context, events ...domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	if ctx.Value(inUnit{}) == nil {
		return errPublishOutsideUnit
	}
	withActor(ctx, events)
	if err := s.deps.Events.Publish(ctx, events...); err != nil {
		return fault.Store("publish events", err)
	}
	return nil
}

// endSignIns ends a user's sessions and revokes their refresh tokens, for a
// password reset or a status that forbids signing in. Each ended session
// that clients registered for back-channel logout got tokens in is
// reported by an event in the same unit, so those clients are told
// (OIDC Back-Channel Logout 1.0 §2.3, §2.5) even if the instance dies next.
func (s *Service) endSignIns(ctx context.Context, userID string, now time.Time) error {
	sessions, err := s.deps.Sessions.DeleteUserSessions(ctx, userID)
	if err != nil {
		return fault.Store("delete sessions", err)
	}
	var logouts []domain.Event
	for _, sess := range sessions {
		if e, ok := domain.LogoutEvent(s.deps.Random.UUID(), now, sess); ok {
			logouts = append(logouts, e)
		}
	}
	if err := s.publish(ctx, logouts...); err != nil {
		return err
	}
	if err := s.deps.Refresh.RevokeUserRefreshFamilies(ctx, userID, now); err != nil {
		return fault.Store("revoke refresh tokens", err)
	}
	return nil
}
