package access

import "github.com/calimatic/calimatic-auth/core/domain"

// Caller is a client authenticated for the user management API, with the
// organizations it was granted. The directory checks each of its calls
// against the grants; the webhook API scopes subscriptions to its client.
type Caller struct {
	Client domain.Client
	Grants []domain.ClientGrant
}

// Grant returns the caller's grant on an organization, or nil.
func (c *Caller) Grant(orgID string) *domain.ClientGrant {
	for i := range c.Grants {
		if c.Grants[i].OrganizationID == orgID {
			return &c.Grants[i]
		}
	}
	return nil
}

// OrgIDs lists the organizations granted to the caller.
func (c *Caller) OrgIDs() []string {
	out := make([]string, len(c.Grants))
	for i, g := range c.Grants {
		out[i] = g.OrganizationID
	}
	return out
}
