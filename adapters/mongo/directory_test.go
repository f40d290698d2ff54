package mongo_test

import (
	"testing"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// directoryStores builds every directory store on one fresh database, as the
// directory suites need: their contracts refer to each other.
func directoryStores(t *testing.T) testsuite.DirectoryStores {
	db := testDB(t)
	dir := mongoadapter.NewDirectoryStore(db)
	return testsuite.DirectoryStores{
		Users:     mongoadapter.NewUserStore(db),
		Orgs:      mongoadapter.NewOrganizationStore(db),
		Licenses:  dir,
		Grants:    mongoadapter.NewClientGrantStore(db),
		Roles:     mongoadapter.NewRoleStore(db),
		Directory: dir,
	}
}

func TestClientStore(t *testing.T) {
	testsuite.RunClientStore(t, func(t *testing.T) ports.ClientStore { return mongoadapter.NewClientStore(testDB(t)) })
}

func TestUserStore(t *testing.T) {
	testsuite.RunUserStore(t, func(t *testing.T) ports.UserStore { return mongoadapter.NewUserStore(testDB(t)) })
}

func TestOrganizationStore(t *testing.T) {
	testsuite.RunOrganizationStore(t, func(t *testing.T) ports.OrganizationStore {
		return mongoadapter.NewOrganizationStore(testDB(t))
	})
}

func TestDirectoryStore(t *testing.T) { testsuite.RunDirectoryStore(t, directoryStores) }

func TestDirectoryStoreConcurrency(t *testing.T) {
	testsuite.RunDirectoryStoreConcurrency(t, directoryStores)
}

func TestLicenseStore(t *testing.T) { testsuite.RunLicenseStore(t, directoryStores) }

func TestClientGrantStore(t *testing.T) { testsuite.RunClientGrantStore(t, directoryStores) }

func TestRoleStore(t *testing.T) { testsuite.RunRoleStore(t, directoryStores) }

func TestAdminKeyStore(t *testing.T) {
	testsuite.RunAdminKeyStore(t, func(t *testing.T) ports.AdminKeyStore { return mongoadapter.NewAdminKeyStore(testDB(t)) })
}

func TestActionTokenStore(t *testing.T) {
	testsuite.RunActionTokenStore(t, func(t *testing.T) ports.ActionTokenStore {
		return mongoadapter.NewActionTokenStore(testDB(t))
	})
}

func TestActionTokenStoreConcurrency(t *testing.T) {
	testsuite.RunActionTokenStoreConcurrency(t, func(t *testing.T) ports.ActionTokenStore {
		return mongoadapter.NewActionTokenStore(testDB(t))
	})
}

// domainStores are the organization and domain stores on one fresh database.
func domainStores(t *testing.T) testsuite.DomainStores {
	db := testDB(t)
	return testsuite.DomainStores{Orgs: mongoadapter.NewOrganizationStore(db), Domains: mongoadapter.NewDomainStore(db)}
}

func TestDomainStore(t *testing.T) { testsuite.RunDomainStore(t, domainStores) }

func TestDomainStoreConcurrency(t *testing.T) { testsuite.RunDomainStoreConcurrency(t, domainStores) }
