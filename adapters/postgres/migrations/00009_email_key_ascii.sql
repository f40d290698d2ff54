-- +goose Up
-- domain.NormalizeEmail now lower-cases ASCII letters only (Go's Unicode
-- lower-casing turned the Kelvin sign into "k", so one address could be
-- looked up as another). New addresses must be ASCII; accounts an older
-- version stored with other characters keep working, under the key the
-- adapter now computes for them. The new key folds less than the old one,
-- so it cannot collide where the old keys did not.
UPDATE users
SET email_key = translate(email_key_src.trimmed, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
FROM (SELECT id, btrim(email, E' \t\n\r\f\v') AS trimmed FROM users
      WHERE email_key <> '' AND octet_length(email) <> char_length(email)) AS email_key_src
WHERE users.id = email_key_src.id;
