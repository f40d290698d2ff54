package testsuite

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// WebhookStores are one backend's outbox and webhook stores: the delivery
// store dispatches what the publisher stored, so they are driven together.
// Each call of the factory must give stores holding no events.
type WebhookStores struct {
	Events        ports.EventPublisher
	Subscriptions ports.SubscriptionStore
	Deliveries    ports.DeliveryStore
}

// RunSubscriptionStore checks a SubscriptionStore against its port contract.
func RunSubscriptionStore(t *testing.T, newStores func(t *testing.T) WebhookStores) {
	runSubtests(t, newStores, []subtest[WebhookStores]{
		{"a subscription reads back, and a second with its id fails with ErrAlreadyExists", subReadsBack},
		{"an update stores what the callback made; a refused one writes nothing", subUpdate},
		{"reading, updating or deleting a missing subscription fails with ErrNotFound", subMissing},
		{"deleting a subscription deletes its deliveries", subDeleteCascades},
		{"a client's subscriptions are listed oldest first", subListed},
		{"active subscriptions are the enabled ones to the event type", subActive},
		{"an update stores the DisabledAt the callback sets, and clears it", disabledAtUpdated},
	})
}

// RunDeliveryStore checks a DeliveryStore against its port contract.
func RunDeliveryStore(t *testing.T, newStores func(t *testing.T) WebhookStores) {
	runSubtests(t, newStores, []subtest[WebhookStores]{
		{"dispatch passes events in publication order, stores the planned deliveries, and never passes them again", dispatchOnce},
		{"dispatch takes at most limit events at a time", dispatchLimit},
		{"a failed plan dispatches nothing", dispatchPlanFails},
		{"a delivery for a missing subscription fails with ErrNotFound, a taken id with ErrAlreadyExists", deliveryCreate},
		{"claims take due pending deliveries, earliest first, and lease them", claimDue},
		{"a leased delivery is claimed again only when its lease ends", claimLease},
		{"deliveries of a disabled subscription are not claimed", claimDisabled},
		{"a successful attempt delivers and resets the failure streak", attemptSuccess},
		{"a failed attempt schedules a retry and grows the streak until it disables", attemptFailures},
		{"a 410 outcome disables the subscription at once", attemptDisable},
		{"disabling by failures dates it with the attempt that did, and a later failure keeps that time", disabledAtByFailures},
		{"a 410 dates the disabling with its attempt", disabledAtBy410},
		{"a post that ends after its subscription was disabled changes neither its streak nor its reason", disabledStreakStays},
		{"disabling a subscription fails its other pending deliveries", disableFailsPending},
		{"recording an attempt for a missing delivery fails with ErrNotFound", attemptMissing},
		{"the store numbers attempts, so overlapping posts are both recorded", attemptsNumbered},
		{"deliveries are listed newest first in pages, with their attempts", deliveriesPaged},
		{"a redelivery is pending again with its attempts kept", redeliver},
		{"a back-channel logout delivery needs no subscription: it is dispatched, claimed and recorded alone", logoutDelivery},
	})
}

// RunDeliveryStoreConcurrency checks that dispatches and claims never
// overlap between concurrent callers.
func RunDeliveryStoreConcurrency(t *testing.T, newStores func(t *testing.T) WebhookStores) {
	runSubtests(t, newStores, []subtest[WebhookStores]{
		{"concurrent dispatchers dispatch each event once", dispatchParallel},
		{"concurrent claims give each delivery to one claimer", claimParallel},
	})
}

func sampleSubscription(clientID string) domain.Subscription {
	return domain.Subscription{
		ID: uniqueID("whs_"), ClientID: clientID, URL: "https://hooks.example.com/calimatic",
		Events: []string{domain.EventUserCreated, domain.EventUserDeleted}, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
		Description: "gradebook sync", CreatedAt: epoch, UpdatedAt: epoch,
	}
}

func createSub(t *testing.T, s WebhookStores) domain.Subscription {
	t.Helper()
	sub := sampleSubscription(uniqueID(domain.ClientIDPrefix))
	require.NoError(t, s.Subscriptions.CreateSubscription(t.Context(), sub))
	return sub
}

