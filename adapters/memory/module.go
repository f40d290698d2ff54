package memory

import (
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/ports"
)

// Module provides every memory store as its port, plus the rate limiter, the
// replay cache and the event log. One GrantStore backs the grant port and
// each of its four parts, so a code redeemed through one is seen through the
// others.
var Module = fx.Module("memory",
	fx.Provide(
		fx.Annotate(NewClientStore, fx.As(new(ports.ClientStore))),
		NewUserStore,
		func(s *UserStore) ports.UserStore { return s },
		NewOrganizationStore,
		func(s *OrganizationStore) ports.OrganizationStore { return s },
		func(s *OrganizationStore) ports.GroupStore { return s },
		NewDirectory,
		func(d *Directory) ports.DirectoryStore { return d },
		func(d *Directory) ports.LicenseStore { return d },
		fx.Annotate(NewSCIMStore, fx.As(new(ports.SCIMStore))),
		fx.Annotate(NewDomainStore, fx.As(new(ports.DomainStore))),
		fx.Annotate(NewClientGrantStore, fx.As(new(ports.ClientGrantStore))),
		fx.Annotate(NewRoleStore, fx.As(new(ports.RoleStore))),
		fx.Annotate(NewAdminKeyStore, fx.As(new(ports.AdminKeyStore))),
		fx.Annotate(NewActionTokenStore, fx.As(new(ports.ActionTokenStore))),
		fx.Annotate(NewSessionStore, fx.As(new(ports.SessionStore))),
		fx.Annotate(NewAuthRequestStore, fx.As(new(ports.AuthRequestStore))),
		fx.Annotate(NewDeviceGrantStore, fx.As(new(ports.DeviceGrantStore))),
		fx.Annotate(NewKeyStore, fx.As(new(ports.KeyStore))),
		fx.Annotate(NewRateLimiter, fx.As(new(ports.RateLimiter))),
		fx.Annotate(NewReplayCache, fx.As(new(ports.ReplayCache))),
		fx.Annotate(NewFactorStore, fx.As(new(ports.FactorStore))),
		fx.Annotate(NewIdentityProviderStore, fx.As(new(ports.IdentityProviderStore))),
		fx.Annotate(NewLinkedIdentityStore, fx.As(new(ports.LinkedIdentityStore))),
		NewGrantStore,
		func(g *GrantStore) ports.GrantStore { return g },
		func(g *GrantStore) ports.AuthCodeStore { return g },
		func(g *GrantStore) ports.RefreshTokenStore { return g },
		func(g *GrantStore) ports.RevocationStore { return g },
		func(g *GrantStore) ports.ConsentStore { return g },
		NewEventLog,
		func(l *EventLog) ports.EventPublisher { return l },
		func(l *EventLog) ports.EventLog { return l },
		fx.Annotate(NewUnits, fx.As(new(ports.UnitOfWork))),
		NewWebhooks,
		func(w *Webhooks) ports.SubscriptionStore { return w },
		func(w *Webhooks) ports.DeliveryStore { return w },
	),
)

// The stores implement their ports; these lines make a drift a compile error
// here rather than a start-up error in fx.
var (
	_ ports.ClientStore           = (*ClientStore)(nil)
	_ ports.UserStore             = (*UserStore)(nil)
	_ ports.FactorStore           = (*FactorStore)(nil)
	_ ports.IdentityProviderStore = (*IdentityProviderStore)(nil)
	_ ports.LinkedIdentityStore   = (*LinkedIdentityStore)(nil)
	_ ports.OrganizationStore     = (*OrganizationStore)(nil)
	_ ports.GroupStore            = (*OrganizationStore)(nil)
	_ ports.DirectoryStore        = (*Directory)(nil)
	_ ports.LicenseStore          = (*Directory)(nil)
	_ ports.SCIMStore             = (*SCIMStore)(nil)
	_ ports.ClientGrantStore      = (*ClientGrantStore)(nil)
	_ ports.RoleStore             = (*RoleStore)(nil)
	_ ports.AdminKeyStore         = (*AdminKeyStore)(nil)
	_ ports.ActionTokenStore      = (*ActionTokenStore)(nil)
	_ ports.GrantStore            = (*GrantStore)(nil)
	_ ports.SessionStore          = (*SessionStore)(nil)
	_ ports.AuthRequestStore      = (*AuthRequestStore)(nil)
	_ ports.DeviceGrantStore      = (*DeviceGrantStore)(nil)
	_ ports.RateLimiter           = (*RateLimiter)(nil)
	_ ports.ReplayCache           = (*ReplayCache)(nil)
	_ ports.EventPublisher        = (*EventLog)(nil)
	_ ports.EventLog              = (*EventLog)(nil)
	_ ports.UnitOfWork            = (*Units)(nil)
	_ ports.SubscriptionStore     = (*Webhooks)(nil)
	_ ports.DeliveryStore         = (*Webhooks)(nil)
)
