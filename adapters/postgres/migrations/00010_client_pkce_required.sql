-- +goose Up
-- oidc.pkce_required: public lets a confidential client omit PKCE; an
-- administrator may still require it of one client (domain.Client.PKCERequired).
ALTER TABLE clients ADD COLUMN pkce_required boolean NOT NULL DEFAULT false;
