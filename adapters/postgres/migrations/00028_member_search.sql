-- +goose Up
-- The console searches an organization's members by prefix of their email
-- or of their given or family name, case-insensitively
-- (DirectoryStore.SearchMembers). A prefix is a range in the "C" collation,
-- which these expression indexes serve whatever the database's collation:
-- a rare prefix is found here and its users then checked for membership
-- (the memberships primary key), while a common one is found by walking
-- memberships_organization_user in user id order, which needs nothing new.
-- The email key is domain.NormalizeEmail's, already lower-case; the names
-- are lower-cased here as the store lower-cases the terms.
CREATE INDEX users_email_key_prefix ON users ((email_key COLLATE "C"));
CREATE INDEX users_given_name_prefix ON users ((lower(given_name) COLLATE "C"));
CREATE INDEX users_family_name_prefix ON users ((lower(family_name) COLLATE "C"));
