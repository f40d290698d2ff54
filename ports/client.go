package ports

import (
	"context"

	"github.com/golang-jwt/jwt/v5"

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
	// ListClients returns up to limit clients ordered by id, starting after
	// the id after ("" for the first page); empty when limit <= 0. Each
	// page is one read; pages read at different times may miss a client
	// created or see one deleted between them.
	ListClients(ctx context.Context, after string, limit int) ([]domain.Client, error)
}

// ClientKeys finds the public keys a client registered, to check what it
// signs: private_key_jwt assertions (RFC 7523 §3).
type ClientKeys interface {
	// Keyfunc returns a key lookup over c's keys for
	// github.com/golang-jwt/jwt/v5: its inline jwks, or the JWK Set at its
	// jwks_uri. A jwks_uri is fetched under the webhooks' SSRF rules,
	// cached, refreshed periodically, and fetched again when a token names
	// a kid the cached set lacks (rate limited per set), so a key rotated
	// in at the client is picked up. ErrNotFound when c registered no keys;
	// an error wrapping domain.ErrUnavailable when the set cannot be
	// fetched.
	Keyfunc(ctx context.Context, c *domain.Client) (jwt.Keyfunc, error)
}
