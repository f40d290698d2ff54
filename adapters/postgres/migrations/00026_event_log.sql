-- +goose Up
-- The event log (issue 20): who made each change, and an index of each
-- organization's events for the console's activity pages.
--
-- An event's actor (domain.Actor) is four text columns, "" for none.
-- Events stored before this migration recorded no actor and read as such;
-- the columns are added with a constant default, so without a rewrite.
ALTER TABLE events
	ADD COLUMN actor_kind text NOT NULL DEFAULT '',
	ADD COLUMN actor_id text NOT NULL DEFAULT '',
	ADD COLUMN actor_name text NOT NULL DEFAULT '',
	ADD COLUMN actor_organization_id text NOT NULL DEFAULT '';

-- event_organizations lists, per organization, the events of its log: its
-- audience's organizations, the one it is about and its actor's
-- (domain.Event.LogOrganizations), each once. ListEvents pages through an
-- organization's rows backwards by the primary key, a page's cost bounded
-- by its size whatever the organization's volume; a GIN index on the
-- audience could only find them all and sort. Publish writes the rows in
-- the statement that stores the events, so they are atomic together, and
-- they go with their event (ON DELETE CASCADE, found by seq) when the
-- janitor ages it out.
CREATE TABLE event_organizations (
	organization_id text NOT NULL,
	seq             bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
	PRIMARY KEY (organization_id, seq)
);
CREATE INDEX event_organizations_seq ON event_organizations (seq);

INSERT INTO event_organizations (organization_id, seq)
SELECT DISTINCT o, e.seq
FROM events e, unnest(coalesce(e.audience_organization_ids, '{}') || ARRAY[e.organization_id]) AS o
WHERE o <> '';

-- The events an organization's own actors made, newest first (the
-- console's "last SCIM sync"): few, next to everything it hears of.
CREATE INDEX events_actor_organization ON events (actor_organization_id, seq)
	WHERE actor_organization_id <> '';
