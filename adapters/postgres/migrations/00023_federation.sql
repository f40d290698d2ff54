-- +goose Up
-- Federation (issue 19): the organizations' upstream OpenID providers, the
-- upstream identities linked to accounts, and the sign-in a pending
-- authorization request has sent upstream.
--
-- A provider goes with its organization (ON DELETE CASCADE). client_secret
-- is sealed with AES-256-GCM under the key-encryption key, bound to the
-- provider's id (see IdentityProviderStore). scopes NULL asks for the
-- default scopes and '{}' for none besides openid, so the two stay apart.
-- Ids, issuers and subjects compare byte by byte (COLLATE "C"), so that
-- lists come in the order every store gives them, whatever the database's
-- locale. As elsewhere, times come from the callers' clocks and a zero
-- time is NULL (listed first).
CREATE TABLE identity_providers (
	id               text COLLATE "C" PRIMARY KEY,
	organization_id  text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name             text NOT NULL,
	issuer           text NOT NULL,
	client_id        text NOT NULL,
	client_secret    bytea NOT NULL,
	scopes           text[],
	domains          text[],
	jit_provisioning boolean NOT NULL,
	link_existing    boolean NOT NULL,
	created_at       timestamptz,
	updated_at       timestamptz
);
CREATE INDEX identity_providers_organization
	ON identity_providers (organization_id, created_at NULLS FIRST, id);

-- An upstream identity, (issuer, subject), is linked to one account: the
-- primary key decides which of two racing links wins. A link goes with its
-- user, and outlives the provider it was made through, so provider_id
-- references nothing.
CREATE TABLE linked_identities (
	issuer      text COLLATE "C" NOT NULL,
	subject     text COLLATE "C" NOT NULL,
	user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider_id text NOT NULL DEFAULT '',
	email       text NOT NULL DEFAULT '',
	created_at  timestamptz,
	PRIMARY KEY (issuer, subject)
);
CREATE INDEX linked_identities_user
	ON linked_identities (user_id, created_at NULLS FIRST, issuer, subject);

-- The sign-in sent upstream and not yet back (domain.UpstreamAttempt), as
-- a jsonb document; NULL when there is none, as in every row before this.
ALTER TABLE auth_requests ADD COLUMN upstream jsonb;
