-- +goose Up
-- RFC 8628 device authorization grants, by the hash of the device code and
-- of the user code. A device polls its row (last_polled_at, interval_ms)
-- while the user decides; the janitor deletes rows a minute past expiry.
CREATE TABLE device_grants (
	device_code_hash bytea PRIMARY KEY,
	user_code_hash   bytea NOT NULL,
	client_id        text NOT NULL,
	scopes           text[],
	status           text NOT NULL,
	interval_ms      bigint NOT NULL,
	last_polled_at   timestamptz,
	user_id          text NOT NULL,
	auth_time        timestamptz,
	session_id       text NOT NULL,
	amr              text[],
	grant_id         text NOT NULL,
	created_at       timestamptz,
	expires_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX device_grants_user_code ON device_grants (user_code_hash);
CREATE INDEX device_grants_expires_at ON device_grants (expires_at);

-- A pending sign-in started from the device page names the grant it
-- approves; NULL for an authorization request.
ALTER TABLE auth_requests ADD COLUMN device_code_hash bytea;
