package webhooks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/ports"
)

// Report is what one Deliver step did, for the caller to log and measure.
type Report struct {
	Attempted int
	Delivered int
	// Disabled are the subscriptions this step disabled (a 410, or too many
	// failures in a row).
	Disabled []domain.Subscription
}

// Deliver claims up to Batch due deliveries, posts them, Parallel at a
// time, and records every attempt with its outcome. It returns when every
// post has ended; a worker that must not wait for the slowest receiver
// uses Claim and Attempt instead.
func (s *Service) Deliver(ctx context.Context) (Report, error) {
	claims, err := s.Claim(ctx, min(s.cfg.Batch, s.cfg.Parallel))
	if err != nil {
		return Report{}, err
	}
	var (
		mu   sync.Mutex
		rep  = Report{Attempted: len(claims)}
		errs []error
		wg   sync.WaitGroup
	)
	for _, c := range claims {
		wg.Go(func() {
			one, err := s.Attempt(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			rep.Delivered += one.Delivered
			rep.Disabled = append(rep.Disabled, one.Disabled...)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}

// Parallel is how many posts may be in flight at once, per instance.
func (s *Service) Parallel() int { return s.cfg.Parallel }

// Claim leases up to n due deliveries (at most Parallel) for the caller to
// post with Attempt at once: every claimed post then ends (by the
// sender's timeout) well inside its lease, so no other instance takes it
// over mid-post.
func (s *Service) Claim(ctx context.Context, n int) ([]domain.Claim, error) {
	now := s.now()
	claims, err := s.deps.Deliveries.ClaimDeliveries(ctx, now, now.Add(s.cfg.Lease), min(n, s.cfg.Parallel))
	if err != nil {
		return nil, fault.Store("claim deliveries", err)
	}
	return claims, nil
}

// Attempt posts one claimed delivery and records the attempt; the report
// counts it.
func (s *Service) Attempt(ctx context.Context, c domain.Claim) (Report, error) {
	ok, disabled, err := s.attempt(ctx, c)
	rep := Report{Attempted: 1}
	if ok {
		rep.Delivered = 1
	}
	if disabled != nil {
		d := *disabled
		d.Secret = "" // reports are logged
		rep.Disabled = []domain.Subscription{d}
	}
	return rep, err
}

// attempt posts one delivery and records the attempt. It reports whether
// the receiver took it, and the subscription if this attempt disabled it.
func (s *Service) attempt(ctx context.Context, c domain.Claim) (bool, *domain.Subscription, error) {
	at := s.now()
	d, sub := c.Delivery, c.Subscription
	logout := d.Kind == domain.DeliveryBackchannelLogout
	clientID := sub.ClientID
	if logout {
		clientID = d.ClientID
	}
	active, err := s.clientActive(ctx, clientID, nil)
	if err != nil {
		return false, nil, err
	}
	var res ports.SendResult
	var o domain.AttemptOutcome
	if active {
		if logout {
			res = s.sendLogout(ctx, d)
		} else {
			res = s.deps.Sender.Send(ctx, sub.URL, headers(sub.Secret, d.ID, d.EventType, at, d.Payload), d.Payload)
		}
		if ctx.Err() != nil {
			return false, nil, nil // shutting down: the lease lapses and another post follows
		}
	} else {
		res.Err = errClientGone
	}
	a := domain.Attempt{
		DeliveryID: d.ID, Number: d.Attempts + 1, At: at, StatusCode: res.StatusCode,
		Latency: res.Latency, Response: res.Body, Error: attemptError(res),
	}
	switch {
	case active && logout:
		o = s.logoutOutcome(a, res)
	case active:
		o = s.outcome(a, res)
	case logout:
		o = domain.AttemptOutcome{State: domain.DeliveryFailed}
	default:
		o = domain.AttemptOutcome{State: domain.DeliveryFailed, Disable: true, DisabledReason: errClientGone.Error()}
	}
	stored, err := s.deps.Deliveries.RecordAttempt(ctx, a, o)
	if errors.Is(err, domain.ErrNotFound) {
		return false, nil, nil // its subscription was deleted meanwhile
	}
	if err != nil {
		return false, nil, fault.Store("record attempt", err)
	}
	if stored.Disabled && !sub.Disabled {
		return o.Succeeded, &stored, nil
	}
	return o.Succeeded, nil, nil
}

var errClientGone = errors.New("the subscription's client was deleted or disabled")

func attemptError(res ports.SendResult) string {
	switch {
	case res.Err != nil:
		return res.Err.Error()
	case res.StatusCode < 200 || res.StatusCode > 299:
		return fmt.Sprintf("the endpoint answered %d", res.StatusCode)
	}
	return ""
}

// outcome decides what an attempt leads to (issue 5): a 2xx delivers; a 410
// disables the subscription; anything else is retried on the schedule, with
// a 429's or 503's Retry-After honoured, until the schedule runs out.
func (s *Service) outcome(a domain.Attempt, res ports.SendResult) domain.AttemptOutcome {
	switch {
	case res.Err == nil && res.StatusCode >= 200 && res.StatusCode <= 299:
		return domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true}
	case res.Err == nil && res.StatusCode == 410:
		return domain.AttemptOutcome{State: domain.DeliveryFailed, Disable: true, DisabledReason: "the endpoint answered 410 Gone"}
	}
	var retryAfter time.Duration
	if res.StatusCode == 429 || res.StatusCode == 503 {
		retryAfter = res.RetryAfter
	}
	o := domain.AttemptOutcome{
		State: domain.DeliveryFailed, DisableAfter: s.cfg.DisableAfter,
		DisabledReason: fmt.Sprintf("%d deliveries in a row failed", s.cfg.DisableAfter),
	}
	if next, ok := s.cfg.Schedule.next(a.Number, a.At, retryAfter, s.deps.Random.Bytes(8)); ok {
		o.State, o.NextAttemptAt = domain.DeliveryPending, next
	}
	return o
}
