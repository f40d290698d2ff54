-- +goose Up
-- SCIM (ports.SCIMStore): each user's per-organization profiles, the
-- organizations' SCIM tokens, and the indexes of SCIM's user searches. As
-- before, times come from the callers' clocks (a zero time is NULL) and
-- tokens are kept only as SHA-256 hashes.

-- profiles is domain.User.Profiles: a JSON object keyed by organization id,
-- each value the adapter's profileDoc (see users.go), whose field names are
-- fixed there, not taken from the Go struct:
--
--   {"<organization id>": {"externalId": "...", "displayName": "...",
--     "employeeNumber": "...", "department": "...", "managerId": "...",
--     "managerName": "...", "emails": [{"value": "...", "type": "...",
--     "primary": true}], "phoneNumbers": [...]}}
--
-- An empty string or list is left out; a user without profiles has '{}'.
-- A constant default fills the existing rows without rewriting the table.
ALTER TABLE users ADD COLUMN profiles jsonb NOT NULL DEFAULT '{}';

-- SCIM's most common searches are the lookups an identity provider makes
-- before it creates or updates a user:
--
--   userName eq "x"   compares users.email_key (the normalised, lower-case
--                     email) and is served by users_email_key;
--   externalId eq "x" is translated into containment,
--                     profiles @> '{"<org>": {"externalId": "x"}}', which
--                     this GIN index serves (jsonb_path_ops indexes only
--                     @>, and is smaller and faster than the default
--                     jsonb_ops for it);
--   id eq "x"         is the users primary key.
--
-- Every search is scoped to one organization through
-- memberships_organization_user, which also returns the members in user id
-- order; the other comparisons are filters over that organization's
-- members.
--
-- fastupdate is off: with it, new entries wait in a pending list that every
-- search scans linearly until a vacuum merges it, and a provider that has
-- just created thousands of users then waits hundreds of milliseconds per
-- externalId lookup (docs/PERFORMANCE.md). Writes pay for the index at
-- once instead.
CREATE INDEX users_profiles ON users USING gin (profiles jsonb_path_ops) WITH (fastupdate = off);

-- The primary key is the token's id; a token is looked up by its hash
-- (unique, so that a hash finds one token). An organization's tokens are
-- listed oldest first (a zero time, NULL, is the oldest: NULLS FIRST), and
-- deleted with it (the cascade reads the same index).
CREATE TABLE scim_tokens (
	id              text PRIMARY KEY,
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name            text NOT NULL,
	hash            bytea NOT NULL UNIQUE,
	created_at      timestamptz
);
CREATE INDEX scim_tokens_organization ON scim_tokens (organization_id, created_at NULLS FIRST, id);
