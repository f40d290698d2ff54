package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.IdentityProviderStore = (*IdentityProviderStore)(nil)
	_ ports.LinkedIdentityStore   = (*LinkedIdentityStore)(nil)
)

// ErrClientSecretDecryption is returned (wrapped) when an identity
// provider's stored client secret does not open under the key-encryption
// key.
var ErrClientSecretDecryption = errors.New("identity provider client secret does not decrypt: wrong key_encryption_key or corrupted record")

// IdentityProviderStore is the PostgreSQL ports.IdentityProviderStore: rows
// of identity_providers (migration 00023), which reference their
// organization ON DELETE CASCADE, so that a provider of a missing
// organization cannot be created (ErrNotFound).
//
// The client secret is sealed at rest (see secretBox), bound to the
// provider's id, so that a sealed secret copied into another provider's row
// does not open. The rest is stored in clear.
type IdentityProviderStore struct {
	pool db
	box  secretBox
}

// NewIdentityProviderStore returns an IdentityProviderStore on pool that
// seals client secrets under keyEncryptionKey (KeyEncryptionKeySize bytes,
// the key that seals signing keys). As for TOTP secrets, there is no
// unsealed mode.
func NewIdentityProviderStore(pool *pgxpool.Pool, keyEncryptionKey []byte) (*IdentityProviderStore, error) {
	box, err := newSecretBox(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &IdentityProviderStore{pool: db{pool}, box: box}, nil
}

const providerColumns = `id, organization_id, name, issuer, client_id, client_secret, scopes, domains,
	jit_provisioning, link_existing, created_at, updated_at`

// providerArgs returns the values of providerColumns for p, its secret
// sealed anew (a fresh nonce). A nil Scopes is NULL and an empty one '{}',
// so the default and "none" stay apart.
func (s *IdentityProviderStore) providerArgs(p *domain.IdentityProvider) ([]any, error) {
	sealed, err := s.box.seal(purposeClientSecret, p.ID, []byte(p.ClientSecret))
	if err != nil {
		return nil, err
	}
	return []any{p.ID, p.OrganizationID, p.Name, p.Issuer, p.ClientID, sealed, p.Scopes, p.Domains,
		p.JITProvisioning, p.LinkExisting, ts(p.CreatedAt), ts(p.UpdatedAt)}, nil
}

// scan reads one row of providerColumns and opens its secret; a secret not
// sealed for this provider under this key fails with
// ErrClientSecretDecryption.
func (s *IdentityProviderStore) scan(row pgx.Row) (domain.IdentityProvider, error) {
	var (
		p                domain.IdentityProvider
		sealed           []byte
		created, updated pgtype.Timestamptz
	)
	if err := row.Scan(&p.ID, &p.OrganizationID, &p.Name, &p.Issuer, &p.ClientID, &sealed, &p.Scopes, &p.Domains,
		&p.JITProvisioning, &p.LinkExisting, &created, &updated); err != nil {
		return domain.IdentityProvider{}, err
	}
	secret, err := s.box.open(purposeClientSecret, p.ID, sealed, ErrClientSecretDecryption)
	if err != nil {
		return domain.IdentityProvider{}, err
	}
	p.ClientSecret, p.CreatedAt, p.UpdatedAt = string(secret), fromTS(created), fromTS(updated)
	return p, nil
}

// CreateIdentityProvider inserts a provider. ErrAlreadyExists if its id is
// taken, ErrNotFound if its organization does not exist. Inside a unit the
// insert runs in a savepoint, so the unit may go on from either.
func (s *IdentityProviderStore) CreateIdentityProvider(ctx context.Context, p domain.IdentityProvider) error {
	const op = "create identity provider"
	args, err := s.providerArgs(&p)
	if err != nil {
		return translate(op, err)
	}
	_, err = s.pool.ExecGuarded(ctx, `INSERT INTO identity_providers (`+providerColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, args...)
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: %s: no organization %q: %w", op, p.OrganizationID, domain.ErrNotFound)
	}
	return translate(op, err)
}

