-- +goose Up
-- RFC 9449 §10: an authorization request may bind its code to a DPoP key
-- (dpop_jkt, or the DPoP proof of a pushed request); the code keeps it
-- until the token request proves the key.
ALTER TABLE auth_requests ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';
