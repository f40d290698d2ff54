package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// DeliveryStore is the PostgreSQL ports.DeliveryStore: deliveries and their
// attempts, and the dispatch of the events EventOutbox stored. Several
// instances share the work through row locks taken with SKIP LOCKED: each
// event is dispatched by one caller, each due delivery leased to one.
//
// It reads subscriptions (a claim carries its subscription, secret opened),
// so it seals and opens secrets as SubscriptionStore does, under the same
// key.
type DeliveryStore struct {
	pool db
	box  secretBox
}

// NewDeliveryStore returns a DeliveryStore on pool that opens subscription
// secrets with keyEncryptionKey (see NewSubscriptionStore).
func NewDeliveryStore(pool *pgxpool.Pool, keyEncryptionKey []byte) (*DeliveryStore, error) {
	box, err := newSecretBox(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &DeliveryStore{pool: db{pool}, box: box}, nil
}

// deliveryCols lists the columns deliveryDest reads, on the alias d.
// A back-channel logout has no subscription (NULL), read as "".
const deliveryCols = `d.id, coalesce(d.subscription_id, ''), d.kind, d.url, d.client_id, d.event_id, d.event_type, d.payload,
	d.state, d.attempts, d.next_attempt_at, d.lease_until, d.created_at, d.completed_at`

// deliveryDest holds one scanned row of deliveryCols.
type deliveryDest struct {
	d                    domain.Delivery
	state, kind          string
	next, lease, created time.Time
	completed            pgtype.Timestamptz
}

func (x *deliveryDest) targets() []any {
	return []any{&x.d.ID, &x.d.SubscriptionID, &x.kind, &x.d.URL, &x.d.ClientID, &x.d.EventID, &x.d.EventType, &x.d.Payload,
		&x.state, &x.d.Attempts, &x.next, &x.lease, &x.created, &x.completed}
}

func (x *deliveryDest) delivery() domain.Delivery {
	d := x.d
	d.State, d.Kind = domain.DeliveryState(x.state), domain.DeliveryKind(x.kind)
	// These three are NOT NULL and keep a zero time as 0001-01-01 (see the
	// migration); UTC makes it Go's zero time again.
	d.NextAttemptAt, d.LeaseUntil, d.CreatedAt = x.next.UTC(), x.lease.UTC(), x.created.UTC()
	d.CompletedAt = fromTS(x.completed)
	return d
}

// insertDeliveries stores a batch in one statement. A delivery whose
// subscription is gone is skipped, as the subscription's deliveries would
// have been deleted with it; a subscription deleted while the statement
// runs fails it on the foreign key, and the dispatch is retried. A
// back-channel logout has no subscription ("" becomes NULL).
const insertDeliveries = `INSERT INTO webhook_deliveries (id, subscription_id, kind, url, client_id, event_id, event_type, payload,
	state, attempts, next_attempt_at, lease_until, created_at, completed_at)
SELECT x.id, nullif(x.subscription_id, ''), x.kind, x.url, x.client_id, x.event_id, x.event_type, x.payload,
	x.state, x.attempts, x.next_attempt_at, x.lease_until, x.created_at, x.completed_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[],
	$6::text[], $7::int[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
	$12::text[], $13::text[], $14::text[])
	AS x (id, subscription_id, event_id, event_type, payload,
		state, attempts, next_attempt_at, lease_until, created_at, completed_at, kind, url, client_id)
WHERE x.subscription_id = '' OR EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = x.subscription_id)
ON CONFLICT (id) DO NOTHING`

// deliveryArgs spreads deliveries into insertDeliveries' arrays.
func deliveryArgs(ds []domain.Delivery) []any {
	n := len(ds)
	ids, subs, events, types, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	payloads := make([][]byte, n)
	attempts := make([]int32, n)
	next, lease, created := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	completed := make([]pgtype.Timestamptz, n)
	kinds, urls, clients := make([]string, n), make([]string, n), make([]string, n)
	for i, d := range ds {
		kinds[i], urls[i], clients[i] = string(d.Kind), d.URL, d.ClientID
		ids[i], subs[i], events[i], types[i], payloads[i] = d.ID, d.SubscriptionID, d.EventID, d.EventType, d.Payload
		states[i], attempts[i] = string(d.State), int32(d.Attempts)
		next[i], lease[i], created[i], completed[i] = d.NextAttemptAt, d.LeaseUntil, d.CreatedAt, ts(d.CompletedAt)
	}
	return []any{ids, subs, events, types, payloads, states, attempts, next, lease, created, completed, kinds, urls, clients}
}

// DispatchEvents runs in one transaction: it locks up to limit undispatched
// events in seq order, skipping those another dispatcher holds (so
// concurrent callers take disjoint batches and never wait on each other),
// passes them to plan, stores its deliveries and marks the events
// dispatched. plan's error rolls everything back and is returned as it is.
//
// plan runs while the transaction is open and usually reads through other
// connections of the pool (subscriptions, grants): the pool must have room
// for a dispatcher's transaction and its reads.
func (s *DeliveryStore) DispatchEvents(ctx context.Context, limit int, plan func([]domain.Event) ([]domain.Delivery, error)) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := relaxCommit(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT seq, `+eventColumns+` FROM events
			WHERE NOT dispatched ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		events, seqs, err := collectEvents(rows)
		if err != nil || len(events) == 0 {
			return err
		}
		ds, err := plan(events)
		if err != nil {
			return callbackError{err}
		}
		if len(ds) > 0 {
			if _, err := tx.Exec(ctx, insertDeliveries, deliveryArgs(ds)...); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE events SET dispatched = true WHERE seq = ANY($1)`, seqs); err != nil {
			return err
		}
		n = len(events)
		return nil
	})
	if cb := unwrapCallback(err); cb != nil {
		return 0, cb
	}
	if err != nil {
		return 0, translate("dispatch events", err)
	}
	return n, nil
}

// seqRow reads a leading seq column into seq, then hands the rest of the
// row to the event scanner.
type seqRow struct {
	pgx.CollectableRow
	seq *int64
}

func (r seqRow) Scan(dest ...any) error {
	return r.CollectableRow.Scan(append([]any{r.seq}, dest...)...)
}

// CreateDelivery stores one delivery. ErrAlreadyExists if the id is taken;
// ErrNotFound if the subscription does not exist (the foreign key).
func (s *DeliveryStore) CreateDelivery(ctx context.Context, d domain.Delivery) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, payload,
		state, attempts, next_attempt_at, lease_until, created_at, completed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.SubscriptionID, d.EventID, d.EventType, d.Payload, string(d.State), d.Attempts,
		d.NextAttemptAt, d.LeaseUntil, d.CreatedAt, ts(d.CompletedAt))
	if isCode(err, codeForeignKeyViolation) {
		return translate("create delivery", pgx.ErrNoRows)
	}
	return translate("create delivery", err)
}

// claimDeliveries leases, in one statement, up to $3 pending deliveries due
// at $1 and not leased at $1, of enabled subscriptions, earliest due first.
// The inner SELECT locks the rows it picks and skips rows another claim
// holds (SKIP LOCKED), and a row it waited for is checked again, so of
// concurrent claims each delivery goes to one; a later claim sees the lease.
// ARRAY(...) makes the pick an init plan that runs once, never the inner
// side of a join that could run it again and pick more.
const claimDeliveries = `UPDATE webhook_deliveries d SET lease_until = $2
FROM webhook_subscriptions s
WHERE d.id = ANY(ARRAY(
	SELECT d2.id FROM webhook_deliveries d2
	JOIN webhook_subscriptions s2 ON s2.id = d2.subscription_id
	WHERE d2.state = 'pending' AND d2.next_attempt_at <= $1 AND d2.lease_until <= $1 AND NOT s2.disabled
	ORDER BY d2.next_attempt_at, d2.created_at, d2.id
	LIMIT $3
	FOR UPDATE OF d2 SKIP LOCKED
)) AND s.id = d.subscription_id
RETURNING ` + deliveryCols + `, `

var claimDeliveriesSQL = claimDeliveries + subscriptionColumns("s")

// claimLogouts is claimDeliveries for back-channel logouts, which have no
// subscription to join or to be disabled by (index
// webhook_deliveries_logout_due).
const claimLogouts = `UPDATE webhook_deliveries d SET lease_until = $2
WHERE d.id = ANY(ARRAY(
	SELECT d2.id FROM webhook_deliveries d2
	WHERE d2.subscription_id IS NULL AND d2.state = 'pending' AND d2.next_attempt_at <= $1 AND d2.lease_until <= $1
	ORDER BY d2.next_attempt_at, d2.created_at, d2.id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
))
RETURNING ` + deliveryCols

// ClaimDeliveries leases due deliveries (see claimDeliveries) and returns
// them with their subscriptions, secrets opened, earliest due first.
// Back-channel logouts are claimed first (claimLogouts): a session that
// ended should end in its apps at once, and they are few.
func (s *DeliveryStore) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.Claim, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []domain.Claim
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := relaxCommit(ctx, tx); err != nil {
			return err
		}
		logouts, err := tx.Query(ctx, claimLogouts, now, leaseUntil, limit)
		if err != nil {
			return err
		}
		var ld deliveryDest
		if _, err := pgx.ForEachRow(logouts, ld.targets(), func() error {
			out = append(out, domain.Claim{Delivery: ld.delivery()})
			ld = deliveryDest{}
			return nil
		}); err != nil {
			return err
		}
		if len(out) >= limit {
			return nil
		}
		rows, err := tx.Query(ctx, claimDeliveriesSQL, now, leaseUntil, limit-len(out))
		if err != nil {
			return err
		}
		var dd deliveryDest
		var sd subscriptionDest
		_, err = pgx.ForEachRow(rows, append(dd.targets(), sd.targets()...), func() error {
			sub, err := sd.subscription(s.box)
			if err != nil {
				return err
			}
			out = append(out, domain.Claim{Delivery: dd.delivery(), Subscription: sub})
			dd, sd = deliveryDest{}, subscriptionDest{}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, translate("claim deliveries", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(out, func(a, b domain.Claim) int {
		return cmp.Or(a.Delivery.NextAttemptAt.Compare(b.Delivery.NextAttemptAt),
			a.Delivery.CreatedAt.Compare(b.Delivery.CreatedAt), cmp.Compare(a.Delivery.ID, b.Delivery.ID))
	})
	return out, nil
}

// recordOutcome applies an attempt's outcome to its subscription in one
// UPDATE (every right-hand side sees the row as it was): a success resets
// the failure streak; a failure grows it and disables the subscription on
// o.Disable or once the streak reaches o.DisableAfter (> 0), at the
// attempt's time ($6). An already disabled subscription keeps its first
// reason and time.
const recordOutcome = `UPDATE webhook_subscriptions SET
	consecutive_failures = CASE WHEN disabled THEN consecutive_failures WHEN $2 THEN 0 ELSE consecutive_failures + 1 END,
	disabled = disabled OR (NOT $2 AND ($3 OR ($4 > 0 AND consecutive_failures + 1 >= $4))),
	disabled_reason = CASE WHEN NOT disabled AND NOT $2 AND ($3 OR ($4 > 0 AND consecutive_failures + 1 >= $4))
		THEN $5 ELSE disabled_reason END,
	disabled_at = CASE WHEN NOT disabled AND NOT $2 AND ($3 OR ($4 > 0 AND consecutive_failures + 1 >= $4))
		THEN $6 ELSE disabled_at END
WHERE id = $1
RETURNING `

// RecordAttempt stores the attempt and applies its outcome in one
// transaction. It locks the subscription before the delivery, the order in
// which DeleteSubscription's cascade takes them, so that the two never
// deadlock; a delivery or subscription found gone on the way is
// ErrNotFound, and the transaction rolls back. An attempt whose number the
// delivery already has is ErrAlreadyExists, and changes nothing.
func (s *DeliveryStore) RecordAttempt(ctx context.Context, a domain.Attempt, o domain.AttemptOutcome) (domain.Subscription, error) {
	next := time.Time{}
	completed := pgtype.Timestamptz{}
	if o.State == domain.DeliveryPending {
		next = o.NextAttemptAt
	} else {
		completed = ts(a.At)
	}
	var out domain.Subscription
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := relaxCommit(ctx, tx); err != nil {
			return err
		}
		var subID string
		if err := tx.QueryRow(ctx, `SELECT coalesce(subscription_id, '') FROM webhook_deliveries WHERE id = $1`,
			a.DeliveryID).Scan(&subID); err != nil {
			return err
		}
		var sd subscriptionDest
		if subID != "" { // a back-channel logout has no subscription to account to
			if err := tx.QueryRow(ctx, recordOutcome+subscriptionCols,
				subID, o.Succeeded, o.Disable, o.DisableAfter, o.DisabledReason, ts(a.At)).Scan(sd.targets()...); err != nil {
				return err
			}
		}
		// The store numbers the attempt: two instances whose leases
		// overlapped (a post that outlived its lease) both get recorded.
		var number int
		if err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1,
			next_attempt_at = $3, lease_until = $4, completed_at = $5 WHERE id = $1 RETURNING attempts`,
			a.DeliveryID, string(o.State), next, time.Time{}, completed).Scan(&number); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts
			(delivery_id, number, at, status_code, latency, error, response)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			a.DeliveryID, number, ts(a.At), a.StatusCode, int64(a.Latency), a.Error, a.Response); err != nil {
			return err
		}
		if subID == "" {
			return nil
		}
		var err error
		if out, err = sd.subscription(s.box); err != nil || !out.Disabled {
			return err
		}
		return failPending(ctx, tx, out.ID, a.At)
	})
	if err != nil {
		return domain.Subscription{}, translate("record attempt", err)
	}
	return out, nil
}

