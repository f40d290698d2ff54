-- +goose Up
-- Issue 17's client metadata: keys for private_key_jwt (RFC 7591 jwks or
-- jwks_uri, at most one), the assertion algorithm, PAR and DPoP
-- requirements (RFC 9126 §6, RFC 9449 §5.2) and back-channel logout (OIDC
-- Back-Channel Logout 1.0 §2.2).
ALTER TABLE clients
	ADD COLUMN jwks                                text    NOT NULL DEFAULT '',
	ADD COLUMN jwks_uri                            text    NOT NULL DEFAULT '',
	ADD COLUMN token_endpoint_auth_signing_alg     text    NOT NULL DEFAULT '',
	ADD COLUMN require_pushed_authorization_requests boolean NOT NULL DEFAULT false,
	ADD COLUMN dpop_bound_access_tokens            boolean NOT NULL DEFAULT false,
	ADD COLUMN backchannel_logout_uri              text    NOT NULL DEFAULT '',
	ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false;
