package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/vault/api"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// translate turns an error from the Vault client into the port's terms: a
// missing object is domain.ErrNotFound, a rejected request (a bug or a
// misconfiguration) stays a plain error, and everything that means "Vault
// cannot serve us now" is domain.ErrUnavailable, so the token endpoint
// answers 503 rather than 500.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("vault: %s: %w: %w", op, domain.ErrNotFound, err)
		case http.StatusBadRequest:
			return fmt.Errorf("vault: %s: %w", op, err)
		}
		// 403 (token expired or revoked: the AppRole loop logs in again),
		// 429, 5xx (sealed, standby without forwarding, overloaded).
		return fmt.Errorf("vault: %s: %w: %w", op, domain.ErrUnavailable, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("vault: %s: %w", op, err)
	}
	// Refused or reset connections, timeouts, TLS failures.
	return fmt.Errorf("vault: %s: %w: %w", op, domain.ErrUnavailable, err)
}

// isOutage reports whether err means that Vault could not be reached or
// could not serve, as opposed to the caller giving up or asking for
// something that does not exist.
func isOutage(ctx context.Context, err error) bool {
	return errors.Is(err, domain.ErrUnavailable) && ctx.Err() == nil
}
