package webhooks

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

func invalid(code, format string, args ...any) error {
	return fault.New(fault.Invalid, code, format, args...)
}

var errNoSubscription = fault.New(fault.NotFound, "subscription_not_found", "no such webhook subscription")

// Input creates or changes a subscription; nil fields stay as they are.
type Input struct {
	URL         *string
	Events      *[]string
	Secret      *string
	Description *string
	Enabled     *bool // only on update: true re-enables a disabled subscription
}

// Limits of a subscription's fields.
const (
	maxURLLen         = 2048
	maxDescriptionLen = 500
	minSecretLen      = 16
	maxSecretLen      = 256
	// MaxSubscriptions bounds one client's subscriptions.
	MaxSubscriptions = 50
)

func (s *Service) checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > maxURLLen || u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		return invalid("invalid_url", "url must be an absolute http(s) URL of at most %d characters", maxURLLen)
	case u.User != nil:
		return invalid("invalid_url", "url must not carry a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return invalid("invalid_url", "url must not have a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && !s.cfg.RequireHTTPS:
		return nil
	case u.Scheme == "http":
		return invalid("invalid_url", "url must use https")
	}
	return invalid("invalid_url", "url must be an http(s) URL")
}

func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, invalid("invalid_events", "events must list at least one of: %s", strings.Join(domain.EventTypes, ", "))
	}
	out := slices.Clone(events)
	for _, e := range out {
		if !slices.Contains(domain.EventTypes, e) {
			return nil, invalid("invalid_events", "unknown event type %q; valid: %s", clip(e), strings.Join(domain.EventTypes, ", "))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkSecret(secret string) error {
	n := utf8.RuneCountInString(secret)
	if !utf8.ValidString(secret) || n < minSecretLen || len(secret) > maxSecretLen || strings.IndexFunc(secret, unicode.IsControl) >= 0 {
		return invalid("invalid_secret", "secret must be %d to %d printable characters", minSecretLen, maxSecretLen)
	}
	return nil
}

func checkDescription(d string) error {
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) > maxDescriptionLen || strings.IndexFunc(d, func(r rune) bool { return domain.IsControlChar(r) && r != '\n' }) >= 0 {
		return invalid("invalid_request", "description must be at most %d printable characters", maxDescriptionLen)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// check validates the fields an input sets.
func (s *Service) check(in Input) error {
	if in.URL != nil {
		if err := s.checkURL(*in.URL); err != nil {
			return err
		}
	}
	if in.Events != nil {
		if _, err := checkEvents(*in.Events); err != nil {
			return err
		}
	}
	if in.Secret != nil {
		if err := checkSecret(*in.Secret); err != nil {
			return err
		}
	}
	if in.Description != nil {
		return checkDescription(*in.Description)
	}
	return nil
}

// Create makes a subscription for the calling client. Without a secret, one
// is generated (whsec_ and the base64 of 32 random bytes) and returned: it
// is shown only this once.
func (s *Service) Create(ctx context.Context, c *access.Caller, in Input) (domain.Subscription, string, error) {
	switch {
	case in.URL == nil:
		return domain.Subscription{}, "", invalid("invalid_request", "url is required")
	case in.Events == nil:
		return domain.Subscription{}, "", invalid("invalid_events", "events is required")
	case in.Enabled != nil:
		return domain.Subscription{}, "", invalid("invalid_request", "enabled can only be changed on an existing subscription")
	}
	if err := s.check(in); err != nil {
		return domain.Subscription{}, "", err
	}
	existing, err := s.deps.Subscriptions.ListSubscriptions(ctx, c.Client.ID)
	if err != nil {
		return domain.Subscription{}, "", fault.Store("list subscriptions", err)
	}
	if len(existing) >= MaxSubscriptions {
		return domain.Subscription{}, "", invalid("too_many_subscriptions", "a client may have at most %d subscriptions", MaxSubscriptions)
	}
	events, _ := checkEvents(*in.Events)
	generated := ""
	secret := ""
	if in.Secret != nil {
		secret = *in.Secret
	} else {
		generated = domain.WebhookSecretPrefix + base64.StdEncoding.EncodeToString(s.deps.Random.Bytes(32))
		secret = generated
	}
	now := s.now()
	sub := domain.Subscription{
		ID: "whs_" + s.deps.Random.Token(16), ClientID: c.Client.ID, URL: *in.URL, Events: events,
		Secret: secret, CreatedAt: now, UpdatedAt: now,
	}
	if in.Description != nil {
		sub.Description = *in.Description
	}
	if err := s.deps.Subscriptions.CreateSubscription(ctx, sub); err != nil {
		return domain.Subscription{}, "", fault.Store("create subscription", err)
	}
	return sub, generated, nil
}

// List returns the calling client's subscriptions.
func (s *Service) List(ctx context.Context, c *access.Caller) ([]domain.Subscription, error) {
	subs, err := s.deps.Subscriptions.ListSubscriptions(ctx, c.Client.ID)
	if err != nil {
		return nil, fault.Store("list subscriptions", err)
	}
	return subs, nil
}

// Get returns one of the calling client's subscriptions; another client's
// is not found.
func (s *Service) Get(ctx context.Context, c *access.Caller, id string) (domain.Subscription, error) {
	if id == "" || len(id) > 64 {
		return domain.Subscription{}, errNoSubscription
	}
	sub, err := s.deps.Subscriptions.GetSubscription(ctx, id)
	if errors.Is(err, domain.ErrNotFound) || err == nil && sub.ClientID != c.Client.ID {
		return domain.Subscription{}, errNoSubscription
	}
	if err != nil {
		return domain.Subscription{}, fault.Store("get subscription", err)
	}
	return sub, nil
}

// Update changes a subscription. Enabling a disabled one clears its failure
// streak and its DisabledAt; disabling one sets DisabledAt to now.
func (s *Service) Update(ctx context.Context, c *access.Caller, id string, in Input) (domain.Subscription, error) {
	return s.update(ctx, c, id, in, nil)
}

// ErrNotDisabledByFailures refuses to re-enable a subscription that
// failures did not disable: one its owner disabled stays as its owner left
// it.
var ErrNotDisabledByFailures = fault.New(fault.Conflict, "not_disabled_after_failures",
	"this subscription was not disabled after failed deliveries, so there is nothing to re-enable")

// Reenable enables a subscription that failed deliveries disabled
// (domain.Subscription.DisabledByFailures), clearing its streak as Update
// does, and only such a one: the check and the change are one step, so one
// its owner disables meanwhile stays disabled.
func (s *Service) Reenable(ctx context.Context, c *access.Caller, id string) (domain.Subscription, error) {
	on := true
	return s.update(ctx, c, id, Input{Enabled: &on}, func(sub *domain.Subscription) error {
		if !sub.DisabledByFailures() {
			return ErrNotDisabledByFailures
		}
		return nil
	})
}

// update is Update, refused by pre (when set) with the stored
// subscription, in the same step as the change.
func (s *Service) update(ctx context.Context, c *access.Caller, id string, in Input, pre func(*domain.Subscription) error) (domain.Subscription, error) {
	if err := s.check(in); err != nil {
		return domain.Subscription{}, err
	}
	if _, err := s.Get(ctx, c, id); err != nil {
		return domain.Subscription{}, err
	}
	now := s.now()
	sub, err := s.deps.Subscriptions.UpdateSubscription(ctx, id, func(sub *domain.Subscription) error {
		if sub.ClientID != c.Client.ID {
			return errNoSubscription
		}
		if pre != nil {
			if err := pre(sub); err != nil {
				return err
			}
		}
		if in.URL != nil {
			sub.URL = *in.URL
		}
		if in.Events != nil {
			sub.Events, _ = checkEvents(*in.Events)
		}
		if in.Secret != nil {
			sub.Secret = *in.Secret
		}
		if in.Description != nil {
			sub.Description = *in.Description
		}
		if in.Enabled != nil {
			setEnabled(sub, *in.Enabled, now)
		}
		sub.UpdatedAt = now
		return nil
	})
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Subscription{}, errNoSubscription
	}
	if err != nil {
		if _, ok := fault.As(err); ok {
			return domain.Subscription{}, err
		}
		return domain.Subscription{}, fault.Store("update subscription", err)
	}
	return sub, nil
}

// setEnabled applies an owner's enabled, in the update's step, and ends
// the failure streak either way. Enabling clears the reason and time;
// disabling dates it now, but one its owner had disabled already keeps
// its time, as it keeps its reason: a client that sends enabled: false
// again (its whole object back, say) did not disable it again.
func setEnabled(sub *domain.Subscription, enabled bool, now time.Time) {
	ownerDisabled := sub.Disabled && !sub.DisabledByFailures()
	sub.ConsecutiveFailures = 0
	switch {
	case enabled:
		sub.Disabled, sub.DisabledReason, sub.DisabledAt = false, "", time.Time{}
	case !ownerDisabled:
		sub.Disabled, sub.DisabledReason, sub.DisabledAt = true, "disabled by its owner", now
	default:
		sub.DisabledReason = "disabled by its owner"
	}
}

// Delete removes a subscription with its deliveries.
func (s *Service) Delete(ctx context.Context, c *access.Caller, id string) error {
	if _, err := s.Get(ctx, c, id); err != nil {
		return err
	}
	err := s.deps.Subscriptions.DeleteSubscription(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return errNoSubscription
	}
	if err != nil {
		return fault.Store("delete subscription", err)
	}
	return nil
}

// Deliveries lists a subscription's deliveries with their attempts, newest
// first. cursor is what the previous page returned.
func (s *Service) Deliveries(ctx context.Context, c *access.Caller, id, cursor string, limit int) ([]domain.DeliveryRecord, string, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return nil, "", err
	}
	before, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	switch {
	case limit == 0:
		limit = directory.DefaultPageSize
	case limit < 0 || limit > directory.MaxPageSize:
		return nil, "", invalid("invalid_request", "limit must be between 1 and %d", directory.MaxPageSize)
	}
	recs, err := s.deps.Deliveries.ListDeliveries(ctx, id, before, limit+1)
	if err != nil {
		return nil, "", fault.Store("list deliveries", err)
	}
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		last := recs[limit-1].Delivery
		next = encodeCursor(domain.DeliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return recs, next, nil
}

func encodeCursor(c domain.DeliveryCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "|" + c.ID))
}

