package memory_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

func TestClientStore(t *testing.T) {
	testsuite.RunClientStore(t, func(*testing.T) ports.ClientStore { return memory.NewClientStore() })
}

func TestUserStore(t *testing.T) {
	testsuite.RunUserStore(t, func(*testing.T) ports.UserStore { return memory.NewUserStore() })
}

func TestOrganizationStore(t *testing.T) {
	testsuite.RunOrganizationStore(t, func(*testing.T) ports.OrganizationStore { return memory.NewOrganizationStore() })
}

func TestGrantStore(t *testing.T) {
	testsuite.RunGrantStore(t, func(*testing.T) ports.GrantStore { return memory.NewGrantStore() })
}

func TestGrantStoreConcurrency(t *testing.T) {
	testsuite.RunGrantStoreConcurrency(t, func(*testing.T) ports.GrantStore { return memory.NewGrantStore() })
}

func TestSessionStore(t *testing.T) {
	testsuite.RunSessionStore(t, func(*testing.T) ports.SessionStore { return memory.NewSessionStore() })
}

func TestAuthRequestStore(t *testing.T) {
	testsuite.RunAuthRequestStore(t, func(*testing.T) ports.AuthRequestStore { return memory.NewAuthRequestStore() })
}

func TestDeviceGrantStore(t *testing.T) {
	testsuite.RunDeviceGrantStore(t, func(*testing.T) ports.DeviceGrantStore { return memory.NewDeviceGrantStore() })
}

func TestDeviceGrantStoreConcurrency(t *testing.T) {
	testsuite.RunDeviceGrantStoreConcurrency(t, func(*testing.T) ports.DeviceGrantStore { return memory.NewDeviceGrantStore() })
}

func TestRateLimiter(t *testing.T) {
	testsuite.RunRateLimiter(t, func(*testing.T) ports.RateLimiter { return memory.NewRateLimiter() })
}

func TestRateLimiterConcurrency(t *testing.T) {
	testsuite.RunRateLimiterConcurrency(t, func(*testing.T) ports.RateLimiter { return memory.NewRateLimiter() })
}

func TestReplayCache(t *testing.T) {
	testsuite.RunReplayCache(t, func(*testing.T) ports.ReplayCache { return memory.NewReplayCache() })
}

func TestReplayCacheConcurrency(t *testing.T) {
	testsuite.RunReplayCacheConcurrency(t, func(*testing.T) ports.ReplayCache { return memory.NewReplayCache() })
}

func TestEventLog(t *testing.T) {
	testsuite.RunEventPublisher(t, func(*testing.T) (ports.EventPublisher, func() []domain.Event) {
		l := memory.NewEventLog()
		return l, l.Events
	})
}

func TestModuleSharesOneGrantStoreAcrossItsPorts(t *testing.T) {
	var (
		grants      ports.GrantStore
		codes       ports.AuthCodeStore
		refresh     ports.RefreshTokenStore
		revocations ports.RevocationStore
		consents    ports.ConsentStore
		concrete    *memory.GrantStore
	)
	app := fx.New(memory.Module, fx.NopLogger,
		fx.Populate(&grants, &codes, &refresh, &revocations, &consents, &concrete))
	require.NoError(t, app.Err())
	for _, p := range []any{grants, codes, refresh, revocations, consents} {
		assert.Same(t, concrete, p)
	}
}

func TestModuleProvidesEveryPort(t *testing.T) {
	var (
		clients  ports.ClientStore
		users    ports.UserStore
		orgs     ports.OrganizationStore
		sessions ports.SessionStore
		requests ports.AuthRequestStore
		devices  ports.DeviceGrantStore
		keys     ports.KeyStore
		limiter  ports.RateLimiter
		replays  ports.ReplayCache
		events   ports.EventPublisher
		log      *memory.EventLog
		scim     ports.SCIMStore
		idps     ports.IdentityProviderStore
		links    ports.LinkedIdentityStore
	)
	app := fx.New(memory.Module, fx.NopLogger,
		fx.Populate(&clients, &users, &orgs, &sessions, &requests, &devices, &keys, &limiter, &replays, &events, &log, &scim,
			&idps, &links))
	require.NoError(t, app.Err())
	assert.Same(t, log, events, "the publisher is the log tests read")
}

func directoryStores(*testing.T) testsuite.DirectoryStores {
	users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
	d := memory.NewDirectory(users, orgs)
	return testsuite.DirectoryStores{
		Users: users, Orgs: orgs, Licenses: d, Directory: d,
		Grants: memory.NewClientGrantStore(orgs), Roles: memory.NewRoleStore(orgs),
	}
}