func sampleDelivery(subID string, due time.Time) domain.Delivery {
	return domain.Delivery{
		ID: uniqueID("dlv_"), SubscriptionID: subID, EventID: uuid.NewString(), EventType: domain.EventUserCreated,
		Payload: []byte(`{"event":"user.created","timestamp":"2031-03-14T15:09:26.000Z","data":{"a":"<&>"}}`),
		State:   domain.DeliveryPending, NextAttemptAt: due, CreatedAt: epoch,
	}
}

func createDelivery(t *testing.T, s WebhookStores, subID string, due time.Time) domain.Delivery {
	t.Helper()
	d := sampleDelivery(subID, due)
	require.NoError(t, s.Deliveries.CreateDelivery(t.Context(), d))
	return d
}

func subReadsBack(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	got, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assertSame(t, sub, got)
	require.ErrorIs(t, s.Subscriptions.CreateSubscription(t.Context(), sub), domain.ErrAlreadyExists)
}

func subUpdate(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	got, err := s.Subscriptions.UpdateSubscription(t.Context(), sub.ID, func(x *domain.Subscription) error {
		x.URL, x.Disabled, x.DisabledReason = "https://hooks.example.com/v2", true, "disabled by its owner"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "https://hooks.example.com/v2", got.URL)
	_, err = s.Subscriptions.UpdateSubscription(t.Context(), sub.ID, func(x *domain.Subscription) error {
		x.URL = "https://evil.example"
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	stored, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assertSame(t, got, stored, "the refused change wrote nothing")
}

func subMissing(t *testing.T, s WebhookStores) {
	_, err := s.Subscriptions.GetSubscription(t.Context(), "whs_missing")
	require.ErrorIs(t, err, domain.ErrNotFound)
	_, err = s.Subscriptions.UpdateSubscription(t.Context(), "whs_missing", func(*domain.Subscription) error { return nil })
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.ErrorIs(t, s.Subscriptions.DeleteSubscription(t.Context(), "whs_missing"), domain.ErrNotFound)
}

func subDeleteCascades(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := createDelivery(t, s, sub.ID, epoch)
	require.NoError(t, s.Subscriptions.DeleteSubscription(t.Context(), sub.ID))
	_, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func subListed(t *testing.T, s WebhookStores) {
	clientID := uniqueID(domain.ClientIDPrefix)
	var want []domain.Subscription
	for _, age := range []time.Duration{time.Hour, 3 * time.Hour, 2 * time.Hour} {
		sub := sampleSubscription(clientID)
		sub.CreatedAt = epoch.Add(-age)
		require.NoError(t, s.Subscriptions.CreateSubscription(t.Context(), sub))
		want = append(want, sub)
	}
	createSub(t, s) // another client's
	got, err := s.Subscriptions.ListSubscriptions(t.Context(), clientID)
	require.NoError(t, err)
	assertSame(t, []domain.Subscription{want[1], want[2], want[0]}, got)
}

func subActive(t *testing.T, s WebhookStores) {
	on := createSub(t, s)
	off := sampleSubscription(uniqueID(domain.ClientIDPrefix))
	off.Disabled, off.DisabledReason = true, "the endpoint answered 410 Gone"
	require.NoError(t, s.Subscriptions.CreateSubscription(t.Context(), off))
	got, err := s.Subscriptions.ListActiveSubscriptions(t.Context(), domain.EventUserDeleted)
	require.NoError(t, err)
	ids := subIDs(got)
	assert.Contains(t, ids, on.ID)
	assert.NotContains(t, ids, off.ID, "a disabled subscription is not active")
	got, err = s.Subscriptions.ListActiveSubscriptions(t.Context(), domain.EventLicenseRevoked)
	require.NoError(t, err)
	assert.NotContains(t, subIDs(got), on.ID, "not subscribed to that type")
}

func subIDs(subs []domain.Subscription) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

func audiencedEvent(typ string) domain.Event {
	e := sampleEvent(typ)
	e.Audience = domain.Audience{OrganizationIDs: []string{e.OrganizationID, uuid.NewString()}, LicenseClientIDs: []string{uniqueID(domain.ClientIDPrefix)}}
	return e
}

// planOne makes one delivery per event to sub, and records what it saw.
func planOne(subID string, seen *[]domain.Event) func([]domain.Event) ([]domain.Delivery, error) {
	return func(events []domain.Event) ([]domain.Delivery, error) {
		*seen = append(*seen, events...)
		out := make([]domain.Delivery, len(events))
		for i, e := range events {
			d := sampleDelivery(subID, epoch)
			d.EventID, d.EventType = e.ID, e.Type
			out[i] = d
		}
		return out, nil
	}
}

func dispatchOnce(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	events := []domain.Event{audiencedEvent(domain.EventUserCreated), audiencedEvent(domain.EventUserUpdated), audiencedEvent(domain.EventUserDeleted)}
	require.NoError(t, s.Events.Publish(t.Context(), events...))
	var seen []domain.Event
	n, err := s.Deliveries.DispatchEvents(t.Context(), 10, planOne(sub.ID, &seen))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	require.Len(t, seen, 3)
	for i := range events {
		assertSame(t, events[i], seen[i], "event %d, with its audience", i)
	}
	recs, err := s.Deliveries.ListDeliveries(t.Context(), sub.ID, domain.DeliveryCursor{}, 10)
	require.NoError(t, err)
	assert.Len(t, recs, 3, "the planned deliveries are stored")

	n, err = s.Deliveries.DispatchEvents(t.Context(), 10, planOne(sub.ID, &seen))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is dispatched twice")
	assert.Len(t, seen, 3)
}

func dispatchLimit(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	for range 5 {
		require.NoError(t, s.Events.Publish(t.Context(), audiencedEvent(domain.EventUserCreated)))
	}
	var seen []domain.Event
	var counts []int
	for range 4 {
		n, err := s.Deliveries.DispatchEvents(t.Context(), 2, planOne(sub.ID, &seen))
		require.NoError(t, err)
		counts = append(counts, n)
	}
	assert.Equal(t, []int{2, 2, 1, 0}, counts)
}

func dispatchPlanFails(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	e := audiencedEvent(domain.EventUserCreated)
	require.NoError(t, s.Events.Publish(t.Context(), e))
	n, err := s.Deliveries.DispatchEvents(t.Context(), 10, func([]domain.Event) ([]domain.Delivery, error) {
		return []domain.Delivery{sampleDelivery(sub.ID, epoch)}, errRefused
	})
	require.ErrorIs(t, err, errRefused)
	assert.Zero(t, n)
	recs, err := s.Deliveries.ListDeliveries(t.Context(), sub.ID, domain.DeliveryCursor{}, 10)
	require.NoError(t, err)
	assert.Empty(t, recs, "no delivery was stored")
	var seen []domain.Event
	n, err = s.Deliveries.DispatchEvents(t.Context(), 10, planOne(sub.ID, &seen))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the event waits for the next dispatch")
}

func deliveryCreate(t *testing.T, s WebhookStores) {
	require.ErrorIs(t, s.Deliveries.CreateDelivery(t.Context(), sampleDelivery("whs_missing", epoch)), domain.ErrNotFound)
	sub := createSub(t, s)
	d := createDelivery(t, s, sub.ID, epoch)
	require.ErrorIs(t, s.Deliveries.CreateDelivery(t.Context(), d), domain.ErrAlreadyExists)
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assertSame(t, d, rec.Delivery)
	assert.Empty(t, rec.Attempts)
}

func claimDue(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	later := createDelivery(t, s, sub.ID, epoch.Add(-time.Minute))
	first := createDelivery(t, s, sub.ID, epoch.Add(-time.Hour))
	createDelivery(t, s, sub.ID, epoch.Add(time.Minute)) // not due
	lease := epoch.Add(time.Minute)
	claims, err := s.Deliveries.ClaimDeliveries(t.Context(), epoch, lease, 1)
	require.NoError(t, err)
	require.Len(t, claims, 1, "at most limit")
	assert.Equal(t, first.ID, claims[0].Delivery.ID, "earliest due first")
	assert.Equal(t, lease, claims[0].Delivery.LeaseUntil.UTC())
	assertSame(t, sub, claims[0].Subscription, "with its subscription, secret included")
	claims, err = s.Deliveries.ClaimDeliveries(t.Context(), epoch, lease, 10)
	require.NoError(t, err)
	require.Len(t, claims, 1, "the leased one and the one not due are not taken")
	assert.Equal(t, later.ID, claims[0].Delivery.ID)
}

func claimLease(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := createDelivery(t, s, sub.ID, epoch)
	claims, err := s.Deliveries.ClaimDeliveries(t.Context(), epoch, epoch.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	claims, err = s.Deliveries.ClaimDeliveries(t.Context(), epoch.Add(59*time.Second), epoch.Add(2*time.Minute), 10)
	require.NoError(t, err)
	assert.Empty(t, claims, "leased")
	claims, err = s.Deliveries.ClaimDeliveries(t.Context(), epoch.Add(time.Minute), epoch.Add(2*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1, "an instance that died mid-post loses its lease")
	assert.Equal(t, d.ID, claims[0].Delivery.ID)
}

func claimDisabled(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	createDelivery(t, s, sub.ID, epoch)
	_, err := s.Subscriptions.UpdateSubscription(t.Context(), sub.ID, func(x *domain.Subscription) error {
		x.Disabled = true
		return nil
	})
	require.NoError(t, err)
	claims, err := s.Deliveries.ClaimDeliveries(t.Context(), epoch, epoch.Add(time.Minute), 10)
	require.NoError(t, err)
	assert.Empty(t, claims)
}

func claimOne(t *testing.T, s WebhookStores, subID string) domain.Delivery {
	t.Helper()
	d := createDelivery(t, s, subID, epoch)
	claims, err := s.Deliveries.ClaimDeliveries(t.Context(), epoch, epoch.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	return d
}

func attemptAt(d domain.Delivery, n, status int) domain.Attempt {
	return domain.Attempt{
		DeliveryID: d.ID, Number: n, At: epoch.Add(time.Duration(n) * time.Second), StatusCode: status,
		Latency: 120 * time.Millisecond, Error: fmt.Sprintf("the endpoint answered %d", status), Response: []byte("busy"),
	}
}

func attemptSuccess(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	_, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 500), domain.AttemptOutcome{State: domain.DeliveryPending, NextAttemptAt: epoch})
	require.NoError(t, err)
	ok := domain.Attempt{DeliveryID: d.ID, Number: 2, At: epoch.Add(time.Minute), StatusCode: 204, Latency: time.Millisecond}
	stored, err := s.Deliveries.RecordAttempt(t.Context(), ok, domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true})
	require.NoError(t, err)
	assert.Zero(t, stored.ConsecutiveFailures, "the streak is reset")
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryDelivered, rec.Delivery.State)
	assert.Equal(t, 2, rec.Delivery.Attempts)
	assert.True(t, rec.Delivery.LeaseUntil.IsZero(), "the lease is released")
	assert.Equal(t, ok.At, rec.Delivery.CompletedAt.UTC())
	require.Len(t, rec.Attempts, 2)
	assertSame(t, []domain.Attempt{attemptAt(d, 1, 500), ok}, rec.Attempts)
}

func attemptFailures(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	for n := 1; n <= 3; n++ {
		o := domain.AttemptOutcome{State: domain.DeliveryPending, NextAttemptAt: epoch.Add(time.Hour), DisableAfter: 3, DisabledReason: "3 deliveries in a row failed"}
		stored, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, n, 503), o)
		require.NoError(t, err)
		assert.Equal(t, n, stored.ConsecutiveFailures)
		assert.Equal(t, n == 3, stored.Disabled, "disabled at the third failure in a row")
	}
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryFailed, rec.Delivery.State, "the attempt that disabled the subscription ends its delivery")
	got, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assert.Equal(t, "3 deliveries in a row failed", got.DisabledReason)
}

