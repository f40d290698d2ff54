-- +goose Up
-- platform_locked is domain.User.PlatformLocked: a platform administrator
-- suspended or deactivated the account, and only one lifts it. Accounts
-- suspended before it existed read as suspended by their organizations.
ALTER TABLE users ADD COLUMN platform_locked boolean NOT NULL DEFAULT false;
