package directory

import (
	"context"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// maxEmailLookupLen bounds an address looked up to grant or revoke the
// platform administrator role: domain.ValidEmail refuses longer ones
// (RFC 5321 §4.5.3.1), so no account holds one and it is not worth a query.
const maxEmailLookupLen = 254

// SetPlatformAdmin grants (on) or revokes the platform administrator role
// on an account, as the platform admin API asks. Granting it twice, or
// revoking it from an account without it, changes nothing and succeeds, so
// that a retried request is safe. An unknown account is user_not_found.
//
// No event is emitted: the event names are fixed by the integration guide,
// and none of them is about the platform's own administrators, whom no
// organization's application has any business hearing about.
func (s *Service) SetPlatformAdmin(ctx context.Context, userID string, on bool) (domain.User, error) {
	if userID == "" || len(userID) > 64 || !utf8.ValidString(userID) {
		return domain.User{}, errNoUser
	}
	return s.setPlatformAdmin(ctx, userID, on)
}

// SetPlatformAdminByEmail is SetPlatformAdmin for the account holding
// email, in any letter case: the command line names accounts by the
// address their holder knows, not by an id.
func (s *Service) SetPlatformAdminByEmail(ctx context.Context, email string, on bool) (domain.User, error) {
	key := domain.NormalizeEmail(email)
	if key == "" || len(key) > maxEmailLookupLen || !utf8.ValidString(key) {
		return domain.User{}, errNoUser
	}
	u, err := s.deps.Users.GetUserByEmail(ctx, key)
	if err != nil {
		return domain.User{}, userStoreErr("get user by email", err)
	}
	return s.setPlatformAdmin(ctx, u.ID, on)
}

// setPlatformAdmin writes the flag through UpdateUser, so a concurrent
// change to the account is neither lost nor overwritten. UpdatedAt moves
// only when the flag does.
func (s *Service) setPlatformAdmin(ctx context.Context, userID string, on bool) (domain.User, error) {
	now := s.now()
	u, err := s.deps.Users.UpdateUser(ctx, userID, func(u *domain.User) error {
		if u.PlatformAdmin != on {
			u.PlatformAdmin, u.UpdatedAt = on, now
		}
		return nil
	})
	if err != nil {
		return domain.User{}, userStoreErr("update user", err)
	}
	return u, nil
}
