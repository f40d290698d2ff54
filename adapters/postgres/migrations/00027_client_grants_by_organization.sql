-- +goose Up
-- The console lists the grants on an organization ordered by client id
-- (ClientGrantStore.ListOrganizationGrants). This index serves that read
-- in its order, and the cascade from organizations as the one it replaces
-- did.
CREATE INDEX client_grants_organization_client ON client_grants (organization_id, client_id);
DROP INDEX client_grants_organization;
