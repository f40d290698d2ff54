package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// ErrSecretDecryption is returned (wrapped) when a stored webhook secret
// does not open under the key-encryption key.
var ErrSecretDecryption = errors.New("webhook secret does not decrypt: wrong key_encryption_key or corrupted record")

// SubscriptionStore is the PostgreSQL ports.SubscriptionStore. Secrets are
// sealed at rest (see secretBox); a subscription's deliveries and their
// attempts go with it (ON DELETE CASCADE).
type SubscriptionStore struct {
	pool db
	box  secretBox
}

// NewSubscriptionStore returns a SubscriptionStore on pool that seals
// secrets under keyEncryptionKey (KeyEncryptionKeySize bytes, the key that
// seals signing keys). Unlike KeyStore, it has no unsealed mode: a webhook
// secret is never written in clear.
func NewSubscriptionStore(pool *pgxpool.Pool, keyEncryptionKey []byte) (*SubscriptionStore, error) {
	box, err := newSecretBox(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &SubscriptionStore{pool: db{pool}, box: box}, nil
}

// subscriptionColumns lists the columns scanSubscription reads, each
// prefixed with alias and a dot when alias is not empty.
func subscriptionColumns(alias string) string {
	cols := []string{"id", "client_id", "url", "events", "secret", "description",
		"disabled", "disabled_reason", "disabled_at", "consecutive_failures", "created_at", "updated_at"}
	if alias != "" {
		for i, c := range cols {
			cols[i] = alias + "." + c
		}
	}
	return strings.Join(cols, ", ")
}

var subscriptionCols = subscriptionColumns("")

// subscriptionDest holds one scanned row of subscriptionColumns until its
// secret is opened.
type subscriptionDest struct {
	s                          domain.Subscription
	sealed                     []byte
	disabled, created, updated pgtype.Timestamptz
}

func (d *subscriptionDest) targets() []any {
	return []any{&d.s.ID, &d.s.ClientID, &d.s.URL, &d.s.Events, &d.sealed, &d.s.Description,
		&d.s.Disabled, &d.s.DisabledReason, &d.disabled, &d.s.ConsecutiveFailures, &d.created, &d.updated}
}

// withTimes is the scanned subscription with its times decoded (NULL is
// zero: a subscription disabled before migration 00032 has no DisabledAt).
func (d *subscriptionDest) withTimes() domain.Subscription {
	s := d.s
	s.DisabledAt, s.CreatedAt, s.UpdatedAt = fromTS(d.disabled), fromTS(d.created), fromTS(d.updated)
	return s
}

func (d *subscriptionDest) subscription(box secretBox) (domain.Subscription, error) {
	s := d.withTimes()
	secret, err := box.open(purposeWebhookSecret, s.ID, d.sealed, ErrSecretDecryption)
	s.Secret = string(secret)
	return s, err
}

func (st *SubscriptionStore) scanOne(row pgx.Row) (domain.Subscription, error) {
	var d subscriptionDest
	if err := row.Scan(d.targets()...); err != nil {
		return domain.Subscription{}, err
	}
	return d.subscription(st.box)
}

// CreateSubscription stores a subscription. ErrAlreadyExists if the id is
// taken.
func (st *SubscriptionStore) CreateSubscription(ctx context.Context, s domain.Subscription) error {
	sealed, err := st.box.seal(purposeWebhookSecret, s.ID, []byte(s.Secret))
	if err != nil {
		return err
	}
	_, err = st.pool.Exec(ctx, `INSERT INTO webhook_subscriptions (`+subscriptionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.ID, s.ClientID, s.URL, s.Events, sealed, s.Description,
		s.Disabled, s.DisabledReason, ts(s.DisabledAt), s.ConsecutiveFailures, ts(s.CreatedAt), ts(s.UpdatedAt))
	return translate("create subscription", err)
}

// GetSubscription returns a subscription. ErrNotFound if there is none.
func (st *SubscriptionStore) GetSubscription(ctx context.Context, id string) (domain.Subscription, error) {
	s, err := st.scanOne(st.pool.QueryRow(ctx,
		`SELECT `+subscriptionCols+` FROM webhook_subscriptions WHERE id = $1`, id))
	if err != nil {
		return domain.Subscription{}, translate("get subscription", err)
	}
	return s, nil
}

// UpdateSubscription reads the row FOR UPDATE, applies fn and writes it
// back in one transaction, so concurrent updates queue. The id stays; the
// secret is sealed anew (a fresh nonce) on every write.
func (st *SubscriptionStore) UpdateSubscription(ctx context.Context, id string, fn func(*domain.Subscription) error) (domain.Subscription, error) {
	return lockedUpdate(ctx, st.pool, "update subscription",
		func(tx pgx.Tx) (domain.Subscription, error) {
			return st.scanOne(tx.QueryRow(ctx,
				`SELECT `+subscriptionCols+` FROM webhook_subscriptions WHERE id = $1 FOR UPDATE`, id))
		},
		fn,
		func(tx pgx.Tx, s *domain.Subscription) error {
			s.ID = id
			sealed, err := st.box.seal(purposeWebhookSecret, id, []byte(s.Secret))
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET client_id = $2, url = $3, events = $4,
				secret = $5, description = $6, disabled = $7, disabled_reason = $8, disabled_at = $9,
				consecutive_failures = $10, created_at = $11, updated_at = $12 WHERE id = $1`,
				id, s.ClientID, s.URL, s.Events, sealed, s.Description,
				s.Disabled, s.DisabledReason, ts(s.DisabledAt), s.ConsecutiveFailures, ts(s.CreatedAt), ts(s.UpdatedAt))
			if err != nil || !s.Disabled {
				return err
			}
			return failPending(ctx, tx, id, s.UpdatedAt)
		})
}

// failPending ends the pending deliveries of a disabled subscription, so
// they neither wait forever nor flood the endpoint if it is re-enabled
// (ports.SubscriptionStore).
func failPending(ctx context.Context, tx pgx.Tx, subscriptionID string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'failed', completed_at = $2, lease_until = $3
		WHERE subscription_id = $1 AND state = 'pending'`, subscriptionID, ts(at), time.Time{})
	return err
}

// DeleteSubscription removes a subscription; its deliveries and their
// attempts go with it in the same statement (ON DELETE CASCADE).
// ErrNotFound if there is none.
func (st *SubscriptionStore) DeleteSubscription(ctx context.Context, id string) error {
	tag, err := st.pool.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
	if err != nil {
		return translate("delete subscription", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete subscription", pgx.ErrNoRows)
	}
	return nil
}

// ListSubscriptions returns a client's subscriptions, oldest first (ties by
// id), through webhook_subscriptions_client.
func (st *SubscriptionStore) ListSubscriptions(ctx context.Context, clientID string) ([]domain.Subscription, error) {
	return st.list(ctx, "list subscriptions",
		`SELECT `+subscriptionCols+` FROM webhook_subscriptions WHERE client_id = $1 ORDER BY created_at, id`, clientID)
}

// ListActiveSubscriptions returns the enabled subscriptions to eventType,
// oldest first (ties by id). events @> ARRAY[type] means the same as
// type = ANY(events), and the partial GIN index serves it.
func (st *SubscriptionStore) ListActiveSubscriptions(ctx context.Context, eventType string) ([]domain.Subscription, error) {
	return st.listNoSecret(ctx, "list active subscriptions",
		`SELECT `+subscriptionCols+` FROM webhook_subscriptions
		WHERE NOT disabled AND events @> ARRAY[$1::text] ORDER BY created_at, id`, eventType)
}

// listNoSecret lists without opening the secrets, which fan-out does not
// need: a secret that no longer opens (a restore under another key) then
// stops only its own subscription's posts, not everyone's dispatch.
func (st *SubscriptionStore) listNoSecret(ctx context.Context, op, query string, arg string) ([]domain.Subscription, error) {
	rows, err := st.pool.Query(ctx, query, arg)
	if err != nil {
		return nil, translate(op, err)
	}
	var d subscriptionDest
	var out []domain.Subscription
	_, err = pgx.ForEachRow(rows, d.targets(), func() error {
		out = append(out, d.withTimes())
		d = subscriptionDest{}
		return nil
	})
	if err != nil {
		return nil, translate(op, err)
	}
	return out, nil
}

func (st *SubscriptionStore) list(ctx context.Context, op, query string, arg string) ([]domain.Subscription, error) {
	rows, err := st.pool.Query(ctx, query, arg)
	if err != nil {
		return nil, translate(op, err)
	}
	var d subscriptionDest
	var out []domain.Subscription
	_, err = pgx.ForEachRow(rows, d.targets(), func() error {
		s, err := d.subscription(st.box)
		if err != nil {
			return err
		}
		out = append(out, s)
		d = subscriptionDest{}
		return nil
	})
	if err != nil {
		return nil, translate(op, err)
	}
	return out, nil
}
