-- +goose Up
-- OpenID Connect Back-Channel Logout 1.0 (issue 17).
--
-- A session records the clients registered for back-channel logout that
-- were issued tokens in it (SessionStore.AddSessionClient), so that whoever
-- ends it (DELETE ... RETURNING) learns, in the same statement, whom to
-- tell. Existing rows get the empty list: no client is told of sessions
-- that began before this migration, as none was recorded.
ALTER TABLE sessions ADD COLUMN client_ids text[] NOT NULL DEFAULT '{}';

-- A logout token travels as a delivery of its own kind: to a client's
-- backchannel_logout_uri (url, client_id), with no subscription. The rows
-- that exist are webhooks, which the defaults say without a rewrite.
ALTER TABLE webhook_deliveries
	ALTER COLUMN subscription_id DROP NOT NULL,
	ADD COLUMN kind text NOT NULL DEFAULT '',
	ADD COLUMN url text NOT NULL DEFAULT '',
	ADD COLUMN client_id text NOT NULL DEFAULT '',
	ADD CONSTRAINT webhook_deliveries_kind CHECK (
		kind = '' AND subscription_id IS NOT NULL
		OR kind = 'backchannel_logout' AND subscription_id IS NULL AND url <> '' AND client_id <> '');

-- ClaimDeliveries takes due logout deliveries apart from webhook ones
-- (they have no subscription to join).
CREATE INDEX webhook_deliveries_logout_due ON webhook_deliveries (next_attempt_at)
	WHERE state = 'pending' AND subscription_id IS NULL;
