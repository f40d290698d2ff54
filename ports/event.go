package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// EventPublisher accepts domain events for durable, asynchronous delivery
// (the webhook outbox). Publish returns once the events are stored; a crash
// after that loses none of them.
type EventPublisher interface {
	// Publish stores the events in order, atomically: all or none.
	Publish(ctx context.Context, events ...domain.Event) error
}