func attemptDisable(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	stored, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 410), domain.AttemptOutcome{
		State: domain.DeliveryFailed, Disable: true, DisabledReason: "the endpoint answered 410 Gone",
	})
	require.NoError(t, err)
	assert.True(t, stored.Disabled)
	assert.Equal(t, "the endpoint answered 410 Gone", stored.DisabledReason)
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryFailed, rec.Delivery.State)
	assert.False(t, rec.Delivery.CompletedAt.IsZero())
}

func attemptMissing(t *testing.T, s WebhookStores) {
	_, err := s.Deliveries.RecordAttempt(t.Context(), domain.Attempt{DeliveryID: "dlv_missing", Number: 1, At: epoch}, domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true})
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func deliveriesPaged(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	var want []string
	for i := range 5 {
		d := sampleDelivery(sub.ID, epoch)
		d.CreatedAt = epoch.Add(time.Duration(i/2) * time.Second) // pairs share a time
		require.NoError(t, s.Deliveries.CreateDelivery(t.Context(), d))
		want = append(want, d.ID)
	}
	var got []string
	cursor := domain.DeliveryCursor{}
	for {
		page, err := s.Deliveries.ListDeliveries(t.Context(), sub.ID, cursor, 2)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			got = append(got, r.Delivery.ID)
			cursor = domain.DeliveryCursor{CreatedAt: r.Delivery.CreatedAt, ID: r.Delivery.ID}
		}
	}
	require.Len(t, got, 5, "every delivery once: %v", got)
	assert.ElementsMatch(t, want, got)
	for i := 1; i < len(got); i++ {
		a, _ := s.Deliveries.GetDelivery(t.Context(), got[i-1])
		b, _ := s.Deliveries.GetDelivery(t.Context(), got[i])
		assert.False(t, a.Delivery.CreatedAt.Before(b.Delivery.CreatedAt), "newest first")
	}
}

