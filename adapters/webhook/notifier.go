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
// worker without ever blocking the caller. Inside a unit of work that
// Units made, the wake waits for the unit's end: before its commit the
// worker would find nothing.
func (n *Notifier) Publish(ctx context.Context, events ...domain.Event) error {
	if err := n.inner.Publish(ctx, events...); err != nil {
		return err
	}
	if len(events) > 0 && ctx.Value(unitMark{}) == nil {
		n.poke()
	}
	return nil
}

func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default: // a wake is already pending
	}
}

// unitMark marks a context inside a unit that Units made.
type unitMark struct{}

// Units wraps a unit of work so that a unit that commits wakes the worker,
// once, after its commit.
func (n *Notifier) Units(inner ports.UnitOfWork) ports.UnitOfWork {
	return notifyingUnits{inner: inner, n: n}
}

type notifyingUnits struct {
	inner ports.UnitOfWork
	n     *Notifier
}

func (u notifyingUnits) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(unitMark{}) != nil { // joining a unit: its end wakes
		return u.inner.Atomically(ctx, fn)
	}
	err := u.inner.Atomically(context.WithValue(ctx, unitMark{}, true), fn)
	if err == nil {
		u.n.poke()
	}
	return err
}

// Wake receives once after any number of publications since the last
// receive.
func (n *Notifier) Wake() <-chan struct{} { return n.wake }