// GetDelivery returns a delivery with its attempts. ErrNotFound if there is
// none.
func (s *DeliveryStore) GetDelivery(ctx context.Context, id string) (domain.DeliveryRecord, error) {
	recs, err := s.records(ctx, "get delivery", `SELECT `+deliveryCols+` FROM webhook_deliveries d WHERE d.id = $1`, id)
	if err != nil {
		return domain.DeliveryRecord{}, err
	}
	if len(recs) == 0 {
		return domain.DeliveryRecord{}, translate("get delivery", pgx.ErrNoRows)
	}
	return recs[0], nil
}

// ListDeliveries pages a subscription's deliveries newest first, by keyset
// on (created_at, id) through webhook_deliveries_subscription; a cursor
// with no ID starts at the newest.
func (s *DeliveryStore) ListDeliveries(ctx context.Context, subscriptionID string, before domain.DeliveryCursor, limit int) ([]domain.DeliveryRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	if before.ID == "" {
		return s.records(ctx, "list deliveries", `SELECT `+deliveryCols+` FROM webhook_deliveries d
			WHERE d.subscription_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2`, subscriptionID, limit)
	}
	return s.records(ctx, "list deliveries", `SELECT `+deliveryCols+` FROM webhook_deliveries d
		WHERE d.subscription_id = $1 AND (d.created_at, d.id) < ($2, $3)
		ORDER BY d.created_at DESC, d.id DESC LIMIT $4`, subscriptionID, before.CreatedAt, before.ID, limit)
}

