package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Webhooks keeps subscriptions, deliveries and attempts in memory, and
// dispatches the events of the EventLog it was made with. Fit for one
// process: development and tests.
type Webhooks struct {
	log *EventLog
	// dispatchMu lets one dispatcher at a time take events, so each is
	// dispatched once; plan runs under it but not under mu, since plan reads
	// the subscriptions.
	dispatchMu sync.Mutex
	dispatched int // events of log dispatched so far

	mu         sync.RWMutex
	subs       map[string]domain.Subscription
	deliveries map[string]domain.Delivery
	attempts   map[string][]domain.Attempt
}

// NewWebhooks returns empty webhook stores over an event log.
func NewWebhooks(log *EventLog) *Webhooks {
	return &Webhooks{
		log: log, subs: make(map[string]domain.Subscription),
		deliveries: make(map[string]domain.Delivery), attempts: make(map[string][]domain.Attempt),
	}
}

func cloneSub(s domain.Subscription) domain.Subscription {
	s.Events = slices.Clone(s.Events)
	return s
}

func cloneDelivery(d domain.Delivery) domain.Delivery {
	d.Payload = slices.Clone(d.Payload)
	return d
}

// CreateSubscription stores a subscription. ErrAlreadyExists if the id is taken.
func (w *Webhooks) CreateSubscription(_ context.Context, s domain.Subscription) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.subs[s.ID]; ok {
		return domain.ErrAlreadyExists
	}
	w.subs[s.ID] = cloneSub(s)
	return nil
}

// GetSubscription returns a subscription. ErrNotFound if there is none.
func (w *Webhooks) GetSubscription(_ context.Context, id string) (domain.Subscription, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s, ok := w.subs[id]
	if !ok {
		return domain.Subscription{}, domain.ErrNotFound
	}
	return cloneSub(s), nil
}

// UpdateSubscription applies fn to a copy and stores it if fn succeeds.
func (w *Webhooks) UpdateSubscription(_ context.Context, id string, fn func(*domain.Subscription) error) (domain.Subscription, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.subs[id]
	if !ok {
		return domain.Subscription{}, domain.ErrNotFound
	}
	next := cloneSub(old)
	if err := fn(&next); err != nil {
		return domain.Subscription{}, err
	}
	next.ID = id
	w.subs[id] = cloneSub(next)
	if next.Disabled {
		w.failPending(id, next.UpdatedAt)
	}
	return next, nil
}

// failPending ends a disabled subscription's pending deliveries. Callers
// hold mu.
func (w *Webhooks) failPending(subID string, at time.Time) {
	for id, d := range w.deliveries {
		if d.SubscriptionID == subID && d.State == domain.DeliveryPending {
			d.State, d.CompletedAt, d.LeaseUntil, d.NextAttemptAt = domain.DeliveryFailed, at, time.Time{}, time.Time{}
			w.deliveries[id] = d
		}
	}
}

// DeleteSubscription removes a subscription with its deliveries and attempts.
func (w *Webhooks) DeleteSubscription(_ context.Context, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.subs[id]; !ok {
		return domain.ErrNotFound
	}
	delete(w.subs, id)
	for did, d := range w.deliveries {
		if d.SubscriptionID == id {
			delete(w.deliveries, did)
			delete(w.attempts, did)
		}
	}
	return nil
}

