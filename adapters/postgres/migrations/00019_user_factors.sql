-- +goose Up
-- Users' second factors (ports.FactorStore): one row per user, made by the
-- first update and deleted with the user (ON DELETE CASCADE), so that no
-- authenticator secret outlives its account.
--
-- totp_secret and pending_totp_secret are sealed with AES-256-GCM under the
-- key-encryption key, bound to the user id and to which of the two they are
-- (see FactorStore); NULL when there is no such authenticator, and the
-- step and creation time beside them NULL too. Recovery codes (SHA-256
-- hashes) and passkeys are jsonb arrays, NULL when there are none; ceremony
-- is the WebAuthn library's session data, opaque here. As elsewhere, times
-- come from the callers' clocks and a zero time is NULL.
CREATE TABLE user_factors (
	user_id                 text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	totp_secret             bytea,
	totp_last_step          bigint,
	totp_created_at         timestamptz,
	pending_totp_secret     bytea,
	pending_totp_last_step  bigint,
	pending_totp_created_at timestamptz,
	pending_totp_owner      text NOT NULL DEFAULT '',
	recovery_codes          jsonb,
	passkeys                jsonb,
	ceremony                bytea,
	ceremony_expires        timestamptz,
	updated_at              timestamptz
);
