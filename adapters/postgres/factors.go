package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.FactorStore = (*FactorStore)(nil)

// ErrFactorDecryption is returned (wrapped) when a stored TOTP secret does
// not open under the key-encryption key.
var ErrFactorDecryption = errors.New("TOTP secret does not decrypt: wrong key_encryption_key or corrupted record")

// FactorStore is the PostgreSQL ports.FactorStore: one user_factors row per
// user (migration 00019), which references the user ON DELETE CASCADE, so
// deleting a user deletes their factors in the same statement, and factors
// of a missing user cannot be written (UpdateFactors fails with
// ErrNotFound).
//
// The TOTP secrets are sealed at rest (see secretBox), bound to the user id
// and to which secret they are: the confirmed one and the pending one are
// sealed for different purposes, so neither can be copied into the other's
// column, nor into another user's row. The rest is stored in clear:
// recovery codes are hashes already, and a passkey's public key is public.
type FactorStore struct {
	pool db
	box  secretBox
}

// NewFactorStore returns a FactorStore on pool that seals TOTP secrets
// under keyEncryptionKey (KeyEncryptionKeySize bytes, the key that seals
// signing keys). As for webhook secrets, there is no unsealed mode.
func NewFactorStore(pool *pgxpool.Pool, keyEncryptionKey []byte) (*FactorStore, error) {
	box, err := newSecretBox(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &FactorStore{pool: db{pool}, box: box}, nil
}

// factorColumns are the columns of user_factors besides user_id, in the
// order factorsRow.targets scans them and factorArgs writes them.
const factorColumns = `totp_secret, totp_last_step, totp_created_at,
	pending_totp_secret, pending_totp_last_step, pending_totp_created_at, pending_totp_owner,
	recovery_codes, passkeys, ceremony, ceremony_expires, updated_at`

// recoveryCodeDoc is the stored form of a domain.RecoveryCode, one element
// of the recovery_codes array. Its fields are the domain's, in its order,
// so that each converts to the other (and a field added to one fails the
// build until the other has it); the JSON names are fixed here, so that
// renaming a Go field never orphans stored data.
type recoveryCodeDoc struct {
	Hash   []byte    `json:"hash"`
	UsedAt time.Time `json:"used_at,omitzero"`
}

// passkeyDoc is the stored form of a domain.Passkey, one element of the
// passkeys array, converted as recoveryCodeDoc is.
type passkeyDoc struct {
	ID              []byte    `json:"id"`
	Name            string    `json:"name,omitempty"`
	PublicKey       []byte    `json:"public_key"`
	AttestationType string    `json:"attestation_type,omitempty"`
	AAGUID          []byte    `json:"aaguid,omitempty"`
	SignCount       uint32    `json:"sign_count,omitempty"`
	BackupEligible  bool      `json:"backup_eligible,omitempty"`
	BackupState     bool      `json:"backup_state,omitempty"`
	Transports      []string  `json:"transports,omitempty"`
	CreatedAt       time.Time `json:"created_at,omitzero"`
	LastUsedAt      time.Time `json:"last_used_at,omitzero"`
}

// factorsRow holds one scanned row of factorColumns until its secrets are
// opened and its arrays decoded.
type factorsRow struct {
	totp, pending             sealedTOTP
	pendingOwner              string
	codes, passkeys, ceremony []byte
	ceremonyExpires, updated  pgtype.Timestamptz
}

// sealedTOTP is a TOTP's three columns; secret is NULL (nil) for none.
type sealedTOTP struct {
	secret  []byte
	step    pgtype.Int8
	created pgtype.Timestamptz
}

func (r *factorsRow) targets() []any {
	return []any{&r.totp.secret, &r.totp.step, &r.totp.created,
		&r.pending.secret, &r.pending.step, &r.pending.created, &r.pendingOwner,
		&r.codes, &r.passkeys, &r.ceremony, &r.ceremonyExpires, &r.updated}
}

// factors opens and decodes the row into fresh values of userID's.
func (s *FactorStore) factors(userID string, r *factorsRow) (domain.Factors, error) {
	f := domain.Factors{UserID: userID, Ceremony: r.ceremony, PendingTOTPOwner: r.pendingOwner,
		CeremonyExpires: fromTS(r.ceremonyExpires), UpdatedAt: fromTS(r.updated)}
	var err error
	if f.TOTP, err = s.openTOTP(purposeTOTPSecret, userID, r.totp); err != nil {
		return domain.Factors{}, err
	}
	if f.PendingTOTP, err = s.openTOTP(purposePendingTOTPSecret, userID, r.pending); err != nil {
		return domain.Factors{}, err
	}
	codes, err := decodeDocs[recoveryCodeDoc](r.codes)
	if err != nil {
		return domain.Factors{}, fmt.Errorf("recovery codes: %w", err)
	}
	for _, c := range codes {
		c.UsedAt = utc(c.UsedAt)
		f.RecoveryCodes = append(f.RecoveryCodes, domain.RecoveryCode(c))
	}
	passkeys, err := decodeDocs[passkeyDoc](r.passkeys)
	if err != nil {
		return domain.Factors{}, fmt.Errorf("passkeys: %w", err)
	}
	for _, p := range passkeys {
		p.CreatedAt, p.LastUsedAt = utc(p.CreatedAt), utc(p.LastUsedAt)
		f.Passkeys = append(f.Passkeys, domain.Passkey(p))
	}
	return f, nil
}

// factorArgs returns the values of factorColumns for f, secrets sealed, or
// errBadText if a passkey holds text jsonb cannot keep faithfully (see
// encodeProfiles).
func (s *FactorStore) factorArgs(f *domain.Factors) ([]any, error) {
	totp, err := s.sealTOTP(purposeTOTPSecret, f.UserID, f.TOTP)
	if err != nil {
		return nil, err
	}
	pending, err := s.sealTOTP(purposePendingTOTPSecret, f.UserID, f.PendingTOTP)
	if err != nil {
		return nil, err
	}
	codes := make([]recoveryCodeDoc, len(f.RecoveryCodes))
	for i, c := range f.RecoveryCodes {
		codes[i] = recoveryCodeDoc(c)
	}
	passkeys := make([]passkeyDoc, len(f.Passkeys))
	for i, p := range f.Passkeys {
		passkeys[i] = passkeyDoc(p)
	}
	if !storableText(reflect.ValueOf(passkeys)) {
		return nil, fmt.Errorf("passkeys: %w", errBadText)
	}
	codesJSON, err := encodeDocs(codes)
	if err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	passkeysJSON, err := encodeDocs(passkeys)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return []any{totp.secret, totp.step, totp.created, pending.secret, pending.step, pending.created, f.PendingTOTPOwner,
		codesJSON, passkeysJSON, f.Ceremony, ts(f.CeremonyExpires), ts(f.UpdatedAt)}, nil
}

// sealTOTP returns t's columns, its secret sealed for purpose and userID;
// all three NULL when t is nil.
func (s *FactorStore) sealTOTP(purpose, userID string, t *domain.TOTP) (sealedTOTP, error) {
	if t == nil {
		return sealedTOTP{}, nil
	}
	sealed, err := s.box.seal(purpose, userID, t.Secret)
	if err != nil {
		return sealedTOTP{}, err
	}
	return sealedTOTP{secret: sealed, step: pgtype.Int8{Int64: t.LastStep, Valid: true}, created: ts(t.CreatedAt)}, nil
}

// openTOTP is sealTOTP's inverse: nil for a NULL secret, and
// ErrFactorDecryption for one that was not sealed for purpose and userID
// under this key.
func (s *FactorStore) openTOTP(purpose, userID string, c sealedTOTP) (*domain.TOTP, error) {
	if c.secret == nil {
		return nil, nil
	}
	secret, err := s.box.open(purpose, userID, c.secret, ErrFactorDecryption)
	if err != nil {
		return nil, err
	}
	return &domain.TOTP{Secret: secret, LastStep: c.step.Int64, CreatedAt: fromTS(c.created)}, nil
}

// encodeDocs encodes a list as a JSON array, or as NULL (nil) when it is
// empty, so that a user without codes or passkeys stores none.
func encodeDocs[T any](list []T) (any, error) {
	if len(list) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// decodeDocs decodes what encodeDocs wrote; NULL is an empty list.
func decodeDocs[T any](raw []byte) ([]T, error) {
	if raw == nil {
		return nil, nil
	}
	var list []T
	err := json.Unmarshal(raw, &list)
	return list, err
}

// utc returns t in UTC, the zero time as it is: JSON keeps the offset a
// time was written with.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// GetFactors returns a user's factors; Factors{UserID: userID} if the user
// has no row.
func (s *FactorStore) GetFactors(ctx context.Context, userID string) (domain.Factors, error) {
	var r factorsRow
	err := s.pool.QueryRow(ctx, `SELECT `+factorColumns+` FROM user_factors WHERE user_id = $1`, userID).
		Scan(r.targets()...)
	switch {
	case errors.Is(err, pgx.ErrNoRows), isCode(err, codeBadText):
		// No row can hold a user id text cannot: that user has none.
		return domain.Factors{UserID: userID}, nil
	case err != nil:
		return domain.Factors{}, translate("get factors", err)
	}
	f, err := s.factors(userID, &r)
	if err != nil {
		return domain.Factors{}, translate("get factors", err)
	}
	return f, nil
}

// UpdateFactors locks the user's row (FOR UPDATE), applies fn and writes
// the result in one transaction, or in a savepoint of the unit ctx
// carries, so concurrent updates of one user queue. A user without a row
// is given an empty one first, which the failure of fn rolls back: the
// first updates of a user then queue on that row like any others. The
// secrets are sealed anew (a fresh nonce) on every write.
func (s *FactorStore) UpdateFactors(ctx context.Context, userID string, fn func(*domain.Factors) error) (domain.Factors, error) {
	f, err := lockedUpdate(ctx, s.pool, "update factors",
		func(tx pgx.Tx) (domain.Factors, error) {
			f, err := s.lock(ctx, tx, userID)
			if !errors.Is(err, pgx.ErrNoRows) {
				return f, err
			}
			// ON CONFLICT DO NOTHING: a concurrent first update may insert
			// the row first; this one then waits for it, and locks it.
			_, err = tx.Exec(ctx, `INSERT INTO user_factors (user_id) VALUES ($1)
				ON CONFLICT (user_id) DO NOTHING`, userID)
			if isCode(err, codeForeignKeyViolation) {
				return domain.Factors{}, pgx.ErrNoRows // no such user: ErrNotFound
			}
			if err != nil {
				return domain.Factors{}, err
			}
			return s.lock(ctx, tx, userID)
		}, fn,
		func(tx pgx.Tx, f *domain.Factors) error {
			f.UserID = userID // the user id is the key; fn cannot move the record
			args, err := s.factorArgs(f)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE user_factors SET (`+factorColumns+`) =
				($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) WHERE user_id = $1`, append([]any{userID}, args...)...)
			return err
		})
	if err != nil {
		return domain.Factors{}, err
	}
	// The result is what fn left, which may share the caller's slices:
	// return a copy that shares nothing, as read back.
	return f.Clone(), nil
}

// lock reads the user's row FOR UPDATE; pgx.ErrNoRows if there is none.
func (s *FactorStore) lock(ctx context.Context, tx pgx.Tx, userID string) (domain.Factors, error) {
	var r factorsRow
	err := tx.QueryRow(ctx, `SELECT `+factorColumns+` FROM user_factors WHERE user_id = $1 FOR UPDATE`, userID).
		Scan(r.targets()...)
	if err != nil {
		return domain.Factors{}, err
	}
	return s.factors(userID, &r)
}

// DeleteFactors deletes the user's row, if there is one.
func (s *FactorStore) DeleteFactors(ctx context.Context, userID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM user_factors WHERE user_id = $1`, userID)
	if isCode(err, codeBadText) {
		return nil // no row can hold such a user id
	}
	return translate("delete factors", err)
}
