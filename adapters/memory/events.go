package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// EventLog is an in-memory outbox: it keeps every published event, in order.
// Nothing is delivered from here directly; a webhook worker reads Events.
// It keeps everything for the life of the process, as an outbox must until
// delivery, so it suits development and tests, not long-running production.
type EventLog struct {
	mu     sync.RWMutex
	events []domain.Event
}

// NewEventLog returns an empty event log.
func NewEventLog() *EventLog { return &EventLog{} }

// Publish appends the events in order, all under one lock, so a batch is
// never interleaved with another and is stored whole.
func (l *EventLog) Publish(_ context.Context, events ...domain.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range events {
		l.events = append(l.events, cloneEvent(e))
	}
	return nil
}

// Events returns a copy of every event published so far, in order.
func (l *EventLog) Events() []domain.Event {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]domain.Event, len(l.events))
	for i, e := range l.events {
		out[i] = cloneEvent(e)
	}
	return out
}

// cloneEvent copies the data slice; its values are shared, which is safe for
// the strings, numbers and booleans events carry.
func cloneEvent(e domain.Event) domain.Event {
	e.Data = slices.Clone(e.Data)
	e.Audience.OrganizationIDs = slices.Clone(e.Audience.OrganizationIDs)
	e.Audience.LicenseClientIDs = slices.Clone(e.Audience.LicenseClientIDs)
	return e
}

// since returns up to limit events from index from on, in order.
func (l *EventLog) since(from, limit int) []domain.Event {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if from >= len(l.events) {
		return nil
	}
	end := min(len(l.events), from+limit)
	out := make([]domain.Event, 0, end-from)
	for _, e := range l.events[from:end] {
		out = append(out, cloneEvent(e))
	}
	return out
}

// ListEvents returns a page of an organization's events, newest first
// (ports.EventLog). An event's cursor is its position from 1. It scans
// back from the cursor, which suits the memory log's sizes.
func (l *EventLog) ListEvents(_ context.Context, q domain.EventQuery) (domain.EventPage, error) {
	limit := q.Limit
	if limit <= 0 || limit > domain.MaxEventPage {
		limit = domain.MaxEventPage
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	end := len(l.events)
	if !q.Before.IsZero() {
		end = min(end, int(max(q.Before.Seq-1, 0)))
	}
	var page domain.EventPage
	last := 0
	for i := end - 1; i >= 0; i-- {
		if !q.Matches(l.events[i]) {
			continue
		}
		if len(page.Events) == limit {
			// A page holds the events older than its last one.
			page.Next = domain.EventCursor{Seq: int64(last + 1)}
			break
		}
		page.Events = append(page.Events, cloneEvent(l.events[i]))
		last = i
	}
	return page, nil
}
