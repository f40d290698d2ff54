package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Demo data the development seed makes.
const (
	demoOrgSlug   = "demo-school"
	demoOrgName   = "Demo School"
	demoEmail     = "jane.demo@example.edu"
	demoGiven     = "Jane"
	demoFamily    = "Demo"
	demoPhone     = "+15555550100"
	seedTimeout   = 30 * time.Second
	seedBannerFmt = `
  Calimatic Auth development seed
  ───────────────────────────────
  Organization : %s (%s)
  Demo user    : %s
  Password     : %s
  Admin key    : %s
  Issuer       : %s
  Console      : %s/console

  Register a client:
    curl -s -X POST %s/api/v1/oidc/register \
      -H 'Content-Type: application/json' \
      -d '{"client_name":"My App","redirect_uris":["http://localhost:5173/auth/callback"],"grant_types":["authorization_code","refresh_token"],"scope":"openid profile email phone"}'

  Let that client provision users into the demo school:
    curl -s -X PUT %s/api/v1/admin/clients/CLIENT_ID/grants/%s \
      -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \
      -d '{"actions":["provision","read","update","suspend","deactivate","delete","reset_password"]}'

`
)

// Seeded is what the development seed made.
type Seeded struct {
	Organization domain.Organization
	User         domain.User
	Password     string
	AdminKey     string
}

type seedIn struct {
	fx.In
	Config config.Config
	Users  ports.UserStore
	Orgs   ports.OrganizationStore
	Dir    *directory.Service
	Clock  ports.Clock
	Random ports.Random
	Log    *slog.Logger
	Out    io.Writer `name:"banner" optional:"true"`
}

// runSeed seeds demo data when the configuration asks for it, and prints
// the credentials and a registration example for the developer.
func runSeed(in seedIn) error {
	if !in.Config.SeedEnabled() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), seedTimeout)
	defer cancel()
	s, err := Seed(ctx, in.Config.Dev, in.Users, in.Orgs, in.Clock, in.Random)
	if err != nil {
		return fmt.Errorf("dev seed: %w", err)
	}
	if s.AdminKey, err = seedAdminKey(ctx, in.Dir, in.Config.Dev.SeedAdminKey, in.Random); err != nil {
		return fmt.Errorf("dev seed: %w", err)
	}
	out := in.Out
	if out == nil {
		out = os.Stdout
	}
	// The credentials go to the developer's terminal, never to the log.
	fmt.Fprintf(out, seedBannerFmt, s.Organization.Name, s.Organization.ID, s.User.Email, s.Password, s.AdminKey,
		in.Config.Issuer, in.Config.Issuer, in.Config.Issuer, in.Config.Issuer, s.Organization.ID, s.AdminKey)
	in.Log.Info("dev seed ready", slog.String("organization_id", s.Organization.ID), slog.String("user_id", s.User.ID))
	return nil
}

// Seed makes the demo organization and user, or updates them when they
// exist, so running it again never duplicates anything. The demo user is
// a platform administrator and the demo school's owner, so that a
// developer signing in to the console sees every part of it.
func Seed(ctx context.Context, dev config.Dev, users ports.UserStore, orgs ports.OrganizationStore, clock ports.Clock, random ports.Random) (Seeded, error) {
	now := clock.Now()
	org, err := seedOrganization(ctx, orgs, random, now)
	if err != nil {
		return Seeded{}, err
	}
	email := domain.NormalizeEmail(dev.SeedEmail)
	if email == "" {
		email = demoEmail
	}
	if !domain.ValidEmail(email) {
		return Seeded{}, fmt.Errorf("dev.seed_email %q is not a valid email address", email)
	}
	password := dev.SeedPassword
	if password == "" {
		password = random.Token(12)
	}
	if len(password) < domain.MinPasswordLen {
		return Seeded{}, fmt.Errorf("dev.seed_password must have at least %d characters", domain.MinPasswordLen)
	}
	hash := domain.HashPassword(password, random.Bytes(domain.DefaultPasswordParams.SaltLen), domain.DefaultPasswordParams)
	user, err := seedUser(ctx, users, random, email, hash, org.ID, true, now)
	if err != nil {
		return Seeded{}, err
	}
	err = orgs.PutMembership(ctx, domain.Membership{
		OrganizationID: org.ID, UserID: user.ID, Role: domain.RoleOwner, Status: domain.MembershipActive, Primary: true, CreatedAt: now,
	})
	if err != nil {
		return Seeded{}, fmt.Errorf("seed membership: %w", err)
	}
	if err := seedLoadUsers(ctx, dev.SeedUsers, email, hash, org.ID, users, orgs, random, now); err != nil {
		return Seeded{}, err
	}
	return Seeded{Organization: org, User: user, Password: password}, nil
}