func redeliver(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	_, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 200), domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true})
	require.NoError(t, err)
	later := epoch.Add(time.Hour)
	got, err := s.Deliveries.Redeliver(t.Context(), d.ID, later)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryPending, got.State)
	assert.Equal(t, later, got.NextAttemptAt.UTC())
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assert.Len(t, rec.Attempts, 1, "the attempts are kept")
	claims, err := s.Deliveries.ClaimDeliveries(t.Context(), later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	assert.Equal(t, d.ID, claims[0].Delivery.ID, "the same delivery id goes out again")
	_, err = s.Deliveries.Redeliver(t.Context(), "dlv_missing", later)
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func dispatchParallel(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	const events = 100
	for range events / 10 {
		batch := make([]domain.Event, 10)
		for i := range batch {
			batch[i] = audiencedEvent(domain.EventUserCreated)
		}
		require.NoError(t, s.Events.Publish(t.Context(), batch...))
	}
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		total int
		errs  []error
	)
	race(contenders, func(int) {
		for {
			var got []domain.Event
			n, err := s.Deliveries.DispatchEvents(t.Context(), 7, planOne(sub.ID, &got))
			mu.Lock()
			if err != nil {
				errs = append(errs, err)
			}
			total += n
			for _, e := range got {
				seen[e.ID]++
			}
			mu.Unlock()
			if err != nil || n == 0 {
				return
			}
		}
	})
	require.Empty(t, errs)
	assert.Equal(t, events, total, "every event dispatched")
	assert.Len(t, seen, events)
	for id, n := range seen {
		assert.Equal(t, 1, n, "event %s dispatched once", id)
	}
	recs, err := s.Deliveries.ListDeliveries(t.Context(), sub.ID, domain.DeliveryCursor{}, 2*events)
	require.NoError(t, err)
	assert.Len(t, recs, events)
}

