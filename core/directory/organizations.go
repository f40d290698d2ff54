package directory

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// OrganizationInput creates or changes an organization; nil fields stay.
type OrganizationInput struct {
	Name *string
	Slug *string
	// MFAPolicy is what the organization asks of its members' sign-in; an
	// organization created without one is under off.
	MFAPolicy *domain.MFAPolicy
}

// ErrInvalidMFAPolicy refuses an MFA policy that is not one of the four.
// The edge returns it too for a value it cannot read as one (a number,
// null), so that every bad policy is refused alike.
var ErrInvalidMFAPolicy = fault.New(fault.Invalid, "invalid_mfa_policy",
	"mfaPolicy must be one of %q, %q, %q or %q", domain.MFAOff, domain.MFAOptional, domain.MFARequiredForAdmins, domain.MFARequired)

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// slugify derives a slug from a name: lower-case letters and digits joined
// by hyphens.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

func (in OrganizationInput) check() error {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return fault.New(fault.Invalid, "invalid_request", "name must not be empty")
		}
		if err := checkText("name", *in.Name, 200); err != nil {
			return err
		}
	}
	if in.Slug != nil && !slugRE.MatchString(*in.Slug) {
		return fault.New(fault.Invalid, "invalid_slug", "slug must be 1 to 64 lower-case letters, digits and inner hyphens")
	}
	// Given, it must be one of the four: "" is not "leave it" (that is
	// nil), nor off, which is asked for by name.
	if in.MFAPolicy != nil && !domain.ValidMFAPolicy(*in.MFAPolicy) {
		return ErrInvalidMFAPolicy
	}
	return nil
}

// CreateOrganization makes an organization and emits organization.created.
// It is under the MFA policy given, else off: the directory, not the
// stores, decides the default, so the answer and the event say it too.
func (s *Service) CreateOrganization(ctx context.Context, in OrganizationInput) (domain.Organization, error) {
	if in.Name == nil {
		return domain.Organization{}, fault.New(fault.Invalid, "invalid_request", "name is required")
	}
	if in.Slug == nil {
		slug := slugify(*in.Name)
		in.Slug = &slug
	}
	if err := in.check(); err != nil {
		return domain.Organization{}, err
	}
	return unit(s, ctx, func(ctx context.Context) (domain.Organization, error) {
		now := s.now()
		o := domain.Organization{
			ID: s.deps.Random.UUID(), Name: strings.TrimSpace(*in.Name), Slug: *in.Slug, MFAPolicy: domain.MFAOff,
			CreatedAt: now, UpdatedAt: now,
		}
		if in.MFAPolicy != nil {
			o.MFAPolicy = *in.MFAPolicy
		}
		if err := s.deps.Orgs.CreateOrganization(ctx, o); err != nil {
			if errors.Is(err, domain.ErrAlreadyExists) {
				return domain.Organization{}, fault.New(fault.Taken, "slug_taken", "slug %q is taken", o.Slug)
			}
			return domain.Organization{}, fault.Store("create organization", err)
		}
		return o, s.publish(ctx, s.orgEvent(domain.EventOrganizationCreated, o, now))
	})
}

// GetOrganization returns an organization.
func (s *Service) GetOrganization(ctx context.Context, id string) (domain.Organization, error) {
	o, err := s.deps.Orgs.GetOrganization(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return o, errNoOrg
	}
	if err != nil {
		return o, fault.Store("get organization", err)
	}
	return o, nil
}

// UpdateOrganization changes an organization and emits organization.updated,
// whose data carries the organization as changed, its MFA policy included,
// in the unit of work of the change. Only platform administrators call it:
// no client grant or organization role reaches an organization's own
// settings, so an organization's owners ask an administrator to change its
// policy, up or down.
func (s *Service) UpdateOrganization(ctx context.Context, id string, in OrganizationInput) (domain.Organization, error) {
	if err := in.check(); err != nil {
		return domain.Organization{}, err
	}
	return unit(s, ctx, func(ctx context.Context) (domain.Organization, error) {
		return s.updateOrganization(ctx, id, in)
	})
}

func (s *Service) updateOrganization(ctx context.Context, id string, in OrganizationInput) (domain.Organization, error) {
	now := s.now()
	o, err := s.deps.Orgs.UpdateOrganization(ctx, id, func(o *domain.Organization) error {
		if in.Name != nil {
			o.Name = strings.TrimSpace(*in.Name)
		}
		if in.Slug != nil {
			o.Slug = *in.Slug
		}
		if in.MFAPolicy != nil {
			o.MFAPolicy = *in.MFAPolicy
		}
		o.UpdatedAt = now
		return nil
	})
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return o, errNoOrg
	case errors.Is(err, domain.ErrAlreadyExists):
		return o, fault.New(fault.Taken, "slug_taken", "slug %q is taken", *in.Slug)
	case err != nil:
		return o, fault.Store("update organization", err)
	}
	return o, s.publish(ctx, s.orgEvent(domain.EventOrganizationUpdated, o, now))
}

// ListOrganizations lists organizations by id.
func (s *Service) ListOrganizations(ctx context.Context, cursor string, limit int) (Page[domain.Organization], error) {
	after, limit, err := pageArgs(cursor, limit)
	if err != nil {
		return Page[domain.Organization]{}, err
	}
	os, err := s.deps.Orgs.ListOrganizations(ctx, after, limit+1)
	if err != nil {
		return Page[domain.Organization]{}, fault.Store("list organizations", err)
	}
	return pageOf(os, limit, idOfOrg), nil
}
