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

// EventLog reads the events the outbox keeps. Events stay there after
// dispatch until the janitor ages them out (the webhook retention, 30 days
// by default), so the log reaches back that far.
type EventLog interface {
	// ListEvents returns one page of q.OrganizationID's events (see
	// domain.EventQuery for which those are and for the filters), newest
	// first in publication order. A page holds at most q.Limit events (0
	// or less, or more than domain.MaxEventPage, is domain.MaxEventPage);
	// its Next, passed back as q.Before, reads the older ones, and events
	// published since never shift it. A cursor that names no stored event
	// still pages from where it points. It reads committed events only, and
	// has no sentinel errors.
	ListEvents(ctx context.Context, q domain.EventQuery) (domain.EventPage, error)
}
