-- +goose Up
-- SCIM identities: each membership's user name (an organization's own name
-- for its member, SCIM's userName), the rule by which a SCIM token picks the
-- sign-in email, and the rest of RFC 7643's User attributes in the profiles.

-- user_name is domain.Membership.UserName, kept exactly as set (case and
-- Unicode included); '' is no name. user_name_key is
-- domain.UserNameKey(user_name), computed in Go by the adapter when it
-- writes, as users.email_key is: the uniqueness and the lookups then follow
-- Go's lower-casing, not the database's locale (a database whose LC_CTYPE
-- is C lower-cases ASCII only). The constant defaults add the columns
-- without rewriting the table; the backfill below rewrites it once.
ALTER TABLE memberships
	ADD COLUMN user_name text NOT NULL DEFAULT '',
	ADD COLUMN user_name_key text NOT NULL DEFAULT '';

-- Before this migration a SCIM userName was the account's email, so every
-- existing membership is named after its user's email, as stored; a
-- provider that looks a member up by the userName it sent finds it as
-- before.
--
-- The key is users.email_key, which the adapter wrote as
-- strings.ToLower(strings.TrimSpace(email)). strings.ToLower maps rune for
-- rune, so when the key has as many characters as the email, TrimSpace
-- removed nothing and the key is exactly domain.UserNameKey(email), Go's
-- lower-casing rather than the database's. An email with surrounding
-- space (which domain.ValidEmail refuses, so none is expected) falls back
-- to lower(email).
--
-- Emails are unique (users_email_key), so no two members of one
-- organization get one key and the unique index below builds. A user with
-- no email (or only space, whose email_key is '') and a membership whose
-- user is gone (memberships.user_id has no foreign key) keep '': no name,
-- which never collides. One join of memberships to users by primary key.
UPDATE memberships m SET
	user_name = u.email,
	user_name_key = CASE WHEN char_length(u.email_key) = char_length(u.email)
		THEN u.email_key ELSE lower(u.email) END
FROM users u
WHERE u.id = m.user_id AND u.email_key <> '';

-- A user name is unique within its organization by its key; an empty name
-- is no name, and the partial index leaves it out. The same index serves
-- OrganizationStore.GetMembershipByUserName and SCIM's userName eq (the
-- providers' existence check before a create), each a lookup by
-- (organization_id, user_name_key) that restates user_name_key <> '' so
-- that a generic plan may use it. The adapter tells a violation of this
-- index from others by its name (see errors.go).
CREATE UNIQUE INDEX memberships_user_name ON memberships (organization_id, user_name_key)
	WHERE user_name_key <> '';

-- sign_in_email is domain.SCIMToken.SignInEmail: '' reads as
-- domain.SignInPrimaryEmail, the rule of every token made before it.
ALTER TABLE scim_tokens ADD COLUMN sign_in_email text NOT NULL DEFAULT '';

-- users.profiles keeps the shape 00004 describes, with more keys in each
-- organization's profileDoc (see profiles.go); a document without them
-- reads as before, every new attribute empty. The keys, fixed in the
-- adapter rather than taken from Go names:
--
--   {"<organization id>": {"externalId": "...", "displayName": "...",
--     "employeeNumber": "...", "department": "...", "managerId": "...",
--     "managerName": "...",
--     "formattedName": "...", "middleName": "...", "honorificPrefix": "...",
--     "honorificSuffix": "...", "nickName": "...", "profileUrl": "...",
--     "title": "...", "userType": "...", "preferredLanguage": "...",
--     "locale": "...", "timezone": "...", "costCenter": "...",
--     "organization": "...", "division": "...",
--     "emails": [{"value": "...", "display": "...", "type": "...",
--       "primary": true}], "phoneNumbers": [...], "ims": [...],
--     "photos": [...], "entitlements": [...], "roles": [...],
--     "x509Certificates": [...],
--     "addresses": [{"formatted": "...", "streetAddress": "...",
--       "locality": "...", "region": "...", "postalCode": "...",
--       "country": "...", "type": "...", "primary": true}]}}
--
-- As before, an empty string, false or empty list is left out ("value" of
-- a multi-valued entry excepted, which is always written).
