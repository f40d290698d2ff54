package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// EventOutbox is the PostgreSQL ports.EventPublisher: a durable outbox in
// the events table, which the webhook worker reads. seq records the
// publication order.
//
// An event's Data is stored as a JSON array of [key, value] pairs (see the
// events table in 00002_directory.sql), so its order survives. Values are
// stored as encoding/json writes them and come back as it reads them into an
// any: strings and booleans exactly, numbers as float64 (exact for integers
// up to 2^53), nested objects as map[string]any (whose key order Go does not
// keep) and arrays as []any. A value json cannot encode (a channel, a NaN)
// fails the Publish.
//
// An event's Audience is stored in two text[] columns, a nil list as NULL,
// so it comes back exactly. DeliveryStore.DispatchEvents marks an event
// dispatched; the janitor deletes dispatched events once they are older
// than the webhook retention (see Janitor).
type EventOutbox struct{ pool db }

// NewEventOutbox returns an EventOutbox on pool.
func NewEventOutbox(pool *pgxpool.Pool) *EventOutbox { return &EventOutbox{pool: db{pool}} }

// insertEvents stores a batch in one statement, so it is atomic without a
// transaction. Identity values are drawn as the sorted rows reach the
// insert, so seq follows the batch's order (n). unnest cannot carry a list
// per row (arrays of arrays must be rectangular and flatten), so each
// audience list travels as a JSON array (NULL for nil) and is unpacked here
// in its own order. The same statement files each event under the
// organizations of its log (event_organizations), so both are stored or
// neither.
const insertEvents = `WITH ins AS (
INSERT INTO events (id, type, occurred_at, user_id, organization_id, data,
	audience_organization_ids, audience_client_ids, actor_kind, actor_id, actor_name, actor_organization_id)
SELECT id, type, occurred_at, user_id, organization_id, data::json,
	CASE WHEN orgs IS NOT NULL THEN ARRAY(
		SELECT v FROM json_array_elements_text(orgs::json) WITH ORDINALITY AS a (v, i) ORDER BY i) END,
	CASE WHEN clients IS NOT NULL THEN ARRAY(
		SELECT v FROM json_array_elements_text(clients::json) WITH ORDINALITY AS a (v, i) ORDER BY i) END,
	actor_kind, actor_id, actor_name, actor_org
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
	$9::text[], $10::text[], $11::text[], $12::text[])
	WITH ORDINALITY AS e (id, type, occurred_at, user_id, organization_id, data, orgs, clients,
		actor_kind, actor_id, actor_name, actor_org, n)
ORDER BY n
RETURNING seq, organization_id, audience_organization_ids, actor_organization_id)
INSERT INTO event_organizations (organization_id, seq)
SELECT DISTINCT o, ins.seq
FROM ins, unnest(coalesce(ins.audience_organization_ids, '{}') || ARRAY[ins.organization_id, ins.actor_organization_id]) AS o
WHERE o <> ''`

// Publish stores the events in order, atomically: all or none.
// ErrAlreadyExists if an event's id is taken, by a stored event or by
// another in the batch.
func (o *EventOutbox) Publish(ctx context.Context, events ...domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	ids, types, users, orgs, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at := make([]pgtype.Timestamptz, n)
	audOrgs, audClients := make([]pgtype.Text, n), make([]pgtype.Text, n)
	kinds, actorIDs, actorNames, actorOrgs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range events {
		d, err := encodeFields(e.Data)
		if err != nil {
			return fmt.Errorf("postgres: publish events: event %q: %w", e.ID, err)
		}
		ids[i], types[i], at[i], users[i], orgs[i], data[i] = e.ID, e.Type, ts(e.OccurredAt), e.UserID, e.OrganizationID, d
		audOrgs[i], audClients[i] = encodeList(e.Audience.OrganizationIDs), encodeList(e.Audience.LicenseClientIDs)
		a := e.Actor
		kinds[i], actorIDs[i], actorNames[i], actorOrgs[i] = string(a.Kind), a.ID, a.Name, a.OrganizationID
	}
	_, err := o.pool.Exec(ctx, insertEvents, ids, types, at, users, orgs, data, audOrgs, audClients,
		kinds, actorIDs, actorNames, actorOrgs)
	return translate("publish events", err)
}

