-- +goose Up
-- mfa_policy is domain.Organization.MFAPolicy: what the organization asks
-- of its members' sign-in. Every organization from before this migration
-- never set one, so the constant default puts them under off without
-- rewriting the table. The CHECK admits the four policies only; the store
-- writes an organization given none as off (domain.MFAPolicy.OrOff), so
-- no row holds ''.
ALTER TABLE organizations ADD COLUMN mfa_policy text NOT NULL DEFAULT 'off'
	CONSTRAINT organizations_mfa_policy CHECK (mfa_policy IN ('off', 'optional', 'required_for_admins', 'required'));
