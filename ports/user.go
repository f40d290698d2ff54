package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// UserStore keeps users and their credentials.
type UserStore interface {
	// CreateUser stores a new user. ErrAlreadyExists if the id or the
	// (normalised, case-insensitive) email is taken; the check and the insert
	// are one atomic step, so parallel creates of one email make one user.
	CreateUser(ctx context.Context, u domain.User) error
	// GetUser returns a user by id. ErrNotFound if there is none.
	GetUser(ctx context.Context, id string) (domain.User, error)
	// GetUserByEmail returns the user with this email, compared
	// case-insensitively. ErrNotFound if there is none.
	GetUserByEmail(ctx context.Context, email string) (domain.User, error)
	// UpdateUser reads the user, applies fn and writes the result atomically.
	// If fn returns an error nothing is written and that error is returned.
	// ErrNotFound if there is no user; ErrAlreadyExists if fn changed the email
	// to one that is taken.
	UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error)
}
