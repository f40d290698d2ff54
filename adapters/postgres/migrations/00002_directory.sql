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