func decodeCursor(s string) (domain.DeliveryCursor, error) {
	if s == "" {
		return domain.DeliveryCursor{}, nil
	}
	bad := invalid("invalid_cursor", "the cursor is not one this API gave out")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 128 || !utf8.Valid(b) {
		return domain.DeliveryCursor{}, bad
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" || strings.IndexByte(id, 0) >= 0 {
		return domain.DeliveryCursor{}, bad
	}
	return domain.DeliveryCursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}, nil
}

// Redeliver sends a delivery of the caller's subscription again, with the
// same delivery id. It gets one attempt beyond those it had; when that
// fails, the rest of the schedule from where it stood applies (none when
// its retries had run out).
func (s *Service) Redeliver(ctx context.Context, c *access.Caller, subID, deliveryID string) (domain.Delivery, error) {
	if _, err := s.Get(ctx, c, subID); err != nil {
		return domain.Delivery{}, err
	}
	errNoDelivery := fault.New(fault.NotFound, "delivery_not_found", "no such delivery")
	if deliveryID == "" || len(deliveryID) > 64 {
		return domain.Delivery{}, errNoDelivery
	}
	rec, err := s.deps.Deliveries.GetDelivery(ctx, deliveryID)
	if errors.Is(err, domain.ErrNotFound) || err == nil && rec.Delivery.SubscriptionID != subID {
		return domain.Delivery{}, errNoDelivery
	}
	if err != nil {
		return domain.Delivery{}, fault.Store("get delivery", err)
	}
	d, err := s.deps.Deliveries.Redeliver(ctx, deliveryID, s.now())
	if errors.Is(err, domain.ErrNotFound) {
		return domain.Delivery{}, errNoDelivery
	}
	if errors.Is(err, domain.ErrConflict) {
		return domain.Delivery{}, fault.New(fault.Conflict, "delivery_in_flight", "the delivery is being posted right now; retry in a minute")
	}
	if err != nil {
		return domain.Delivery{}, fault.Store("redeliver", err)
	}
	return d, nil
}

// Ping queues a webhook.ping delivery to one of the caller's subscriptions,
// whatever events it subscribes to.
func (s *Service) Ping(ctx context.Context, c *access.Caller, subID string) (domain.Delivery, error) {
	sub, err := s.Get(ctx, c, subID)
	if err != nil {
		return domain.Delivery{}, err
	}
	now := s.now()
	e := domain.Event{
		ID: s.deps.Random.UUID(), Type: domain.EventPing, OccurredAt: now,
		Data: []domain.Field{{Key: "subscriptionId", Value: sub.ID}, {Key: "message", Value: "Calimatic Auth webhook test"}},
	}
	d := s.newDelivery(sub.ID, e, Payload(e), now)
	if err := s.deps.Deliveries.CreateDelivery(ctx, d); err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			return domain.Delivery{}, errNoSubscription
		}
		return domain.Delivery{}, fault.Store("create delivery", err)
	}
	return d, nil
}
