-- +goose Up
-- The directory: licenses, client grants, stored roles, administration keys
-- and emailed single-use links, plus the user's not-before instant and the
-- client's license flag. As in 00001, times come from the callers' clocks
-- (a zero time is NULL) and secrets are kept only as SHA-256 hashes.

ALTER TABLE users ADD COLUMN not_before timestamptz;
ALTER TABLE clients ADD COLUMN license_required boolean NOT NULL DEFAULT false;

-- memberships.user_id has no foreign key: the OrganizationStore port lets a
-- membership name a user another store keeps. DirectoryStore.DeleteUser
-- deletes a user's memberships in the statement that deletes the user, and
-- listings join users, so a stray row is never shown.

-- ListMembers pages an organization's members by user id: the composite
-- index serves it in order, and the organization lookups (and the cascade
-- from organizations) the old single-column index served.
CREATE INDEX memberships_organization_user ON memberships (organization_id, user_id);
DROP INDEX memberships_organization;

-- The primary key leads with user_id: a user's licenses are read (and
-- cascaded) by user; HasLicense is a primary-key lookup.
CREATE TABLE licenses (
	client_id   text NOT NULL,
	user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	assigned_at timestamptz,
	PRIMARY KEY (user_id, client_id)
);

-- The primary key leads with client_id: a client's grants are listed by
-- client. The second index serves the cascade from organizations.
CREATE TABLE client_grants (
	client_id       text NOT NULL,
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	actions         text[],
	created_at      timestamptz,
	updated_at      timestamptz,
	PRIMARY KEY (client_id, organization_id)
);
CREATE INDEX client_grants_organization ON client_grants (organization_id);

CREATE TABLE roles (
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name            text NOT NULL,
	permissions     text[],
	created_at      timestamptz,
	updated_at      timestamptz,
	PRIMARY KEY (organization_id, name)
);

CREATE TABLE admin_keys (
	id         text PRIMARY KEY,
	hash       bytea NOT NULL UNIQUE,
	name       text NOT NULL,
	created_at timestamptz
);

-- A consumed token is deleted; an expired one is left for the janitor.
-- user_id has no foreign key: a token outliving its user finds no one when
-- consumed.
CREATE TABLE action_tokens (
	hash       bytea PRIMARY KEY,
	purpose    text NOT NULL,
	user_id    text NOT NULL,
	created_at timestamptz,
	expires_at timestamptz NOT NULL
);
CREATE INDEX action_tokens_expires_at ON action_tokens (expires_at);
CREATE INDEX action_tokens_user ON action_tokens (user_id);

-- The event outbox (EventOutbox): the webhook worker reads it. seq is the
-- publication order, assigned as rows are inserted (not as they commit), so
-- a reader must not keep a high-water mark of seq: it takes undelivered rows
-- by seq and marks or deletes them one by one. A zero time is NULL; an empty
-- user_id or organization_id means the event concerns none.
--
-- data is the event's ordered fields as a JSON array of [key, value] pairs,
-- in a json (not jsonb) column: jsonb reorders object keys (inside nested
-- values too), rewrites numbers and refuses \u0000, while json keeps the
-- text as written and still checks that it parses. The array keeps the
-- fields' order without relying on object key order at all.
--
-- Deleting delivered events (retention) belongs to the webhook worker, not
-- to the janitor: nothing here expires by time.
CREATE TABLE events (
	seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id              text NOT NULL UNIQUE,
	type            text NOT NULL,
	occurred_at     timestamptz,
	user_id         text NOT NULL,
	organization_id text NOT NULL,
	data            json NOT NULL
);