// GetIdentityProvider returns a provider by id. ErrNotFound if none.
func (s *IdentityProviderStore) GetIdentityProvider(ctx context.Context, id string) (domain.IdentityProvider, error) {
	p, err := s.scan(s.pool.QueryRow(ctx, `SELECT `+providerColumns+` FROM identity_providers WHERE id = $1`, id))
	if err != nil {
		return domain.IdentityProvider{}, translate("get identity provider", err)
	}
	return p, nil
}

// ListIdentityProviders returns an organization's providers by CreatedAt,
// then id, read in order from identity_providers_organization. One whose
// secret does not open fails the list.
func (s *IdentityProviderStore) ListIdentityProviders(ctx context.Context, organizationID string) ([]domain.IdentityProvider, error) {
	const op = "list identity providers"
	rows, err := s.pool.Query(ctx, `SELECT `+providerColumns+` FROM identity_providers
		WHERE organization_id = $1 ORDER BY created_at NULLS FIRST, id`, organizationID)
	if err != nil {
		return nil, translate(op, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.IdentityProvider, error) { return s.scan(row) })
	if badText(err) {
		return []domain.IdentityProvider{}, nil // no organization id holds such text
	}
	if err != nil {
		return nil, translate(op, err)
	}
	if out == nil {
		out = []domain.IdentityProvider{}
	}
	return out, nil
}

// HasIdentityProviders reports whether any organization has a provider
// (the sign-in page then asks for the email first). The port gains this
// method on main (ports.IdentityProviderStore); the scan stops at the first
// row.
func (s *IdentityProviderStore) HasIdentityProviders(ctx context.Context) (bool, error) {
	var exists bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity_providers)`).Scan(&exists)
	if err != nil {
		return false, translate("has identity providers", err)
	}
	return exists, nil
}

// UpdateIdentityProvider locks the provider's row (FOR UPDATE), applies fn
// and writes the result in one transaction, or in a savepoint of the unit
// ctx carries, so concurrent updates queue. The id is the key: fn cannot
// move the provider, nor so unbind its sealed secret.
func (s *IdentityProviderStore) UpdateIdentityProvider(ctx context.Context, id string, fn func(*domain.IdentityProvider) error) (domain.IdentityProvider, error) {
	p, err := lockedUpdate(ctx, s.pool, "update identity provider",
		func(tx pgx.Tx) (domain.IdentityProvider, error) {
			return s.scan(tx.QueryRow(ctx, `SELECT `+providerColumns+` FROM identity_providers
				WHERE id = $1 FOR UPDATE`, id))
		}, fn,
		func(tx pgx.Tx, p *domain.IdentityProvider) error {
			p.ID = id
			args, err := s.providerArgs(p)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE identity_providers SET (`+providerColumns+`) =
				($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) WHERE id = $1`, args...)
			return err
		})
	if err != nil {
		return domain.IdentityProvider{}, err
	}
	// What fn left may share the caller's slices: return a copy, as read
	// back.
	p.Scopes, p.Domains = slices.Clone(p.Scopes), slices.Clone(p.Domains)
	return p, nil
}

