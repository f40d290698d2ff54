package directoryflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// adminOrgMFAPolicy: an organization's MFA policy through the admin API,
// as stored by the driver under test, and the organization.updated that
// reports a change.
func adminOrgMFAPolicy(t *testing.T, s *suite) {
	plain := s.newOrg(t, "mfaoff")
	assert.Equal(t, "off", plain.MFAPolicy, "created without one: off")

	r := s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "Directory Flow mfa " + suffix(), "mfaPolicy": "required"})
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r)
	var o org
	r.decode(t, &o)
	assert.Equal(t, "required", o.MFAPolicy)
	created := s.waitEvents(t, 1, func(e domain.Event) bool {
		return e.Type == domain.EventOrganizationCreated && e.OrganizationID == o.ID
	})
	assert.Equal(t, "required", field(created[0], "mfaPolicy"), "organization.created carries the policy")

	r = s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"mfaPolicy": "required_for_admins"})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var got org
	r.decode(t, &got)
	assert.Equal(t, "required_for_admins", got.MFAPolicy)
	assert.Equal(t, o.Name, got.Name, "what the PATCH leaves out stays")
	updated := s.waitEvents(t, 1, func(e domain.Event) bool {
		return e.Type == domain.EventOrganizationUpdated && e.OrganizationID == o.ID
	})
	require.Len(t, updated, 1)
	assert.Equal(t, "required_for_admins", field(updated[0], "mfaPolicy"), "organization.updated carries the new policy")

	r = s.admin(t, http.MethodGet, adminOrgPath(o.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r)
	var before org
	r.decode(t, &before)
	assert.Equal(t, "required_for_admins", before.MFAPolicy, "the driver stored it")
	for _, bad := range []any{"sometimes", "", 5, nil, true} {
		requireError(t, s.admin(t, http.MethodPatch, adminOrgPath(o.ID), map[string]any{"name": "Changed", "mfaPolicy": bad}),
			http.StatusBadRequest, "invalid_mfa_policy")
		requireError(t, s.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "Directory Flow mfa bad " + suffix(), "mfaPolicy": bad}),
			http.StatusBadRequest, "invalid_mfa_policy")
	}
	r = s.admin(t, http.MethodGet, adminOrgPath(o.ID), nil)
	r.decode(t, &got)
	assert.Equal(t, before, got, "the refused changes changed nothing")
	assert.Len(t, s.events(t, func(e domain.Event) bool {
		return e.Type == domain.EventOrganizationUpdated && e.OrganizationID == o.ID
	}), 1, "and told nothing")
}
