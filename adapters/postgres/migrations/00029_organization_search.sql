-- +goose Up
-- Searching organizations by name or slug (OrganizationStore.
-- SearchOrganizations, the console's search). A query finds an organization
-- when it is a prefix of one of its terms, domain.OrganizationSearchTerms:
-- its name and slug, lower-cased, from each of their words on. The adapter
-- computes the terms in Go and writes them with each write of the
-- organization, in the same statement or transaction, so that the search
-- follows Go's rule and lower-casing, not the database's locale (as
-- memberships.user_name_key does).
--
-- Why not pg_trgm, which would find any substring: it is an extension,
-- installed once per database into one schema, while this schema may be
-- one of many in the database (every test has its own, and is dropped with
-- everything in it), and its operator classes would have to be named by
-- that schema. Prefixes of words need nothing beyond a btree.
--
-- term is compared in "C" collation, byte order, so a prefix is one range
-- of the primary key: term >= key AND term < key || U+10FFFF (a code point
-- no term contains; domain.SearchTermsEnd), whatever the database's
-- collation. The primary key also keeps each term once per organization;
-- the second index serves rewriting an organization's terms, and the
-- cascade.
CREATE TABLE organization_search_terms (
	term            text COLLATE "C" NOT NULL,
	organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	PRIMARY KEY (term, organization_id)
);
CREATE INDEX organization_search_terms_organization ON organization_search_terms (organization_id);

-- The organizations written before this migration get their terms here, in
-- SQL: words are runs of [:alnum:], lower-cased by the database. For ASCII
-- names and slugs (slugs are ASCII) that is exactly the Go rule; a
-- non-ASCII name gets the Go rule's terms at its next write (a rename),
-- and until then is found by its slug and its ASCII words. Terms are cut
-- to 800 characters, which for ASCII is Go's cut at 800 bytes; either
-- finds everything, queries being shorter. (Names are at most 200
-- characters, so no term reaches btree's limit on an entry.)
INSERT INTO organization_search_terms (term, organization_id)
SELECT DISTINCT left(array_to_string(w.words[i:], ' '), 800), w.id
FROM (
	SELECT o.id, array_remove(regexp_split_to_array(lower(s.text), '[^[:alnum:]]+'), '') AS words
	FROM organizations o, LATERAL (VALUES (o.name), (o.slug)) AS s (text)
) AS w, generate_series(1, cardinality(w.words)) AS i;
