package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// ClientStore keeps registered OAuth clients.
type ClientStore interface {
	// CreateClient stores a new client. ErrAlreadyExists if the id is taken.
	CreateClient(ctx context.Context, c domain.Client) error
	// GetClient returns a client by id. ErrNotFound if there is none.
	GetClient(ctx context.Context, id string) (domain.Client, error)
	// UpdateClient reads the client, applies fn and writes the result
	// atomically: no concurrent update is lost. If fn returns an error nothing
	// is written and that error is returned. ErrNotFound if there is no client.
	UpdateClient(ctx context.Context, id string, fn func(*domain.Client) error) (domain.Client, error)
	// DeleteClient removes a client. ErrNotFound if there is none.
	DeleteClient(ctx context.Context, id string) error
}