// records runs a query of deliveryCols and reads the deliveries' attempts
// with a second one, so a page costs two round trips whatever its size.
// The two reads are not one snapshot: an attempt recorded in between may
// show on a delivery whose count does not have it yet.
func (s *DeliveryStore) records(ctx context.Context, op, query string, args ...any) ([]domain.DeliveryRecord, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, translate(op, err)
	}
	var dd deliveryDest
	var out []domain.DeliveryRecord
	index := map[string]int{}
	_, err = pgx.ForEachRow(rows, dd.targets(), func() error {
		index[dd.d.ID] = len(out)
		out = append(out, domain.DeliveryRecord{Delivery: dd.delivery()})
		dd = deliveryDest{}
		return nil
	})
	if err != nil {
		return nil, translate(op, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.Delivery.ID
	}
	rows, err = s.pool.Query(ctx, `SELECT delivery_id, number, at, status_code, latency, error, response
		FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, number`, ids)
	if err != nil {
		return nil, translate(op, err)
	}
	var a domain.Attempt
	var at pgtype.Timestamptz
	var latency int64
	_, err = pgx.ForEachRow(rows, []any{&a.DeliveryID, &a.Number, &at, &a.StatusCode, &latency, &a.Error, &a.Response}, func() error {
		a.At, a.Latency = fromTS(at), time.Duration(latency)
		r := &out[index[a.DeliveryID]]
		r.Attempts = append(r.Attempts, a)
		a = domain.Attempt{}
		return nil
	})
	if err != nil {
		return nil, translate(op, err)
	}
	return out, nil
}

