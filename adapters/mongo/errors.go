package mongo

import (
	"context"
	"errors"
	"fmt"
	"net"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// translate turns a driver error into a domain sentinel at the edge: no
// documents is ErrNotFound, a duplicate key ErrAlreadyExists, a lost or
// refused connection ErrUnavailable. Anything else is wrapped with the
// operation; the driver error stays in the chain for logs.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("mongo: %s: %w", op, domain.ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("mongo: %s: %w: %w", op, domain.ErrAlreadyExists, err)
	case unavailable(err):
		return fmt.Errorf("mongo: %s: %w: %w", op, domain.ErrUnavailable, err)
	default:
		return fmt.Errorf("mongo: %s: %w", op, err)
	}
}

// unavailable reports whether err means the server cannot be reached now,
// rather than that the request was wrong: the caller answers 503 and the
// driver reconnects by itself.
func unavailable(err error) bool {
	var netErr net.Error
	switch {
	case mongo.IsNetworkError(err), mongo.IsTimeout(err):
		return true
	case errors.Is(err, mongo.ErrClientDisconnected):
		return true
	case errors.As(err, &netErr):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	}
	var sel topology.ServerSelectionError
	return errors.As(err, &sel)
}
