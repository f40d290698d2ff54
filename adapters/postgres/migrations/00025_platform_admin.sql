-- +goose Up
-- platform_admin is domain.User.PlatformAdmin: the account administers the
-- whole platform in the console. Every existing account starts without it;
-- only the CLI and the platform admin API grant it.
ALTER TABLE users ADD COLUMN platform_admin boolean NOT NULL DEFAULT false;