// DeleteIdentityProvider deletes a provider's row. ErrNotFound if none.
// The identities linked through it keep their links.
func (s *IdentityProviderStore) DeleteIdentityProvider(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM identity_providers WHERE id = $1`, id)
	if err != nil {
		return translate("delete identity provider", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete identity provider", pgx.ErrNoRows)
	}
	return nil
}

// LinkedIdentityStore is the PostgreSQL ports.LinkedIdentityStore: rows of
// linked_identities (migration 00023), keyed by (issuer, subject), so that
// of racing links of one identity the primary key lets exactly one insert.
// A link references its user ON DELETE CASCADE: it goes with the user, and
// a link of a missing user is refused (ErrNotFound). Every method runs in
// the unit of work ctx carries, if any (see db), so a link made or deleted
// with a user commits or rolls back with it.
type LinkedIdentityStore struct{ pool db }

// NewLinkedIdentityStore returns a LinkedIdentityStore on pool.
func NewLinkedIdentityStore(pool *pgxpool.Pool) *LinkedIdentityStore {
	return &LinkedIdentityStore{pool: db{pool}}
}

const linkColumns = `issuer, subject, user_id, provider_id, email, created_at`

func scanLink(row pgx.Row) (domain.LinkedIdentity, error) {
	var (
		l       domain.LinkedIdentity
		created pgtype.Timestamptz
	)
	if err := row.Scan(&l.Issuer, &l.Subject, &l.UserID, &l.ProviderID, &l.Email, &created); err != nil {
		return domain.LinkedIdentity{}, err
	}
	l.CreatedAt = fromTS(created)
	return l, nil
}

// LinkIdentity inserts a link. ErrAlreadyExists if the identity is linked
// already, ErrNotFound if the user does not exist. Inside a unit the insert
// runs in a savepoint, so that a caller who lost the race may go on in the
// unit (to read the winner's link, say).
func (s *LinkedIdentityStore) LinkIdentity(ctx context.Context, l domain.LinkedIdentity) error {
	const op = "link identity"
	_, err := s.pool.ExecGuarded(ctx, `INSERT INTO linked_identities (`+linkColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		l.Issuer, l.Subject, l.UserID, l.ProviderID, l.Email, ts(l.CreatedAt))
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("postgres: %s: no user %q: %w", op, l.UserID, domain.ErrNotFound)
	}
	return translate(op, err)
}

// GetLinkedIdentity returns the link of (issuer, subject). ErrNotFound if
// none.
func (s *LinkedIdentityStore) GetLinkedIdentity(ctx context.Context, issuer, subject string) (domain.LinkedIdentity, error) {
	l, err := scanLink(s.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM linked_identities
		WHERE issuer = $1 AND subject = $2`, issuer, subject))
	if err != nil {
		return domain.LinkedIdentity{}, translate("get linked identity", err)
	}
	return l, nil
}

// ListLinkedIdentities returns a user's links by CreatedAt, then issuer,
// then subject, read in order from linked_identities_user.
func (s *LinkedIdentityStore) ListLinkedIdentities(ctx context.Context, userID string) ([]domain.LinkedIdentity, error) {
	const op = "list linked identities"
	rows, err := s.pool.Query(ctx, `SELECT `+linkColumns+` FROM linked_identities
		WHERE user_id = $1 ORDER BY created_at NULLS FIRST, issuer, subject`, userID)
	if err != nil {
		return nil, translate(op, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.LinkedIdentity, error) { return scanLink(row) })
	if badText(err) {
		return []domain.LinkedIdentity{}, nil // no user id holds such text
	}
	if err != nil {
		return nil, translate(op, err)
	}
	if out == nil {
		out = []domain.LinkedIdentity{}
	}
	return out, nil
}

// UnlinkIdentity deletes one link. ErrNotFound if none.
func (s *LinkedIdentityStore) UnlinkIdentity(ctx context.Context, issuer, subject string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM linked_identities WHERE issuer = $1 AND subject = $2`, issuer, subject)
	if err != nil {
		return translate("unlink identity", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("unlink identity", pgx.ErrNoRows)
	}
	return nil
}

// DeleteUserIdentities deletes every link of a user. Deleting the user
// deletes them too (ON DELETE CASCADE); this is for a caller that deletes
// them first, in the same unit.
func (s *LinkedIdentityStore) DeleteUserIdentities(ctx context.Context, userID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM linked_identities WHERE user_id = $1`, userID)
	if badText(err) {
		return nil // no link can hold such a user id
	}
	return translate("delete user identities", err)
}