// Redeliver makes a delivery pending again, due at now, with no lease and
// no completion; its attempts and id stay. ErrNotFound if there is none.
func (s *DeliveryStore) Redeliver(ctx context.Context, id string, now time.Time) (domain.Delivery, error) {
	var dd deliveryDest
	err := s.pool.QueryRow(ctx, `UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = $2,
		lease_until = $3, completed_at = NULL WHERE d.id = $1 AND d.lease_until <= $2 RETURNING `+deliveryCols,
		id, now, time.Time{}).Scan(dd.targets()...)
	if errors.Is(err, pgx.ErrNoRows) {
		// Gone, or being posted right now.
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1)`, id).Scan(&exists); err != nil {
			return domain.Delivery{}, translate("redeliver", err)
		}
		if exists {
			return domain.Delivery{}, domain.ErrConflict
		}
	}
	if err != nil {
		return domain.Delivery{}, translate("redeliver", err)
	}
	return dd.delivery(), nil
}

// relaxCommit lets a transaction of the delivery worker commit without
// waiting for its WAL to reach the disk (synchronous_commit off, for this
// transaction only). A crash can then forget the last few claims, attempts
// or dispatches, and that is safe: a forgotten claim or attempt means the
// delivery is posted again under its same id (delivery is at least once),
// and a forgotten dispatch is redone with the same delivery ids, which
// deliveries derive from the event and the subscription, so ON CONFLICT
// keeps one. Publishing an event is never relaxed: an accepted event is
// durable. This spares the worker an fsync per step on a busy database.
func relaxCommit(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`)
	return err
}
