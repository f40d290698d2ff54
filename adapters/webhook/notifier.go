package webhook

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Notifier is a ports.EventPublisher that wakes the worker after each
// successful Publish, so deliveries go out at once instead of on the next
// poll. Wakes coalesce: one pending wake stands for any number of events,
// since a dispatch step takes whatever is stored.
type Notifier struct {
	inner ports.EventPublisher
	wake  chan struct{}
}

// NewNotifier wraps inner.
func NewNotifier(inner ports.EventPublisher) *Notifier {
	return &Notifier{inner: inner, wake: make(chan struct{}, 1)}
}

var _ ports.EventPublisher = (*Notifier)(nil)

// Publish stores the events through the wrapped publisher, then wakes the
// worker without ever blocking the caller.
func (n *Notifier) Publish(ctx context.Context, events ...domain.Event) error {
	if err := n.inner.Publish(ctx, events...); err != nil {
		return err
	}
	if len(events) > 0 {
		select {
		case n.wake <- struct{}{}:
		default: // a wake is already pending
		}
	}
	return nil
}

// Wake receives once after any number of publications since the last
// receive.
func (n *Notifier) Wake() <-chan struct{} { return n.wake }
