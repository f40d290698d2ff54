package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// DeviceGrantStore keeps device authorization grants (RFC 8628), keyed by
// the hash of the device code and findable by the hash of the user code.
//
// A grant stays in the store at least until a minute past its ExpiresAt,
// so that a device polling late is told expired_token rather than
// invalid_grant; after that the store may delete it.
type DeviceGrantStore interface {
	// CreateDeviceGrant stores a grant. ErrAlreadyExists if its device code
	// hash or its user code hash is taken by a grant still in the store.
	CreateDeviceGrant(ctx context.Context, g domain.DeviceGrant) error
	// GetDeviceGrant returns the grant with this device code hash.
	// ErrNotFound if there is none or it expired at now.
	GetDeviceGrant(ctx context.Context, deviceCodeHash []byte, now time.Time) (domain.DeviceGrant, error)
	// GetDeviceGrantByUserCode returns the grant with this user code hash.
	// ErrNotFound if there is none or it expired at now.
	GetDeviceGrantByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (domain.DeviceGrant, error)
	// UpdateDeviceGrant reads the grant with this device code hash, applies
	// fn and writes the result, atomically: of concurrent updates each sees
	// the one before, so of concurrent polls of an approved grant exactly
	// one redeems it. fn may run more than once (a lost compare-and-swap is
	// retried) and must only change the grant it is given; the keys and the
	// expiry are kept whatever it does. A failed fn writes nothing and its
	// error is returned as is. An expired grant is passed to fn too, while
	// the store keeps it (see above): the caller judges expiry. ErrNotFound
	// if there is none.
	UpdateDeviceGrant(ctx context.Context, deviceCodeHash []byte, fn func(*domain.DeviceGrant) error) (domain.DeviceGrant, error)
}
