package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// SubscriptionStore keeps webhook subscriptions.
type SubscriptionStore interface {
	// CreateSubscription stores a subscription. ErrAlreadyExists if the id
	// is taken.
	CreateSubscription(ctx context.Context, s domain.Subscription) error
	// GetSubscription returns a subscription. ErrNotFound if there is none.
	GetSubscription(ctx context.Context, id string) (domain.Subscription, error)
	// UpdateSubscription reads, applies fn and writes atomically. ErrNotFound
	// if there is none; fn's error aborts the write and is returned. What fn
	// sets is stored as is, Disabled, DisabledReason and DisabledAt included
	// (the caller dates its own disabling). When the result is disabled, its
	// pending deliveries fail in the same step (CompletedAt = UpdatedAt).
	UpdateSubscription(ctx context.Context, id string, fn func(*domain.Subscription) error) (domain.Subscription, error)
	// DeleteSubscription removes a subscription with its deliveries and
	// their attempts. ErrNotFound if there is none.
	DeleteSubscription(ctx context.Context, id string) error
	// ListSubscriptions returns a client's subscriptions, oldest first.
	ListSubscriptions(ctx context.Context, clientID string) ([]domain.Subscription, error)
	// ListActiveSubscriptions returns every enabled subscription to
	// eventType, oldest first, whoever owns it, with Secret left empty:
	// fan-out needs none.
	ListActiveSubscriptions(ctx context.Context, eventType string) ([]domain.Subscription, error)
}

// DeliveryStore keeps webhook deliveries and their attempts, and dispatches
// the events the EventPublisher of the same backend stored.
type DeliveryStore interface {
	// DispatchEvents takes up to limit stored events that were never
	// dispatched, in publication order, and passes them to plan; it stores
	// the deliveries plan returns (skipping any whose subscription was
	// deleted meanwhile, or whose id is stored already) and marks those
	// events dispatched, in one
	// atomic step. Each event is dispatched once, by one caller, even with
	// many instances; if plan fails nothing changes. It returns how many
	// events it dispatched (0 when none waited).
	DispatchEvents(ctx context.Context, limit int, plan func([]domain.Event) ([]domain.Delivery, error)) (int, error)
	// CreateDelivery stores one delivery (a test ping). ErrAlreadyExists if
	// the id is taken; ErrNotFound if the subscription does not exist.
	CreateDelivery(ctx context.Context, d domain.Delivery) error
	// ClaimDeliveries leases up to limit pending deliveries of enabled
	// subscriptions that are due at now and not leased at now, earliest due
	// first, by setting their LeaseUntil to leaseUntil. Of concurrent claims,
	// each delivery goes to one.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.Claim, error)
	// RecordAttempt stores an attempt and applies its outcome in one atomic
	// step: the delivery gets State, NextAttemptAt, one more attempt, no
	// lease and, when no longer pending, CompletedAt = a.At. The store
	// numbers the attempt (one more than the delivery had), so two instances
	// whose leases overlapped are both recorded. When the subscription ends
	// up disabled, its other pending deliveries fail too. Its subscription
	// gets its failure streak reset or grown and, per the outcome, is
	// disabled in the same step, with DisabledReason = o.DisabledReason and
	// DisabledAt = a.At. An already disabled subscription is left as it
	// was (a post under way when it was disabled ends later): its streak,
	// its first reason and time, so the streak still tells a disabling by
	// failures from its owner's. It returns the subscription as stored. ErrNotFound if
	// the delivery no longer exists (its subscription was deleted).
	RecordAttempt(ctx context.Context, a domain.Attempt, o domain.AttemptOutcome) (domain.Subscription, error)
	// GetDelivery returns a delivery with its attempts. ErrNotFound if there
	// is none.
	GetDelivery(ctx context.Context, id string) (domain.DeliveryRecord, error)
	// ListDeliveries returns up to limit of a subscription's deliveries,
	// newest first (by CreatedAt, then ID), older than before (the zero
	// cursor starts at the newest), each with its attempts.
	ListDeliveries(ctx context.Context, subscriptionID string, before domain.DeliveryCursor, limit int) ([]domain.DeliveryRecord, error)
	// Redeliver makes a delivery pending again, due at now, with no lease;
	// its attempts are kept and its id stays, so receivers can deduplicate.
	// ErrNotFound if there is none; ErrConflict if it is leased at now (being
	// posted), so that two posts of it never overlap.
	Redeliver(ctx context.Context, id string, now time.Time) (domain.Delivery, error)
}

// WebhookSender posts one webhook delivery over HTTP.
type WebhookSender interface {
	// Send posts body to url with headers and reports what came back. It
	// never follows redirects, gives up after its timeout, reads at most a
	// bounded part of the response, and refuses addresses its policy forbids
	// (loopback, private networks) by the IP it connects to. A transport
	// failure is in SendResult.Err, not the error return, which is for ctx
	// ending.
	Send(ctx context.Context, url string, headers map[string]string, body []byte) SendResult
}

// SendResult is what one post got.
type SendResult struct {
	StatusCode int // 0 when no response came
	Latency    time.Duration
	// Body is the start of the response body (up to MaxAttemptResponse bytes).
	Body []byte
	// RetryAfter is the response's Retry-After, when it had one.
	RetryAfter time.Duration
	// Err says why no response came (refused address, timeout, reset).
	Err error
}
