package webhook

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

type fakePublisher struct {
	err    error
	events []domain.Event
}

func (p *fakePublisher) Publish(_ context.Context, events ...domain.Event) error {
	if p.err != nil {
		return p.err
	}
	p.events = append(p.events, events...)
	return nil
}

func woke(n *Notifier) bool {
	select {
	case <-n.Wake():
		return true
	default:
		return false
	}
}

func TestNotifierWakesAfterAPublish(t *testing.T) {
	inner := &fakePublisher{}
	n := NewNotifier(inner)
	assert.False(t, woke(n), "nothing was published yet")

	require.NoError(t, n.Publish(context.Background(), domain.Event{ID: "e1"}))
	require.NoError(t, n.Publish(context.Background(), domain.Event{ID: "e2"}, domain.Event{ID: "e3"}))

	assert.Len(t, inner.events, 3, "the events were stored by the wrapped publisher")
	assert.True(t, woke(n))
	assert.False(t, woke(n), "wakes coalesce into one")
}

func TestNotifierDoesNotWakeWhenPublishFails(t *testing.T) {
	boom := errors.New("boom")
	n := NewNotifier(&fakePublisher{err: boom})

	assert.ErrorIs(t, n.Publish(context.Background(), domain.Event{ID: "e1"}), boom)
	assert.False(t, woke(n))
}

func TestNotifierDoesNotWakeForNothing(t *testing.T) {
	n := NewNotifier(&fakePublisher{})
	require.NoError(t, n.Publish(context.Background()))
	assert.False(t, woke(n))
}
