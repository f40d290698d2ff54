-- +goose Up
-- Webhooks (issue 5): each event's audience, its dispatch mark, and the
-- subscriptions, deliveries and attempts of SubscriptionStore and
-- DeliveryStore. As before, times come from the callers' clocks and a zero
-- time is NULL, except where noted.

-- An event's audience (domain.Audience) is fixed when it is published. A nil
-- list is NULL and an empty one '{}', so both come back as they went in.
--
-- dispatched is a flag, not a dispatched_at time: DispatchEvents is given no
-- now, and the package never reads the database clock (time comes from the
-- callers), so there is no honest time to record. Nothing needs one either:
-- the janitor ages dispatched events by occurred_at.
--
-- Events stored before this migration carry no audience and predate every
-- subscription, so no webhook may hear of them: they are marked dispatched
-- (the column is added with DEFAULT true, which fills the existing rows
-- without a rewrite), and only then do new rows default to undispatched.
ALTER TABLE events
	ADD COLUMN audience_organization_ids text[],
	ADD COLUMN audience_client_ids text[],
	ADD COLUMN dispatched boolean NOT NULL DEFAULT true;
ALTER TABLE events ALTER COLUMN dispatched SET DEFAULT false;

-- DispatchEvents takes the undispatched events in seq order; the janitor
-- deletes dispatched ones by age. Each partial index holds only its side.
CREATE INDEX events_undispatched ON events (seq) WHERE NOT dispatched;
CREATE INDEX events_dispatched_occurred_at ON events (occurred_at) WHERE dispatched;

-- secret is the signing secret sealed with AES-256-GCM under the
-- key-encryption key (nonce || ciphertext, the subscription id bound as
-- additional data), as signing keys are: it is never stored in clear.
-- events is nullable so that a nil list round-trips (see the events table).
CREATE TABLE webhook_subscriptions (
	id                   text PRIMARY KEY,
	client_id            text NOT NULL,
	url                  text NOT NULL,
	events               text[],
	secret               bytea NOT NULL,
	description          text NOT NULL,
	disabled             boolean NOT NULL,
	disabled_reason      text NOT NULL,
	consecutive_failures integer NOT NULL,
	created_at           timestamptz,
	updated_at           timestamptz
);
-- ListSubscriptions: a client's subscriptions, oldest first.
CREATE INDEX webhook_subscriptions_client ON webhook_subscriptions (client_id, created_at, id);
-- ListActiveSubscriptions: enabled subscriptions containing an event type
-- (events @> ARRAY[type], which a GIN index serves; = ANY(events) cannot).
CREATE INDEX webhook_subscriptions_active_events ON webhook_subscriptions USING gin (events) WHERE NOT disabled;

-- A delivery goes with its subscription (ON DELETE CASCADE). event_id has
-- no foreign key: the janitor deletes dispatched events on their own
-- schedule, and the payload is kept here whole.
--
-- created_at, next_attempt_at and lease_until are NOT NULL and store a zero
-- time as it is (0001-01-01, which sorts first in both Go and SQL), so that
-- listing, claiming and lease checks compare plainly, without NULL cases:
-- no lease is the zero time, which every now is past. completed_at follows
-- the package rule (NULL until the delivery is no longer pending).
CREATE TABLE webhook_deliveries (
	id              text PRIMARY KEY,
	subscription_id text NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
	event_id        text NOT NULL,
	event_type      text NOT NULL,
	payload         bytea,
	state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts        integer NOT NULL,
	next_attempt_at timestamptz NOT NULL,
	lease_until     timestamptz NOT NULL,
	created_at      timestamptz NOT NULL,
	completed_at    timestamptz
);
-- ClaimDeliveries: pending deliveries, earliest due first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- ListDeliveries pages a subscription's deliveries newest first; the index
-- also serves the cascade from webhook_subscriptions.
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
-- The janitor deletes completed deliveries by age.
CREATE INDEX webhook_deliveries_completed_at ON webhook_deliveries (completed_at) WHERE state <> 'pending';

-- An attempt goes with its delivery. latency is a time.Duration in
-- nanoseconds, exactly; response is the start of the response body (NULL
-- when there was none).
CREATE TABLE webhook_attempts (
	delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
	number      integer NOT NULL,
	at          timestamptz,
	status_code integer NOT NULL,
	latency     bigint NOT NULL,
	error       text NOT NULL,
	response    bytea,
	PRIMARY KEY (delivery_id, number)
);