func claimParallel(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	const deliveries = 50
	for range deliveries {
		createDelivery(t, s, sub.ID, epoch)
	}
	var (
		mu     sync.Mutex
		claims = map[string]int{}
		errs   []error
	)
	race(contenders, func(int) {
		got, err := s.Deliveries.ClaimDeliveries(t.Context(), epoch, epoch.Add(time.Minute), 3)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && !errors.Is(err, domain.ErrConflict) {
			errs = append(errs, err)
		}
		for _, c := range got {
			claims[c.Delivery.ID]++
		}
	})
	require.Empty(t, errs)
	for id, n := range claims {
		assert.Equal(t, 1, n, "delivery %s claimed once", id)
	}
	assert.Len(t, claims, min(deliveries, 3*contenders))
}

func attemptsNumbered(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	for range 2 { // two instances both thought theirs was attempt 1
		_, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 500), domain.AttemptOutcome{State: domain.DeliveryPending, NextAttemptAt: epoch})
		require.NoError(t, err)
	}
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	require.Len(t, rec.Attempts, 2)
	assert.Equal(t, []int{1, 2}, []int{rec.Attempts[0].Number, rec.Attempts[1].Number})
	assert.Equal(t, 2, rec.Delivery.Attempts)
}

func disableFailsPending(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	other := createDelivery(t, s, sub.ID, epoch.Add(time.Hour))
	_, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 410), domain.AttemptOutcome{
		State: domain.DeliveryFailed, Disable: true, DisabledReason: "the endpoint answered 410 Gone",
	})
	require.NoError(t, err)
	rec, err := s.Deliveries.GetDelivery(t.Context(), other.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryFailed, rec.Delivery.State, "the queued delivery does not wait forever")

	sub2 := createSub(t, s)
	queued := createDelivery(t, s, sub2.ID, epoch)
	_, err = s.Subscriptions.UpdateSubscription(t.Context(), sub2.ID, func(x *domain.Subscription) error {
		x.Disabled, x.DisabledReason, x.UpdatedAt = true, "disabled by its owner", epoch.Add(time.Minute)
		return nil
	})
	require.NoError(t, err)
	rec, err = s.Deliveries.GetDelivery(t.Context(), queued.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryFailed, rec.Delivery.State)
	assert.Equal(t, epoch.Add(time.Minute), rec.Delivery.CompletedAt.UTC())
}

