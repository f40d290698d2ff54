-- +goose Up
-- The member search's name keys were lower-cased by the database (00031),
-- but its terms by Go (strings.ToLower): under a "C" locale lower() folds
-- ASCII only, so "Élise" could not be found by "éli". The store now writes
-- each account's lower-cased names itself, as it writes email_key, and the
-- memberships copy them. Existing rows are lower-cased here, which matches
-- Go exactly for ASCII and under a UTF-8 locale nearly always; the next
-- change of a name writes Go's.
ALTER TABLE users
	ADD COLUMN given_name_key text NOT NULL DEFAULT '',
	ADD COLUMN family_name_key text NOT NULL DEFAULT '';
UPDATE users SET given_name_key = lower(given_name), family_name_key = lower(family_name);
UPDATE memberships m SET search_given = u.given_name_key, search_family = u.family_name_key
	FROM users u WHERE u.id = m.user_id;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION calimatic_membership_search_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT u.email_key, u.given_name_key, u.family_name_key
		INTO NEW.search_email, NEW.search_given, NEW.search_family
		FROM users u WHERE u.id = NEW.user_id;
	IF NOT FOUND THEN -- no such account: the foreign key refuses the row
		NEW.search_email := ''; NEW.search_given := ''; NEW.search_family := '';
	END IF;
	RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION calimatic_user_search_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE memberships SET search_email = NEW.email_key, search_given = NEW.given_name_key, search_family = NEW.family_name_key
		WHERE user_id = NEW.id;
	RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP TRIGGER users_search_keys ON users;
CREATE TRIGGER users_search_keys AFTER UPDATE OF email_key, given_name_key, family_name_key ON users
	FOR EACH ROW
	WHEN (OLD.email_key IS DISTINCT FROM NEW.email_key OR OLD.given_name_key IS DISTINCT FROM NEW.given_name_key
		OR OLD.family_name_key IS DISTINCT FROM NEW.family_name_key)
	EXECUTE FUNCTION calimatic_user_search_keys();
