-- +goose Up
-- One-time values (client-assertion jti, RFC 7523 §3; DPoP proof jti,
-- RFC 9449 §11.1) until they expire. Logged, unlike rate_limits: a crash
-- that lost these rows would let a captured assertion be replayed.
CREATE TABLE replay_cache (
	key        text PRIMARY KEY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX replay_cache_expires_at ON replay_cache (expires_at);
