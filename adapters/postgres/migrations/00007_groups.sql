-- +goose Up
-- Groups (ports.GroupStore): each organization's named sets of its members,
-- as identity providers push them, and who is in each. As before, times come
-- from the callers' clocks (a zero time is NULL).

-- name_key is domain.GroupNameKey(display_name), computed in Go by the
-- adapter when it writes, as memberships.user_name_key is: uniqueness and
-- GetGroupByName then follow Go's lower-casing, not the database's locale
-- (a database whose LC_CTYPE is C lower-cases ASCII only). groups_name makes
-- the key unique within the organization, so that of parallel creates (or
-- renames) to one name the index lets one through, and serves
-- GetGroupByName; the adapter tells its violation from the primary key's by
-- its name (see errors.go).
--
-- The ids are compared and ordered byte by byte (COLLATE "C", whatever the
-- database's locale), as Go compares strings: ListGroups and ListUserGroups
-- page by id in the order the other backends give. groups_organization
-- serves ListGroups' keyset pages and the cascade from organizations (the
-- primary key, on id alone, serves neither), and it is the unique key that
-- group_members refers to, so that a member's row and its group are of one
-- organization.
CREATE TABLE groups (
	id              text COLLATE "C" PRIMARY KEY,
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	display_name    text NOT NULL,
	name_key        text NOT NULL,
	external_id     text NOT NULL,
	role            text NOT NULL DEFAULT '',
	created_at      timestamptz,
	updated_at      timestamptz,
	CONSTRAINT groups_name UNIQUE (organization_id, name_key),
	CONSTRAINT groups_organization UNIQUE (organization_id, id)
);

-- A group's members are members of its organization, and the foreign keys
-- say so: a row refers to its group in its organization, and to the user's
-- membership of that organization. Leaving the organization
-- (DeleteMembership) or being deleted (DeleteUser deletes the user's
-- memberships) then takes the user out of its groups in the same statement,
-- by the cascade, and a membership deleted while a member is being added
-- fails the insert instead of leaving a stray row. A pending membership
-- satisfies the key but is not a member yet: the adapter checks the status
-- in the inserting statement, under a lock on the membership rows.
--
-- The primary key serves ListGroupMembers (a group's user ids in order,
-- byte order as for the ids above) and the cascade from groups;
-- group_members_user serves ListUserGroups (a user's groups in one
-- organization, by group id) and the cascade from memberships.
CREATE TABLE group_members (
	group_id        text COLLATE "C" NOT NULL,
	user_id         text COLLATE "C" NOT NULL,
	organization_id text NOT NULL,
	PRIMARY KEY (group_id, user_id),
	CONSTRAINT group_members_group FOREIGN KEY (group_id, organization_id)
		REFERENCES groups (id, organization_id) ON DELETE CASCADE,
	CONSTRAINT group_members_membership FOREIGN KEY (user_id, organization_id)
		REFERENCES memberships (user_id, organization_id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON group_members (organization_id, user_id, group_id);
