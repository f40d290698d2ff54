-- +goose Up
-- RFC 9449 §5: a public client's refresh tokens are bound to the DPoP key
-- it presented; the family keeps that key's RFC 7638 thumbprint ('' when
-- the family is not bound, as every family made before this one is).
ALTER TABLE refresh_families ADD COLUMN dpop_jkt text NOT NULL DEFAULT '';
