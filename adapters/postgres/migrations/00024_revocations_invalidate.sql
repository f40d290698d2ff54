-- +goose Up
-- A revocation tells every instance's revocation cache (CachedGrantStore)
-- when its transaction commits, whichever statement made it. Rows only
-- come (an upsert may move an expiry later); the janitor's deletions are of
-- revocations past the tokens they cover, which nobody asks about.
-- +goose StatementBegin
CREATE FUNCTION calimatic_jti_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('calimatic_invalidate', 'rjti:' || NEW.jti);
	RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION calimatic_grant_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('calimatic_invalidate', 'rgrant:' || NEW.grant_id);
	RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER revoked_access_tokens_invalidate AFTER INSERT OR UPDATE ON revoked_access_tokens
	FOR EACH ROW EXECUTE FUNCTION calimatic_jti_revoked();
CREATE TRIGGER revoked_grants_invalidate AFTER INSERT OR UPDATE ON revoked_grants
	FOR EACH ROW EXECUTE FUNCTION calimatic_grant_revoked();

-- +goose Down
DROP TRIGGER revoked_grants_invalidate ON revoked_grants;
DROP TRIGGER revoked_access_tokens_invalidate ON revoked_access_tokens;
DROP FUNCTION calimatic_grant_revoked();
DROP FUNCTION calimatic_jti_revoked();