func (w *Webhooks) sortedSubs(keep func(domain.Subscription) bool) []domain.Subscription {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []domain.Subscription
	for _, s := range w.subs {
		if keep(s) {
			out = append(out, cloneSub(s))
		}
	}
	slices.SortFunc(out, func(a, b domain.Subscription) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// ListSubscriptions returns a client's subscriptions, oldest first.
func (w *Webhooks) ListSubscriptions(_ context.Context, clientID string) ([]domain.Subscription, error) {
	return w.sortedSubs(func(s domain.Subscription) bool { return s.ClientID == clientID }), nil
}

// ListActiveSubscriptions returns the enabled subscriptions to eventType,
// without their secrets.
func (w *Webhooks) ListActiveSubscriptions(_ context.Context, eventType string) ([]domain.Subscription, error) {
	subs := w.sortedSubs(func(s domain.Subscription) bool { return s.Wants(eventType) })
	for i := range subs {
		subs[i].Secret = ""
	}
	return subs, nil
}

// DispatchEvents passes undispatched events of the log to plan and stores
// its deliveries; one dispatcher at a time.
func (w *Webhooks) DispatchEvents(_ context.Context, limit int, plan func([]domain.Event) ([]domain.Delivery, error)) (int, error) {
	w.dispatchMu.Lock()
	defer w.dispatchMu.Unlock()
	events := w.log.since(w.dispatched, limit)
	if len(events) == 0 {
		return 0, nil
	}
	ds, err := plan(events)
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range ds {
		_, subscribed := w.subs[d.SubscriptionID]
		subscribed = subscribed || d.SubscriptionID == "" // a back-channel logout has none
		if _, exists := w.deliveries[d.ID]; subscribed && !exists {
			w.deliveries[d.ID] = cloneDelivery(d)
		}
	}
	w.dispatched += len(events)
	return len(events), nil
}

// CreateDelivery stores one delivery.
func (w *Webhooks) CreateDelivery(_ context.Context, d domain.Delivery) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.deliveries[d.ID]; ok {
		return domain.ErrAlreadyExists
	}
	if _, ok := w.subs[d.SubscriptionID]; !ok {
		return domain.ErrNotFound
	}
	w.deliveries[d.ID] = cloneDelivery(d)
	return nil
}

// ClaimDeliveries leases due deliveries of enabled subscriptions.
func (w *Webhooks) ClaimDeliveries(_ context.Context, now, leaseUntil time.Time, limit int) ([]domain.Claim, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var due []domain.Delivery
	for _, d := range w.deliveries {
		// A back-channel logout has no subscription, so none disables it.
		if d.State == domain.DeliveryPending && !d.NextAttemptAt.After(now) && !d.LeaseUntil.After(now) &&
			(d.SubscriptionID == "" || !w.subs[d.SubscriptionID].Disabled) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b domain.Delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	due = due[:min(limit, len(due))]
	out := make([]domain.Claim, 0, len(due))
	for _, d := range due {
		d.LeaseUntil = leaseUntil
		w.deliveries[d.ID] = d
		c := domain.Claim{Delivery: cloneDelivery(d)}
		if d.SubscriptionID != "" {
			c.Subscription = cloneSub(w.subs[d.SubscriptionID])
		}
		out = append(out, c)
	}
	return out, nil
}

// RecordAttempt stores an attempt and applies its outcome.
func (w *Webhooks) RecordAttempt(_ context.Context, a domain.Attempt, o domain.AttemptOutcome) (domain.Subscription, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.deliveries[a.DeliveryID]
	if !ok {
		return domain.Subscription{}, domain.ErrNotFound
	}
	a.Response = slices.Clone(a.Response)
	a.Number = d.Attempts + 1 // the store numbers attempts (see the port)
	w.attempts[d.ID] = append(w.attempts[d.ID], a)
	d.State, d.Attempts, d.LeaseUntil = o.State, d.Attempts+1, time.Time{}
	d.NextAttemptAt = time.Time{}
	if o.State == domain.DeliveryPending {
		d.NextAttemptAt = o.NextAttemptAt
	} else {
		d.CompletedAt = a.At
	}
	w.deliveries[d.ID] = d
	if d.SubscriptionID == "" {
		return domain.Subscription{}, nil // a back-channel logout: no subscription to account to
	}
	s := w.subs[d.SubscriptionID]
	applyOutcome(&s, o, a.At)
	w.subs[s.ID] = s
	if s.Disabled {
		w.failPending(s.ID, a.At)
	}
	return cloneSub(s), nil
}

// applyOutcome updates a subscription's failure streak and disabling, by
// an attempt made at. A disabled subscription is left as it was: its
// streak tells a disabling by failures from its owner's.
func applyOutcome(s *domain.Subscription, o domain.AttemptOutcome, at time.Time) {
	if s.Disabled {
		return
	}
	if o.Succeeded {
		s.ConsecutiveFailures = 0
		return
	}
	s.ConsecutiveFailures++
	if o.Disable || o.DisableAfter > 0 && s.ConsecutiveFailures >= o.DisableAfter {
		s.Disabled, s.DisabledReason, s.DisabledAt = true, o.DisabledReason, at
	}
}

// GetDelivery returns a delivery with its attempts.
func (w *Webhooks) GetDelivery(_ context.Context, id string) (domain.DeliveryRecord, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	d, ok := w.deliveries[id]
	if !ok {
		return domain.DeliveryRecord{}, domain.ErrNotFound
	}
	return domain.DeliveryRecord{Delivery: cloneDelivery(d), Attempts: slices.Clone(w.attempts[id])}, nil
}

// ListDeliveries returns a subscription's deliveries, newest first.
func (w *Webhooks) ListDeliveries(_ context.Context, subscriptionID string, before domain.DeliveryCursor, limit int) ([]domain.DeliveryRecord, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var ds []domain.Delivery
	for _, d := range w.deliveries {
		if d.SubscriptionID == subscriptionID && (before.ID == "" || olderThan(d, before)) {
			ds = append(ds, d)
		}
	}
	slices.SortFunc(ds, func(a, b domain.Delivery) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	ds = ds[:min(limit, len(ds))]
	out := make([]domain.DeliveryRecord, len(ds))
	for i, d := range ds {
		out[i] = domain.DeliveryRecord{Delivery: cloneDelivery(d), Attempts: slices.Clone(w.attempts[d.ID])}
	}
	return out, nil
}

func olderThan(d domain.Delivery, c domain.DeliveryCursor) bool {
	if !d.CreatedAt.Equal(c.CreatedAt) {
		return d.CreatedAt.Before(c.CreatedAt)
	}
	return d.ID < c.ID
}

// Redeliver makes a delivery pending again, due at now.
func (w *Webhooks) Redeliver(_ context.Context, id string, now time.Time) (domain.Delivery, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.deliveries[id]
	if !ok {
		return domain.Delivery{}, domain.ErrNotFound
	}
	if d.LeaseUntil.After(now) {
		return domain.Delivery{}, domain.ErrConflict
	}
	d.State, d.NextAttemptAt, d.LeaseUntil, d.CompletedAt = domain.DeliveryPending, now, time.Time{}, time.Time{}
	w.deliveries[id] = d
	return cloneDelivery(d), nil
}
