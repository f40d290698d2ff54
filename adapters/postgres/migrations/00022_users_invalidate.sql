-- +goose Up
-- Every write that changes or removes a user row tells every instance's
-- user cache (CachedUserStore) when its transaction commits, whichever
-- statement made it: the user store's, the directory's, SCIM's. A trigger
-- cannot be forgotten by a new code path, as a pg_notify call in Go could.
-- PostgreSQL folds equal notices of one transaction into one.
-- +goose StatementBegin
CREATE FUNCTION calimatic_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('calimatic_invalidate', 'user:' || OLD.id);
	RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER users_invalidate AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION calimatic_user_changed();
