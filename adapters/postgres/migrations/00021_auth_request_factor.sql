-- +goose Up
-- A sign-in that needs a second factor: the request's acr_values, the
-- user who gave the right password and still owes a factor, and a
-- WebAuthn ceremony under way; and a sign-in for the account page, which
-- returns to a path of this provider instead of a client.
ALTER TABLE auth_requests ADD COLUMN acr_values text[];
ALTER TABLE auth_requests ADD COLUMN factor_user_id text NOT NULL DEFAULT '';
ALTER TABLE auth_requests ADD COLUMN ceremony bytea;
ALTER TABLE auth_requests ADD COLUMN return_to text NOT NULL DEFAULT '';
