-- +goose Up
-- OIDC Core §5.5: the claims parameter of an authorization request goes
-- with it to its code and to the refresh family it starts, as normalized
-- JSON.
ALTER TABLE auth_requests ADD COLUMN claims text NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN claims text NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN claims text NOT NULL DEFAULT '';
