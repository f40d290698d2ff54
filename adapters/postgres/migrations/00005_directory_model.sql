-- +goose Up
-- The directory model: each account's home organization, each membership's
-- status, the join links' organization and client, and the organizations'
-- verified mail domains. As before, times come from the callers' clocks (a
-- zero time is NULL).

-- home_organization_id is domain.User.HomeOrganizationID, NULL for none
-- (self-service accounts, or a home that let the account go). It has no
-- foreign key: the UserStore port keeps the id as given, as memberships keep
-- their user_id. No query reads users by home yet, so it has no index.
ALTER TABLE users ADD COLUMN home_organization_id text;

-- An account from before this migration was created by the organization it
-- joined first: its home is its oldest membership, ties broken by
-- organization id, in the order of ListUserMemberships (an unknown creation
-- time, NULL, is the zero time and sorts first). One sort of memberships,
-- rather than a lookup per user; an account with no membership stays
-- without a home, and a membership whose user is gone matches no one.
UPDATE users u SET home_organization_id = oldest.organization_id
FROM (
	SELECT DISTINCT ON (user_id) user_id, organization_id
	FROM memberships
	ORDER BY user_id, created_at NULLS FIRST, organization_id
) AS oldest
WHERE oldest.user_id = u.id;

-- status is domain.Membership.Status. Every membership from before this
-- migration was a member in full, so the constant default makes them active
-- without rewriting the table. The port keeps a status as given, and a
-- membership written with none (the zero domain.MembershipStatus, as callers
-- from before statuses write it) reads back with none: the CHECK admits ''
-- beside the three states. '' is not pending, so such a member is listed.
--
-- The searches that must skip pending memberships (ListMembers, SCIM's
-- SearchUsers) keep reading memberships_organization_user, in user id order,
-- and drop pending rows as a filter: pending memberships wait for their
-- holder and are few, so an index holding only the others would cost every
-- membership write a second index for little gain. A provisioning row reads
-- a user's memberships (visible ones, the primary one) by the primary key,
-- which leads with user_id.
ALTER TABLE memberships ADD COLUMN status text NOT NULL DEFAULT 'active'
	CONSTRAINT memberships_status CHECK (status IN ('active', 'pending', 'suspended', ''));

-- A join link carries the organization it admits to and the client whose
-- license comes with it; other links carry neither (''). Every link carries
-- the address it was mailed to, and is void once the account's email is
-- another; links made before this migration carry '' and are not bound.
-- The constant defaults fill the existing rows without a rewrite.
ALTER TABLE action_tokens
	ADD COLUMN organization_id text NOT NULL DEFAULT '',
	ADD COLUMN client_id text NOT NULL DEFAULT '',
	ADD COLUMN email text NOT NULL DEFAULT '';

-- A domain is verified for at most one organization: the primary key makes
-- parallel claims have one winner, and PutDomain is one upsert on it. The
-- names are lower-case DNS names, compared and ordered byte by byte
-- (COLLATE "C", whatever the database's locale), as Go compares strings. An organization's domains go with it (ON DELETE CASCADE); its index
-- lists them by name and serves the cascade.
CREATE TABLE verified_domains (
	domain          text COLLATE "C" PRIMARY KEY,
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	verified_by     text NOT NULL,
	created_at      timestamptz
);
CREATE INDEX verified_domains_organization ON verified_domains (organization_id, domain);