func TestDirectoryStore(t *testing.T) { testsuite.RunDirectoryStore(t, directoryStores) }
func TestDirectoryStoreConcurrency(t *testing.T) {
	testsuite.RunDirectoryStoreConcurrency(t, directoryStores)
}
func TestLicenseStore(t *testing.T)     { testsuite.RunLicenseStore(t, directoryStores) }
func TestClientGrantStore(t *testing.T) { testsuite.RunClientGrantStore(t, directoryStores) }
func TestRoleStore(t *testing.T)        { testsuite.RunRoleStore(t, directoryStores) }

func TestSCIMStore(t *testing.T) {
	testsuite.RunSCIMStore(t, func(*testing.T) testsuite.SCIMStores {
		users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
		return testsuite.SCIMStores{Users: users, Orgs: orgs, Directory: memory.NewDirectory(users, orgs), SCIM: memory.NewSCIMStore(users, orgs)}
	})
}

func TestAdminKeyStore(t *testing.T) {
	testsuite.RunAdminKeyStore(t, func(*testing.T) ports.AdminKeyStore { return memory.NewAdminKeyStore() })
}

func TestActionTokenStore(t *testing.T) {
	testsuite.RunActionTokenStore(t, func(*testing.T) ports.ActionTokenStore { return memory.NewActionTokenStore() })
}

func TestActionTokenStoreConcurrency(t *testing.T) {
	testsuite.RunActionTokenStoreConcurrency(t, func(*testing.T) ports.ActionTokenStore { return memory.NewActionTokenStore() })
}

func webhookStores(*testing.T) testsuite.WebhookStores {
	log := memory.NewEventLog()
	w := memory.NewWebhooks(log)
	return testsuite.WebhookStores{Events: log, Subscriptions: w, Deliveries: w}
}

func TestSubscriptionStore(t *testing.T) { testsuite.RunSubscriptionStore(t, webhookStores) }
func TestDeliveryStore(t *testing.T)     { testsuite.RunDeliveryStore(t, webhookStores) }
func TestDeliveryStoreConcurrency(t *testing.T) {
	testsuite.RunDeliveryStoreConcurrency(t, webhookStores)
}

func domainStores(*testing.T) testsuite.DomainStores {
	orgs := memory.NewOrganizationStore()
	return testsuite.DomainStores{Orgs: orgs, Domains: memory.NewDomainStore(orgs)}
}

func TestDomainStore(t *testing.T) { testsuite.RunDomainStore(t, domainStores) }

func TestDomainStoreConcurrency(t *testing.T) { testsuite.RunDomainStoreConcurrency(t, domainStores) }

func TestGroupStore(t *testing.T) {
	testsuite.RunGroupStore(t, func(*testing.T) testsuite.GroupStores {
		users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
		return testsuite.GroupStores{Users: users, Orgs: orgs, Directory: memory.NewDirectory(users, orgs), Groups: orgs}
	})
}

func TestUnitOfWork(t *testing.T) {
	testsuite.RunUnitOfWork(t, func(*testing.T) testsuite.UnitStores {
		users, orgs, events := memory.NewUserStore(), memory.NewOrganizationStore(), memory.NewEventLog()
		return testsuite.UnitStores{
			Units: memory.NewUnits(), Users: users, Orgs: orgs, Grants: memory.NewClientGrantStore(orgs),
			Events: events, Stored: events.Events,
		}
	})
}

// factorStores are a memory factor store and a user store: memory keeps
// factors of any user id, so the users the suite creates are never read.
func factorStores(*testing.T) testsuite.FactorStores {
	return testsuite.FactorStores{Factors: memory.NewFactorStore(), Users: memory.NewUserStore()}
}

func TestFactorStore(t *testing.T) { testsuite.RunFactorStore(t, factorStores) }

func TestFactorStoreConcurrency(t *testing.T) { testsuite.RunFactorStoreConcurrency(t, factorStores) }

// The organizations the identity provider suite creates are never read:
// memory keeps providers of any organization id.
func TestIdentityProviderStore(t *testing.T) {
	testsuite.RunIdentityProviderStore(t, func(*testing.T) testsuite.IdentityProviderStores {
		return testsuite.IdentityProviderStores{Orgs: memory.NewOrganizationStore(), Providers: memory.NewIdentityProviderStore()}
	})
}

// linkedIdentityStores are a memory link store and a user store: memory
// links any user id, so the users the suite creates are never read.
func linkedIdentityStores(*testing.T) testsuite.LinkedIdentityStores {
	return testsuite.LinkedIdentityStores{Users: memory.NewUserStore(), Links: memory.NewLinkedIdentityStore()}
}

func TestLinkedIdentityStore(t *testing.T) { testsuite.RunLinkedIdentityStore(t, linkedIdentityStores) }

func TestLinkedIdentityStoreConcurrency(t *testing.T) {
	testsuite.RunLinkedIdentityStoreConcurrency(t, linkedIdentityStores)
}
