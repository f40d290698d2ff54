-- +goose Up
-- The first schema of every store port. Times are timestamptz written from
-- the callers' clocks (never now()); a zero time is NULL. Secrets, codes and
-- tokens are kept only as SHA-256 hashes (bytea). Lists are text[].

CREATE TABLE clients (
	id                           text PRIMARY KEY,
	secret_hash                  bytea,
	registration_token_hash      bytea,
	name                         text NOT NULL,
	redirect_uris                text[],
	post_logout_redirect_uris    text[],
	grant_types                  text[],
	response_types               text[],
	scopes                       text[],
	token_endpoint_auth_method   text NOT NULL,
	client_uri                   text NOT NULL,
	logo_uri                     text NOT NULL,
	contacts                     text[],
	id_token_signed_response_alg text NOT NULL,
	approved_scopes              text[],
	first_party                  boolean NOT NULL,
	disabled                     boolean NOT NULL,
	created_at                   timestamptz,
	updated_at                   timestamptz
);

-- email_key is domain.NormalizeEmail(email), written by the adapter, so that
-- the uniqueness the port promises is the database's, not a read-then-write.
CREATE TABLE users (
	id                    text PRIMARY KEY,
	email                 text NOT NULL,
	email_key             text NOT NULL,
	email_verified        boolean NOT NULL,
	given_name            text NOT NULL,
	family_name           text NOT NULL,
	picture               text NOT NULL,
	phone_number          text NOT NULL,
	phone_number_verified boolean NOT NULL,
	password_hash         text NOT NULL,
	status                text NOT NULL,
	created_at            timestamptz,
	updated_at            timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE email_key <> '';

CREATE TABLE organizations (
	id         text PRIMARY KEY,
	name       text NOT NULL,
	slug       text NOT NULL UNIQUE,
	created_at timestamptz,
	updated_at timestamptz
);

-- The primary key leads with user_id: ListUserMemberships reads by user.
CREATE TABLE memberships (
	user_id         text NOT NULL,
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	role            text NOT NULL,
	is_primary      boolean NOT NULL,
	created_at      timestamptz,
	PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX memberships_organization ON memberships (organization_id);

-- A redeemed code is kept until it expires, so that a replay is recognised
-- (RFC 6749 §4.1.2) and the grant it issued can be revoked.
CREATE TABLE auth_codes (
	hash                  bytea PRIMARY KEY,
	client_id             text NOT NULL,
	user_id               text NOT NULL,
	redirect_uri          text NOT NULL,
	scopes                text[],
	nonce                 text NOT NULL,
	code_challenge        text NOT NULL,
	code_challenge_method text NOT NULL,
	auth_time             timestamptz,
	session_id            text NOT NULL,
	amr                   text[],
	grant_id              text NOT NULL,
	expires_at            timestamptz NOT NULL,
	redeemed_at           timestamptz,
	created_at            timestamptz
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE refresh_families (
	id         text PRIMARY KEY,
	client_id  text NOT NULL,
	user_id    text NOT NULL,
	scopes     text[],
	auth_time  timestamptz,
	session_id text NOT NULL,
	amr        text[],
	created_at timestamptz,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);

CREATE TABLE refresh_tokens (
	hash       bytea PRIMARY KEY,
	family_id  text NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
	created_at timestamptz,
	rotated_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE revoked_access_tokens (
	jti        text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);

CREATE TABLE revoked_grants (
	grant_id   text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_grants_expires_at ON revoked_grants (expires_at);

CREATE TABLE consents (
	user_id    text NOT NULL,
	client_id  text NOT NULL,
	scopes     text[],
	created_at timestamptz,
	updated_at timestamptz,
	PRIMARY KEY (user_id, client_id)
);

CREATE TABLE sessions (
	hash       bytea PRIMARY KEY,
	sid        text NOT NULL,
	user_id    text NOT NULL,
	auth_time  timestamptz,
	amr        text[],
	created_at timestamptz,
	last_seen  timestamptz,
	expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE auth_requests (
	id                    text PRIMARY KEY,
	binding_hash          bytea,
	csrf_token            text NOT NULL,
	client_id             text NOT NULL,
	redirect_uri          text NOT NULL,
	scopes                text[],
	state                 text NOT NULL,
	nonce                 text NOT NULL,
	code_challenge        text NOT NULL,
	code_challenge_method text NOT NULL,
	prompt                text[],
	max_age               integer NOT NULL,
	login_hint            text NOT NULL,
	response_mode         text NOT NULL,
	user_id               text NOT NULL,
	auth_time             timestamptz,
	session_id            text NOT NULL,
	amr                   text[],
	failed_logins         integer NOT NULL,
	created_at            timestamptz,
	expires_at            timestamptz NOT NULL
);
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

-- Counters are cheap to lose (a crash resets some windows early), so the
-- table is UNLOGGED: no WAL on the hottest write path.
CREATE UNLOGGED TABLE rate_limits (
	rule         text NOT NULL,
	key          text NOT NULL,
	window_start timestamptz NOT NULL,
	window_end   timestamptz NOT NULL,
	count        integer NOT NULL,
	PRIMARY KEY (rule, key)
);
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);

CREATE TABLE signing_keys (
	kid        text PRIMARY KEY,
	algorithm  text NOT NULL,
	state      text NOT NULL,
	private    bytea NOT NULL,
	created_at timestamptz,
	active_at  timestamptz,
	retire_at  timestamptz
);
