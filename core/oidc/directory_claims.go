package oidc

import (
	"context"
	"errors"
	"slices"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// approvedOnly drops the extended scopes the client is no longer approved
// for. Userinfo applies it to every access token, so withdrawing an
// approval stops the directory claims at once; an access token's standard
// scopes stand until it expires, as a self-contained token's do.
func approvedOnly(c *domain.Client, scopes []string) []string {
	return keepScopes(scopes, func(s string) bool {
		return !domain.IsExtendedScope(s) || slices.Contains(c.ApprovedScopes, s)
	})
}

// grantedNow keeps the scopes the client may still be granted: an extended
// scope while it is approved, any other while the client's registration
// lists it (or an approval does). Every token is minted through it, so
// withdrawing an approval, or removing a scope from the registration (RFC
// 7592), takes effect at the next token even for grants made before: a
// refresh never keeps what the client no longer has (RFC 6749 §6).
func grantedNow(c *domain.Client, scopes []string) []string {
	return keepScopes(scopes, func(s string) bool {
		if domain.IsExtendedScope(s) {
			return slices.Contains(c.ApprovedScopes, s)
		}
		return slices.Contains(c.Scopes, s) || slices.Contains(c.ApprovedScopes, s)
	})
}

func keepScopes(scopes []string, keep func(string) bool) []string {
	if !slices.ContainsFunc(scopes, func(s string) bool { return !keep(s) }) {
		return scopes
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

var errUnlicensed = "the user does not hold a license for this application"

// requireLicense refuses a user without the client's license when the
// client requires one; code is the OAuth error to refuse with
// (access_denied at authorize, invalid_grant at refresh).
func (p *Provider) requireLicense(ctx context.Context, c *domain.Client, userID, code string) error {
	if !c.LicenseRequired {
		return nil
	}
	ok, err := p.deps.Licenses.HasLicense(ctx, c.ID, userID)
	if err != nil {
		return fault.Store("has license", err)
	}
	if !ok {
		return oauthErr(code, "%s", errUnlicensed)
	}
	return nil
}

// membershipClaim is one entry of organization_memberships.
type membershipClaim struct {
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	Role           string `json:"role"`
}

// directoryClaims adds the extended scopes' claims (integration guide §3):
// organization gives organization_id (the primary organization) and
// organization_memberships; permissions gives the roles and permissions the
// user holds in the primary organization.
func (p *Provider) directoryClaims(ctx context.Context, u *domain.User, scopes []string, claims map[string]any) error {
	wantOrg, wantPerms := slices.Contains(scopes, domain.ScopeOrganization), slices.Contains(scopes, domain.ScopePermissions)
	if !wantOrg && !wantPerms {
		return nil
	}
	all, err := p.deps.Orgs.ListUserMemberships(ctx, u.ID)
	if err != nil {
		return fault.Store("list memberships", err)
	}
	// A pending membership is not one yet, and a suspended one is the
	// organization's way of closing its doors: neither shows.
	ms := slices.DeleteFunc(all, func(m domain.Membership) bool { return m.Status != domain.MembershipActive })
	primary := primaryMembership(ms)
	if wantOrg {
		if err := p.organizationClaims(ctx, ms, primary, claims); err != nil {
			return err
		}
	}
	if wantPerms {
		return p.permissionClaims(ctx, primary, claims)
	}
	return nil
}

func primaryMembership(ms []domain.Membership) *domain.Membership {
	if i := slices.IndexFunc(ms, func(m domain.Membership) bool { return m.Primary }); i >= 0 {
		return &ms[i]
	}
	if len(ms) > 0 {
		return &ms[0] // the oldest, as listed
	}
	return nil
}

func (p *Provider) organizationClaims(ctx context.Context, ms []domain.Membership, primary *domain.Membership, claims map[string]any) error {
	list := make([]membershipClaim, 0, len(ms))
	for _, m := range ms {
		o, err := p.deps.Orgs.GetOrganization(ctx, m.OrganizationID)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return fault.Store("get organization", err)
		}
		h, err := access.Resolve(ctx, p.deps.Roles, p.deps.Groups, m)
		if err != nil {
			return fault.Store("effective role", err)
		}
		list = append(list, membershipClaim{OrganizationID: o.ID, Name: o.Name, Role: h.Effective.Name})
	}
	claims["organization_memberships"] = list
	if primary != nil {
		claims["organization_id"] = primary.OrganizationID
	}
	return nil
}

// permissionClaims gives what the primary membership holds: its roles, the
// effective one (the highest of its own and its groups' mapped roles)
// first, and the union of their permissions.
func (p *Provider) permissionClaims(ctx context.Context, primary *domain.Membership, claims map[string]any) error {
	roles, perms := []string{}, []string{}
	if primary != nil {
		h, err := access.Resolve(ctx, p.deps.Roles, p.deps.Groups, *primary)
		if err != nil {
			return fault.Store("effective role", err)
		}
		roles = append(roles, h.Names()...)
		perms = append(perms, h.Permissions()...)
	}
	claims["roles"] = roles
	claims["permissions"] = perms
	return nil
}
