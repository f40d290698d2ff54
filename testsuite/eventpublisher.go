package testsuite

import (
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// RunEventPublisher checks an EventPublisher against its port contract.
// newPub returns a fresh publisher and a function that reads back everything
// it has stored, in delivery order (for an outbox, the outbox's order). What
// it reads may include other tests' events.
func RunEventPublisher(t *testing.T, newPub func(t *testing.T) (ports.EventPublisher, func() []domain.Event)) {
	tests := []struct {
		name string
		run  func(t *testing.T, p ports.EventPublisher, stored func() []domain.Event)
	}{
		{"published events are stored whole and in order", eventsInOrder},
		{"a later batch is stored after an earlier one", eventsBatchesInOrder},
		{"publishing no events succeeds", eventsNone},
		{"changing an event's data after publishing does not change what is stored", eventsNoAliasing},
		{"events from parallel publishers are each stored once, in each publisher's order", eventsParallel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, stored := newPub(t)
			tc.run(t, p, stored)
		})
	}
}

// sampleEvent uses only string values, which every outbox encoding keeps as they are.
func sampleEvent(typ string) domain.Event {
	userID, orgID := uuid.NewString(), uuid.NewString()
	return domain.Event{
		ID:             uniqueID("evt_"),
		Type:           typ,
		OccurredAt:     epoch,
		UserID:         userID,
		OrganizationID: orgID,
		Data: []domain.Field{
			{Key: "user_id", Value: userID},
			{Key: "organization_id", Value: orgID},
			{Key: "email", Value: "casey@example.com"},
		},
		Actor: domain.Actor{Kind: domain.ActorUser, ID: uuid.NewString(), Name: "admin@example.com", OrganizationID: orgID},
	}
}

// storedOf returns the stored events among mine, in stored order.
func storedOf(stored []domain.Event, mine []domain.Event) []domain.Event {
	ids := make(map[string]bool, len(mine))
	for _, e := range mine {
		ids[e.ID] = true
	}
	var out []domain.Event
	for _, e := range stored {
		if ids[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

func eventsInOrder(t *testing.T, p ports.EventPublisher, stored func() []domain.Event) {
	events := []domain.Event{
		sampleEvent(domain.EventUserCreated), sampleEvent(domain.EventUserUpdated), sampleEvent(domain.EventLicenseAssigned),
	}
	require.NoError(t, p.Publish(t.Context(), events...))
	assertSame(t, events, storedOf(stored(), events))
}

func eventsBatchesInOrder(t *testing.T, p ports.EventPublisher, stored func() []domain.Event) {
	first := []domain.Event{sampleEvent(domain.EventOrganizationCreated), sampleEvent(domain.EventUserInvited)}
	second := []domain.Event{sampleEvent(domain.EventUserSuspended)}
	require.NoError(t, p.Publish(t.Context(), first...))
	require.NoError(t, p.Publish(t.Context(), second...))
	all := slices.Concat(first, second)
	assertSame(t, all, storedOf(stored(), all))
}

func eventsNone(t *testing.T, p ports.EventPublisher, _ func() []domain.Event) {
	require.NoError(t, p.Publish(t.Context()))
}

func eventsNoAliasing(t *testing.T, p ports.EventPublisher, stored func() []domain.Event) {
	e := sampleEvent(domain.EventUserDeleted)
	want := e
	want.Data = append([]domain.Field(nil), e.Data...)
	require.NoError(t, p.Publish(t.Context(), e))
	e.Data[0].Value = "tampered"
	assertSame(t, []domain.Event{want}, storedOf(stored(), []domain.Event{want}))
}

func eventsParallel(t *testing.T, p ports.EventPublisher, stored func() []domain.Event) {
	const publishers, batches, perBatch = 8, 5, 3
	mine := make([][]domain.Event, publishers)
	for i := range mine {
		for range batches * perBatch {
			mine[i] = append(mine[i], sampleEvent(domain.EventUserUpdated))
		}
	}
	errs := make([]error, publishers)
	race(publishers, func(i int) {
		for b := range batches {
			if err := p.Publish(t.Context(), mine[i][b*perBatch:(b+1)*perBatch]...); err != nil {
				errs[i] = err
			}
		}
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, publishers, ok, "every publish succeeds")
	all := stored()
	for i := range mine {
		assertSame(t, mine[i], storedOf(all, mine[i]), "publisher %d", i)
	}
}