// LoadUserEmail is the email of the seed's load-test user i, at the seed
// email's domain; the load generator signs them in.
func LoadUserEmail(seedEmail string, i int) string {
	_, domainPart, _ := strings.Cut(seedEmail, "@")
	return fmt.Sprintf("loadtest-%05d@%s", i, domainPart)
}

// seedLoadUsers makes n members of the demo organization with the seed
// password's hash (one hash for all: they are for load tests), or updates
// them as seedUser does.
func seedLoadUsers(ctx context.Context, n int, seedEmail, hash, orgID string, users ports.UserStore, orgs ports.OrganizationStore, random ports.Random, now time.Time) error {
	for i := range n {
		u, err := seedUser(ctx, users, random, LoadUserEmail(seedEmail, i), hash, orgID, false, now)
		if err != nil {
			return err
		}
		u, err = users.UpdateUser(ctx, u.ID, func(u *domain.User) error {
			u.GivenName, u.FamilyName = "Load", fmt.Sprintf("Test %d", i)
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed load user: %w", err)
		}
		err = orgs.PutMembership(ctx, domain.Membership{
			OrganizationID: orgID, UserID: u.ID, Role: domain.RoleMember, Status: domain.MembershipActive, Primary: true, CreatedAt: now,
		})
		if err != nil {
			return fmt.Errorf("seed load user membership: %w", err)
		}
	}
	return nil
}

func seedOrganization(ctx context.Context, orgs ports.OrganizationStore, random ports.Random, now time.Time) (domain.Organization, error) {
	org, err := orgs.GetOrganizationBySlug(ctx, demoOrgSlug)
	if err == nil {
		return org, nil
	}
	if !errors.Is(err, domain.ErrNotFound) {
		return org, fmt.Errorf("seed organization: %w", err)
	}
	org = domain.Organization{ID: random.UUID(), Name: demoOrgName, Slug: demoOrgSlug, CreatedAt: now, UpdatedAt: now}
	err = orgs.CreateOrganization(ctx, org)
	if errors.Is(err, domain.ErrAlreadyExists) { // another instance seeded it first
		return orgs.GetOrganizationBySlug(ctx, demoOrgSlug)
	}
	if err != nil {
		return org, fmt.Errorf("seed organization: %w", err)
	}
	return org, nil
}

// seedUser makes the account of email, or sets an existing one back to what
// the seed says, the platform administrator role included (platformAdmin).
func seedUser(ctx context.Context, users ports.UserStore, random ports.Random, email, hash, homeOrgID string, platformAdmin bool, now time.Time) (domain.User, error) {
	apply := func(u *domain.User) error {
		u.Email, u.EmailVerified = email, true
		u.GivenName, u.FamilyName = demoGiven, demoFamily
		u.PhoneNumber, u.PhoneNumberVerified = demoPhone, true
		u.PasswordHash, u.Status, u.UpdatedAt = hash, domain.UserActive, now
		u.HomeOrganizationID, u.PlatformAdmin = homeOrgID, platformAdmin
		return nil
	}
	existing, err := users.GetUserByEmail(ctx, email)
	if err == nil {
		return users.UpdateUser(ctx, existing.ID, apply)
	}
	if !errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, fmt.Errorf("seed user: %w", err)
	}
	u := domain.User{ID: random.UUID(), CreatedAt: now}
	_ = apply(&u)
	if err := users.CreateUser(ctx, u); errors.Is(err, domain.ErrAlreadyExists) {
		existing, err := users.GetUserByEmail(ctx, email)
		if err != nil {
			return domain.User{}, fmt.Errorf("seed user: %w", err)
		}
		return users.UpdateUser(ctx, existing.ID, apply)
	} else if err != nil {
		return domain.User{}, fmt.Errorf("seed user: %w", err)
	}
	return u, nil
}

// seedAdminKey stores the development admin key: the configured one, or a
// new one, which the banner prints. Only its hash is kept.
func seedAdminKey(ctx context.Context, dir *directory.Service, key string, random ports.Random) (string, error) {
	if key == "" {
		key = domain.AdminKeyPrefix + random.Token(32)
	}
	if _, err := dir.PutAdminKey(ctx, key, "dev seed"); err != nil {
		return "", fmt.Errorf("seed admin key: %w", err)
	}
	return key, nil
}
