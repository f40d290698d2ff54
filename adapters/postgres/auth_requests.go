package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.AuthRequestStore = (*AuthRequestStore)(nil)

// AuthRequestStore is the PostgreSQL ports.AuthRequestStore.
type AuthRequestStore struct{ pool db }

// NewAuthRequestStore returns an AuthRequestStore on pool.
func NewAuthRequestStore(pool *pgxpool.Pool) *AuthRequestStore {
	return &AuthRequestStore{pool: db{pool}}
}

const authRequestColumns = `id, binding_hash, csrf_token, client_id, redirect_uri, scopes, state,
	nonce, code_challenge, code_challenge_method, prompt, max_age, login_hint, response_mode,
	user_id, auth_time, session_id, amr, failed_logins, created_at, expires_at, device_code_hash, dpop_jkt, claims,
	acr_values, factor_user_id, ceremony, return_to, upstream`

// upstreamDoc is the stored form of a domain.UpstreamAttempt, the upstream
// column's document. Its fields are the domain's, in its order, so that
// each converts to the other (and a field added to one fails the build
// until the other has it); the JSON names are fixed here, so that renaming
// a Go field never orphans a pending request.
type upstreamDoc struct {
	ProviderID   string    `json:"provider_id"`
	State        string    `json:"state"`
	Nonce        string    `json:"nonce"`
	CodeVerifier string    `json:"code_verifier"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	Fresh        bool      `json:"fresh,omitempty"`
	MaxAge       int       `json:"max_age,omitempty"`
}

// encodeUpstream returns the upstream column's value: NULL for none, or
// errBadText for text jsonb cannot keep faithfully (see encodeProfiles).
func encodeUpstream(u *domain.UpstreamAttempt) (any, error) {
	if u == nil {
		return nil, nil
	}
	d := upstreamDoc(*u)
	if !storableText(reflect.ValueOf(d)) {
		return nil, fmt.Errorf("upstream attempt: %w", errBadText)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// decodeUpstream is encodeUpstream's inverse: NULL, as in every row older
// than the column, is none.
func decodeUpstream(raw []byte) (*domain.UpstreamAttempt, error) {
	if raw == nil {
		return nil, nil
	}
	var d upstreamDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("upstream attempt: %w", err)
	}
	d.StartedAt = utc(d.StartedAt)
	u := domain.UpstreamAttempt(d)
	return &u, nil
}

func authRequestArgs(r *domain.AuthRequest) ([]any, error) {
	upstream, err := encodeUpstream(r.Upstream)
	if err != nil {
		return nil, err
	}
	return []any{r.ID, r.BindingHash, r.CSRFToken, r.ClientID, r.RedirectURI, r.Scopes, r.State,
		r.Nonce, r.CodeChallenge, r.CodeChallengeMethod, r.Prompt, r.MaxAge, r.LoginHint, r.ResponseMode,
		r.UserID, ts(r.AuthTime), r.SessionID, r.AMR, r.FailedLogins, ts(r.CreatedAt), ts(r.ExpiresAt), r.DeviceCodeHash, r.DPoPJKT, r.Claims,
		r.ACRValues, r.FactorUserID, r.Ceremony, r.ReturnTo, upstream}, nil
}

func scanAuthRequest(row pgx.Row) (domain.AuthRequest, error) {
	var r domain.AuthRequest
	var authTime, created, expires pgtype.Timestamptz
	var upstream []byte
	err := row.Scan(&r.ID, &r.BindingHash, &r.CSRFToken, &r.ClientID, &r.RedirectURI, &r.Scopes, &r.State,
		&r.Nonce, &r.CodeChallenge, &r.CodeChallengeMethod, &r.Prompt, &r.MaxAge, &r.LoginHint, &r.ResponseMode,
		&r.UserID, &authTime, &r.SessionID, &r.AMR, &r.FailedLogins, &created, &expires, &r.DeviceCodeHash, &r.DPoPJKT, &r.Claims,
		&r.ACRValues, &r.FactorUserID, &r.Ceremony, &r.ReturnTo, &upstream)
	if err != nil {
		return domain.AuthRequest{}, err
	}
	r.AuthTime, r.CreatedAt, r.ExpiresAt = fromTS(authTime), fromTS(created), fromTS(expires)
	r.Upstream, err = decodeUpstream(upstream)
	return r, err
}

// CreateAuthRequest stores a request. ErrAlreadyExists if the id is taken.
func (s *AuthRequestStore) CreateAuthRequest(ctx context.Context, r domain.AuthRequest) error {
	args, err := authRequestArgs(&r)
	if err != nil {
		return translate("create auth request", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`,
		args...)
	return translate("create auth request", err)
}

// GetAuthRequest returns a request by id, unless it expired at now.
func (s *AuthRequestStore) GetAuthRequest(ctx context.Context, id string, now time.Time) (domain.AuthRequest, error) {
	r, err := scanAuthRequest(s.pool.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests
		WHERE id = $1 AND expires_at > $2`, id, now))
	if err != nil {
		return domain.AuthRequest{}, translate("get auth request", err)
	}
	return r, nil
}

// UpdateAuthRequest locks the live row, applies fn and writes the result in
// one transaction.
func (s *AuthRequestStore) UpdateAuthRequest(ctx context.Context, id string, now time.Time, fn func(*domain.AuthRequest) error) (domain.AuthRequest, error) {
	return lockedUpdate(ctx, s.pool, "update auth request",
		func(tx pgx.Tx) (domain.AuthRequest, error) {
			return scanAuthRequest(tx.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM auth_requests
				WHERE id = $1 AND expires_at > $2 FOR UPDATE`, id, now))
		}, fn,
		func(tx pgx.Tx, r *domain.AuthRequest) error {
			r.ID = id // the id is the key; fn cannot move the record
			args, err := authRequestArgs(r)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE auth_requests SET (`+authRequestColumns+`) =
				($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
				WHERE id = $1`, args...)
			return err
		})
}

// DeleteAuthRequest removes a request and reports whether this call did so:
// of concurrent DELETEs of one row exactly one affects it.
func (s *AuthRequestStore) DeleteAuthRequest(ctx context.Context, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM auth_requests WHERE id = $1`, id)
	if err != nil {
		return false, translate("delete auth request", err)
	}
	return tag.RowsAffected() == 1, nil
}