func sampleLogoutDelivery(eventID string, due time.Time) domain.Delivery {
	client := uniqueID(domain.ClientIDPrefix)
	return domain.Delivery{
		ID: uniqueID("dlv_"), Kind: domain.DeliveryBackchannelLogout, URL: "https://rp.example.com/backchannel",
		ClientID: client, EventID: eventID, EventType: domain.EventBackchannelLogout,
		Payload: domain.LogoutNotice{ClientID: client, Subject: "u", SID: "s"}.Encode(),
		State:   domain.DeliveryPending, NextAttemptAt: due, CreatedAt: epoch,
	}
}

func logoutDelivery(t *testing.T, s WebhookStores) {
	e := domain.Event{ID: uuid.NewString(), Type: domain.EventBackchannelLogout, OccurredAt: epoch}
	require.NoError(t, s.Events.Publish(t.Context(), e))
	d := sampleLogoutDelivery(e.ID, epoch)
	n, err := s.Deliveries.DispatchEvents(t.Context(), 10, func([]domain.Event) ([]domain.Delivery, error) {
		return []domain.Delivery{d}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rec, err := s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assertSame(t, d, rec.Delivery, "stored with its kind, URL and client")

	claims, err := s.Deliveries.ClaimDeliveries(t.Context(), epoch, epoch.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	assert.Equal(t, d.ID, claims[0].Delivery.ID)
	assert.Equal(t, domain.DeliveryBackchannelLogout, claims[0].Delivery.Kind)
	assertSame(t, domain.Subscription{}, claims[0].Subscription, "no subscription")

	retry := epoch.Add(5 * time.Second)
	sub, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 500),
		domain.AttemptOutcome{State: domain.DeliveryPending, NextAttemptAt: retry})
	require.NoError(t, err)
	assertSame(t, domain.Subscription{}, sub, "no subscription to account to")
	claims, err = s.Deliveries.ClaimDeliveries(t.Context(), retry, retry.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1, "the failed delivery is claimed again when due")
	_, err = s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 2, 200),
		domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true})
	require.NoError(t, err)
	rec, err = s.Deliveries.GetDelivery(t.Context(), d.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.DeliveryDelivered, rec.Delivery.State)
	assert.Len(t, rec.Attempts, 2, "both attempts are logged")
}
