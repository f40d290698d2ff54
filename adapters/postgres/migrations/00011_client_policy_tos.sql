-- +goose Up
-- RFC 7591 policy_uri and tos_uri, kept, returned and shown at consent.
ALTER TABLE clients
	ADD COLUMN policy_uri text NOT NULL DEFAULT '',
	ADD COLUMN tos_uri    text NOT NULL DEFAULT '';
