package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ClientStore = (*ClientStore)(nil)

// ClientStore is the PostgreSQL ports.ClientStore. Secrets and registration
// tokens arrive as hashes and are stored as such.
type ClientStore struct {
	pool db
	// notify makes writes tell every instance's cache (CachedClientStore).
	notify bool
}

// NewClientStore returns a ClientStore on pool.
func NewClientStore(pool *pgxpool.Pool) *ClientStore { return &ClientStore{pool: db{pool}} }

const clientColumns = `id, secret_hash, registration_token_hash, name, redirect_uris,
	post_logout_redirect_uris, grant_types, response_types, scopes, token_endpoint_auth_method,
	client_uri, logo_uri, contacts, id_token_signed_response_alg, approved_scopes, first_party,
	disabled, created_at, updated_at, license_required, pkce_required, policy_uri, tos_uri,
	jwks, jwks_uri, token_endpoint_auth_signing_alg, require_pushed_authorization_requests,
	dpop_bound_access_tokens, backchannel_logout_uri, backchannel_logout_session_required`

// clientPlaceholders are the VALUES of clientColumns, in order.
const clientPlaceholders = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
	$19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30`

func clientArgs(c *domain.Client) []any {
	return []any{c.ID, c.SecretHash, c.RegistrationTokenHash, c.Name, c.RedirectURIs,
		c.PostLogoutRedirectURIs, c.GrantTypes, c.ResponseTypes, c.Scopes, c.TokenEndpointAuthMethod,
		c.ClientURI, c.LogoURI, c.Contacts, c.IDTokenSignedResponseAlg, c.ApprovedScopes, c.FirstParty,
		c.Disabled, ts(c.CreatedAt), ts(c.UpdatedAt), c.LicenseRequired, c.PKCERequired, c.PolicyURI, c.TosURI,
		c.JWKS, c.JWKSURI, c.TokenEndpointAuthSigningAlg, c.RequirePAR,
		c.DPoPBound, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired}
}

func scanClient(row pgx.Row) (domain.Client, error) {
	var c domain.Client
	var created, updated pgtype.Timestamptz
	err := row.Scan(&c.ID, &c.SecretHash, &c.RegistrationTokenHash, &c.Name, &c.RedirectURIs,
		&c.PostLogoutRedirectURIs, &c.GrantTypes, &c.ResponseTypes, &c.Scopes, &c.TokenEndpointAuthMethod,
		&c.ClientURI, &c.LogoURI, &c.Contacts, &c.IDTokenSignedResponseAlg, &c.ApprovedScopes, &c.FirstParty,
		&c.Disabled, &created, &updated, &c.LicenseRequired, &c.PKCERequired, &c.PolicyURI, &c.TosURI,
		&c.JWKS, &c.JWKSURI, &c.TokenEndpointAuthSigningAlg, &c.RequirePAR,
		&c.DPoPBound, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	return c, err
}

// CreateClient stores a new client. ErrAlreadyExists if the id is taken.
func (s *ClientStore) CreateClient(ctx context.Context, c domain.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES (`+clientPlaceholders+`)`,
		clientArgs(&c)...)
	return translate("create client", err)
}

// GetClient returns a client by id. ErrNotFound if there is none.
func (s *ClientStore) GetClient(ctx context.Context, id string) (domain.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return domain.Client{}, translate("get client", err)
	}
	return c, nil
}

// UpdateClient locks the row (SELECT … FOR UPDATE), applies fn and writes the
// result in one transaction, so concurrent updates queue instead of being lost.
func (s *ClientStore) UpdateClient(ctx context.Context, id string, fn func(*domain.Client) error) (domain.Client, error) {
	return lockedUpdate(ctx, s.pool, "update client",
		func(tx pgx.Tx) (domain.Client, error) {
			return scanClient(tx.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 FOR UPDATE`, id))
		}, fn,
		func(tx pgx.Tx, c *domain.Client) error {
			c.ID = id // the id is the key; fn cannot move the record
			_, err := tx.Exec(ctx, `UPDATE clients SET (`+clientColumns+`) = (`+clientPlaceholders+`)
				WHERE id = $1`, clientArgs(c)...)
			if err == nil && s.notify {
				err = notifyInvalidation(ctx, tx, cacheKey(kindClient, id))
			}
			return err
		})
}

// DeleteClient removes a client. ErrNotFound if there is none.
//
// It takes the client's grant lock (see ClientGrantStore), so a directory
// change the client has in flight finishes first, and one that starts
// after finds the client gone.
func (s *ClientStore) DeleteClient(ctx context.Context, id string) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockGrantsExclusive, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if err == nil && s.notify {
			err = notifyInvalidation(ctx, tx, cacheKey(kindClient, id))
		}
		return err
	})
	return translate("delete client", err)
}

// ListClients returns up to limit clients ordered by id, after the id
// after: a range read on the primary key.
func (s *ClientStore) ListClients(ctx context.Context, after string, limit int) ([]domain.Client, error) {
	if limit <= 0 {
		return []domain.Client{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, translate("list clients", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Client, error) { return scanClient(row) })
	if err != nil {
		return nil, translate("list clients", err)
	}
	return out, nil
}
