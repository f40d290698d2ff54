-- +goose Up
-- Refresh tokens issued without offline_access end with the browser session
-- that issued them, and logout by id_token_hint ends the session its sid
-- names: both find a session by its public sid. Sids are 128 random bits.
CREATE UNIQUE INDEX sessions_sid ON sessions (sid);
