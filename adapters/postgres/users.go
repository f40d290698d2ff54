package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.UserStore = (*UserStore)(nil)

// UserStore is the PostgreSQL ports.UserStore. Email uniqueness is a unique
// index on the normalised email (email_key), so the check and the insert are
// one atomic step.
type UserStore struct{ pool db }

// NewUserStore returns a UserStore on pool.
func NewUserStore(pool *pgxpool.Pool) *UserStore { return &UserStore{pool: db{pool}} }

// userColumns are every column of users, profiles (a jsonb document, see
// profiles.go), the home organization (NULL for none), the platform flags
// and the names' search keys (lower-cased by Go, as the member search's
// terms are; migration 00033) included, so that every statement that
// writes or reads a user carries them.
const userColumns = `id, email, email_key, email_verified, given_name, family_name, picture,
	phone_number, phone_number_verified, password_hash, status, created_at, updated_at, not_before,
	profiles, home_organization_id, platform_admin, platform_locked, given_name_key, family_name_key`

// userPlaceholders are the VALUES of userColumns, in order.
const userPlaceholders = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20`

// userArgs returns the values of userColumns, or an error if the profiles
// hold text no jsonb document can (see encodeProfiles).
func userArgs(u *domain.User) ([]any, error) {
	profiles, err := encodeProfiles(u.Profiles)
	if err != nil {
		return nil, err
	}
	return []any{u.ID, u.Email, domain.NormalizeEmail(u.Email), u.EmailVerified, u.GivenName, u.FamilyName,
		u.Picture, u.PhoneNumber, u.PhoneNumberVerified, u.PasswordHash, string(u.Status),
		ts(u.CreatedAt), ts(u.UpdatedAt), ts(u.NotBefore), profiles, optText(u.HomeOrganizationID), u.PlatformAdmin, u.PlatformLocked,
		strings.ToLower(u.GivenName), strings.ToLower(u.FamilyName)}, nil
}

func scanUser(row pgx.Row) (domain.User, error) {
	var u domain.User
	var emailKey, status, givenKey, familyKey string
	var created, updated, notBefore pgtype.Timestamptz
	var profiles []byte
	var home pgtype.Text
	err := row.Scan(&u.ID, &u.Email, &emailKey, &u.EmailVerified, &u.GivenName, &u.FamilyName,
		&u.Picture, &u.PhoneNumber, &u.PhoneNumberVerified, &u.PasswordHash, &status, &created, &updated,
		&notBefore, &profiles, &home, &u.PlatformAdmin, &u.PlatformLocked, &givenKey, &familyKey)
	if err != nil {
		return domain.User{}, err
	}
	u.Status, u.HomeOrganizationID = domain.UserStatus(status), home.String
	u.CreatedAt, u.UpdatedAt, u.NotBefore = fromTS(created), fromTS(updated), fromTS(notBefore)
	if u.Profiles, err = decodeProfiles(profiles); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// CreateUser stores a new user. ErrAlreadyExists if the id or the email is taken.
func (s *UserStore) CreateUser(ctx context.Context, u domain.User) error {
	args, err := userArgs(&u)
	if err != nil {
		return translate("create user", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (`+userPlaceholders+`)`, args...)
	return translate("create user", err)
}

// GetUser returns a user by id. ErrNotFound if there is none.
func (s *UserStore) GetUser(ctx context.Context, id string) (domain.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return domain.User{}, translate("get user", err)
	}
	return u, nil
}

// GetUserByEmail returns the user with this email, compared case-insensitively.
func (s *UserStore) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	key := domain.NormalizeEmail(email)
	if key == "" {
		return domain.User{}, translate("get user by email", pgx.ErrNoRows)
	}
	// email_key <> '' restates the unique index's predicate, so that even a
	// generic (cached) plan, which cannot see $1, may use the index.
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users
		WHERE email_key = $1 AND email_key <> ''`, key))
	if err != nil {
		return domain.User{}, translate("get user by email", err)
	}
	return u, nil
}

// UpdateUser locks the row, applies fn and writes the result in one
// transaction. A change to a taken email fails on the unique index.
func (s *UserStore) UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	u, err := lockedUpdate(ctx, s.pool, "update user",
		func(tx pgx.Tx) (domain.User, error) {
			return scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		}, fn,
		func(tx pgx.Tx, u *domain.User) error {
			u.ID = id // the id is the key; fn cannot move the record
			args, err := userArgs(u)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE users SET (`+userColumns+`) = (`+userPlaceholders+`) WHERE id = $1`,
				args...)
			return err
		})
	// The result is what fn left, which may share fn's profiles map and
	// slices: return a copy that shares nothing, as read back.
	u.Profiles = domain.CloneProfiles(u.Profiles)
	return u, err
}
