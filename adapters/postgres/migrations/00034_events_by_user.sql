-- +goose Up
-- A member's page shows their latest events in the organization's log,
-- and the activity page filters by user: ListEvents walks the user's own
-- events, newest first, and keeps those in the organization's log, rather
-- than walk the organization's whole log for a user who is in little of it.
CREATE INDEX events_user_seq ON events (user_id, seq);