// Events returns every stored event, in publication (seq) order. It reads
// the whole table into memory: it is for tests and small outboxes, not for
// the worker's steady state, which should read in batches.
func (o *EventOutbox) Events(ctx context.Context) ([]domain.Event, error) {
	rows, err := o.pool.Query(ctx, `SELECT `+eventColumns+` FROM events ORDER BY seq`)
	if err != nil {
		return nil, translate("list events", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, translate("list events", err)
	}
	return events, nil
}

// ListEvents returns a page of an organization's events, newest first
// (ports.EventLog). A cursor is an event's seq. The page is found through
// event_organizations, backwards by its primary key, and the filters are
// applied to each event on the way: a page costs about its size, more when
// a filter is rare. With ActorOrganizationID the walk is over the events
// that organization's actors made instead (events_actor_organization), and
// with UserID over that user's events (events_user_seq): both far fewer.
func (o *EventOutbox) ListEvents(ctx context.Context, q domain.EventQuery) (domain.EventPage, error) {
	limit := q.Limit
	if limit <= 0 || limit > domain.MaxEventPage {
		limit = domain.MaxEventPage
	}
	if q.OrganizationID == "" {
		return domain.EventPage{}, nil
	}
	args := []any{q.OrganizationID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var where []string
	if !q.Before.IsZero() {
		where = append(where, "e.seq < "+arg(q.Before.Seq))
	}
	for _, f := range [...][2]string{{"e.user_id", q.UserID}, {"e.type", q.Type}, {"e.actor_kind", string(q.ActorKind)}} {
		if f[1] != "" {
			where = append(where, f[0]+" = "+arg(f[1]))
		}
	}
	var inner string
	inLog := "EXISTS (SELECT 1 FROM event_organizations eo WHERE eo.organization_id = $1 AND eo.seq = e.seq)"
	switch {
	case q.ActorOrganizationID != "":
		where = append(where, "e.actor_organization_id = "+arg(q.ActorOrganizationID), inLog)
		inner = `SELECT e.seq FROM events e WHERE ` + strings.Join(where, " AND ")
	case q.UserID != "":
		// A user's events are far fewer than an organization's
		// (events_user_seq): walk them, and keep those in the log.
		where = append(where, inLog)
		inner = `SELECT e.seq FROM events e WHERE ` + strings.Join(where, " AND ")
	default:
		where = append([]string{"eo.organization_id = $1"}, where...)
		inner = `SELECT eo.seq FROM event_organizations eo JOIN events e ON e.seq = eo.seq WHERE ` + strings.Join(where, " AND ")
	}
	// One more than the page, to know whether another follows.
	query := `SELECT seq, ` + eventColumns + ` FROM events WHERE seq IN (` + inner +
		` ORDER BY 1 DESC LIMIT ` + arg(limit+1) + `) ORDER BY seq DESC`
	rows, err := o.pool.Query(ctx, query, args...)
	if err != nil {
		return domain.EventPage{}, translate("list events", err)
	}
	events, seqs, err := collectEvents(rows)
	if err != nil {
		return domain.EventPage{}, translate("list events", err)
	}
	page := domain.EventPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.Next = domain.EventCursor{Seq: seqs[limit-1]}
	}
	return page, nil
}

// eventColumns are the columns scanEvent reads, in its order.
const eventColumns = `id, type, occurred_at, user_id, organization_id, data::text,
	audience_organization_ids, audience_client_ids, actor_kind, actor_id, actor_name, actor_organization_id`

func scanEvent(row pgx.CollectableRow) (domain.Event, error) {
	var e domain.Event
	var at pgtype.Timestamptz
	var data string
	if err := row.Scan(&e.ID, &e.Type, &at, &e.UserID, &e.OrganizationID, &data,
		&e.Audience.OrganizationIDs, &e.Audience.LicenseClientIDs,
		&e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Actor.OrganizationID); err != nil {
		return domain.Event{}, err
	}
	e.OccurredAt = fromTS(at)
	fields, err := decodeFields(data)
	if err != nil {
		return domain.Event{}, fmt.Errorf("event %q: %w", e.ID, err)
	}
	e.Data = fields
	return e, nil
}

// encodeList writes a list as a JSON array; nil is NULL, so that it stays
// apart from an empty list.
func encodeList(list []string) pgtype.Text {
	if list == nil {
		return pgtype.Text{}
	}
	b, _ := json.Marshal(list) // a []string always encodes
	return pgtype.Text{String: string(b), Valid: true}
}

// encodeFields writes fields as a JSON array of [key, value] pairs.
func encodeFields(fields []domain.Field) (string, error) {
	pairs := make([][2]any, len(fields))
	for i, f := range fields {
		pairs[i] = [2]any{f.Key, f.Value}
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return "", fmt.Errorf("encode data: %w", err)
	}
	return string(b), nil
}

// decodeFields reads what encodeFields wrote; no pairs is nil.
func decodeFields(data string) ([]domain.Field, error) {
	// Each pair is decoded as raw elements first, so that a malformed pair
	// is an error rather than a zero key.
	var pairs [][]json.RawMessage
	if err := json.Unmarshal([]byte(data), &pairs); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	fields := make([]domain.Field, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("decode data: pair %d has %d elements, want 2", i, len(p))
		}
		if err := json.Unmarshal(p[0], &fields[i].Key); err != nil {
			return nil, fmt.Errorf("decode data: key %d: %w", i, err)
		}
		if err := json.Unmarshal(p[1], &fields[i].Value); err != nil {
			return nil, fmt.Errorf("decode data: value %d: %w", i, err)
		}
	}
	return fields, nil
}

// collectEvents reads rows of seq and eventColumns: the events, and their
// seqs in the same order.
func collectEvents(rows pgx.Rows) ([]domain.Event, []int64, error) {
	var seqs []int64
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Event, error) {
		var seq int64
		e, err := scanEvent(seqRow{row, &seq})
		seqs = append(seqs, seq)
		return e, err
	})
	return events, seqs, err
}
