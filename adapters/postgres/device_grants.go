package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.DeviceGrantStore = (*DeviceGrantStore)(nil)

// DeviceGrantStore is the PostgreSQL ports.DeviceGrantStore (migration
// 00014): one row per grant, keyed by the device code's hash, with a unique
// index on the user code's hash.
type DeviceGrantStore struct{ pool db }

// NewDeviceGrantStore returns a DeviceGrantStore on pool.
func NewDeviceGrantStore(pool *pgxpool.Pool) *DeviceGrantStore {
	return &DeviceGrantStore{pool: db{pool}}
}

const deviceGrantColumns = `device_code_hash, user_code_hash, client_id, scopes, status, interval_ms,
	last_polled_at, user_id, auth_time, session_id, amr, grant_id, created_at, expires_at`

func deviceGrantArgs(g *domain.DeviceGrant) []any {
	return []any{g.DeviceCodeHash, g.UserCodeHash, g.ClientID, g.Scopes, string(g.Status), g.Interval.Milliseconds(),
		ts(g.LastPolledAt), g.UserID, ts(g.AuthTime), g.SessionID, g.AMR, g.GrantID, ts(g.CreatedAt), ts(g.ExpiresAt)}
}

func scanDeviceGrant(row pgx.Row) (domain.DeviceGrant, error) {
	var g domain.DeviceGrant
	var status string
	var intervalMS int64
	var polled, authTime, created, expires pgtype.Timestamptz
	err := row.Scan(&g.DeviceCodeHash, &g.UserCodeHash, &g.ClientID, &g.Scopes, &status, &intervalMS,
		&polled, &g.UserID, &authTime, &g.SessionID, &g.AMR, &g.GrantID, &created, &expires)
	g.Status, g.Interval = domain.DeviceStatus(status), time.Duration(intervalMS)*time.Millisecond
	g.LastPolledAt, g.AuthTime, g.CreatedAt, g.ExpiresAt = fromTS(polled), fromTS(authTime), fromTS(created), fromTS(expires)
	return g, err
}

// CreateDeviceGrant stores a grant. ErrAlreadyExists if either hash is taken.
func (s *DeviceGrantStore) CreateDeviceGrant(ctx context.Context, g domain.DeviceGrant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO device_grants (`+deviceGrantColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, deviceGrantArgs(&g)...)
	return translate("create device grant", err)
}

// GetDeviceGrant returns the grant unless it expired at now.
func (s *DeviceGrantStore) GetDeviceGrant(ctx context.Context, deviceCodeHash []byte, now time.Time) (domain.DeviceGrant, error) {
	g, err := scanDeviceGrant(s.pool.QueryRow(ctx, `SELECT `+deviceGrantColumns+` FROM device_grants
		WHERE device_code_hash = $1 AND expires_at > $2`, deviceCodeHash, now))
	if err != nil {
		return domain.DeviceGrant{}, translate("get device grant", err)
	}
	return g, nil
}

// GetDeviceGrantByUserCode returns the grant unless it expired at now
// (index device_grants_user_code).
func (s *DeviceGrantStore) GetDeviceGrantByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (domain.DeviceGrant, error) {
	g, err := scanDeviceGrant(s.pool.QueryRow(ctx, `SELECT `+deviceGrantColumns+` FROM device_grants
		WHERE user_code_hash = $1 AND expires_at > $2`, userCodeHash, now))
	if err != nil {
		return domain.DeviceGrant{}, translate("get device grant by user code", err)
	}
	return g, nil
}

// UpdateDeviceGrant locks the row, applies fn and writes the result in one
// transaction, so concurrent polls queue on the row lock and each sees the
// one before. The keys and the expiry are not written.
func (s *DeviceGrantStore) UpdateDeviceGrant(ctx context.Context, deviceCodeHash []byte, fn func(*domain.DeviceGrant) error) (domain.DeviceGrant, error) {
	var keys domain.DeviceGrant
	return lockedUpdate(ctx, s.pool, "update device grant",
		func(tx pgx.Tx) (domain.DeviceGrant, error) {
			g, err := scanDeviceGrant(tx.QueryRow(ctx, `SELECT `+deviceGrantColumns+` FROM device_grants
				WHERE device_code_hash = $1 FOR UPDATE`, deviceCodeHash))
			keys = domain.CloneDeviceGrant(g)
			return g, err
		}, fn,
		func(tx pgx.Tx, g *domain.DeviceGrant) error {
			g.DeviceCodeHash, g.UserCodeHash, g.ExpiresAt = keys.DeviceCodeHash, keys.UserCodeHash, keys.ExpiresAt
			_, err := tx.Exec(ctx, `UPDATE device_grants SET (`+deviceGrantColumns+`) =
				($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				WHERE device_code_hash = $1`, deviceGrantArgs(g)...)
			return err
		})
}
