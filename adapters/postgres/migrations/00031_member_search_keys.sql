-- +goose Up
-- The member search (DirectoryStore.SearchMembers) looked up the prefix in
-- indexes over every account of the platform (migration 00028), then kept
-- the organization's: a name rare in the school but common elsewhere read
-- every account that had it. Each membership now carries its account's
-- search keys, so that the organization's own index answers: the email key
-- (already lower-case) and the lower-cased given and family names.
ALTER TABLE memberships
	ADD COLUMN search_email text NOT NULL DEFAULT '',
	ADD COLUMN search_given text NOT NULL DEFAULT '',
	ADD COLUMN search_family text NOT NULL DEFAULT '';

UPDATE memberships m SET search_email = u.email_key, search_given = lower(u.given_name), search_family = lower(u.family_name)
	FROM users u WHERE u.id = m.user_id;

-- A new membership takes its account's keys; an account's change reaches
-- its memberships in the same statement. Triggers, so that no statement
-- that writes either table (the user store's, the directory's, SCIM's) can
-- leave them apart.
-- +goose StatementBegin
CREATE FUNCTION calimatic_membership_search_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT u.email_key, lower(u.given_name), lower(u.family_name)
		INTO NEW.search_email, NEW.search_given, NEW.search_family
		FROM users u WHERE u.id = NEW.user_id;
	IF NOT FOUND THEN -- no such account: the foreign key refuses the row
		NEW.search_email := ''; NEW.search_given := ''; NEW.search_family := '';
	END IF;
	RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER memberships_search_keys BEFORE INSERT OR UPDATE OF user_id ON memberships
	FOR EACH ROW EXECUTE FUNCTION calimatic_membership_search_keys();

-- +goose StatementBegin
CREATE FUNCTION calimatic_user_search_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE memberships SET search_email = NEW.email_key, search_given = lower(NEW.given_name), search_family = lower(NEW.family_name)
		WHERE user_id = NEW.id;
	RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER users_search_keys AFTER UPDATE OF email_key, given_name, family_name ON users
	FOR EACH ROW
	WHEN (OLD.email_key IS DISTINCT FROM NEW.email_key OR OLD.given_name IS DISTINCT FROM NEW.given_name
		OR OLD.family_name IS DISTINCT FROM NEW.family_name)
	EXECUTE FUNCTION calimatic_user_search_keys();

-- A prefix is a range in the "C" collation (byte order), which these
-- indexes serve whatever the database's collation.
CREATE INDEX memberships_search_email ON memberships (organization_id, (search_email COLLATE "C"));
CREATE INDEX memberships_search_given ON memberships (organization_id, (search_given COLLATE "C"));
CREATE INDEX memberships_search_family ON memberships (organization_id, (search_family COLLATE "C"));
DROP INDEX users_email_key_prefix;
DROP INDEX users_given_name_prefix;
DROP INDEX users_family_name_prefix;
