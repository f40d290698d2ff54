package domain

import "time"

// EventPing is the type of the test event a subscription's owner can send
// to itself; it is not one of the guide's twelve and reaches only that
// subscription.
const EventPing = "webhook.ping"

// WebhookSecretPrefix marks generated signing secrets (Standard Webhooks'
// "whsec_" followed by the base64 of the key).
const WebhookSecretPrefix = "whsec_"

// Subscription is a client's webhook endpoint and the events it wants.
// Secret signs every delivery, so it is kept as is (adapters encrypt it at
// rest where they can); it is never shown again after creation.
type Subscription struct {
	ID          string
	ClientID    string
	URL         string
	Events      []string
	Secret      string
	Description string
	// Disabled stops deliveries; DisabledReason says why (a 410, too many
	// failures, the owner) and DisabledAt when: the attempt that disabled
	// it, or the owner's change. DisabledAt is zero while enabled, and for
	// one disabled before the time was recorded.
	Disabled            bool
	DisabledReason      string
	DisabledAt          time.Time
	ConsecutiveFailures int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// DisabledByFailures reports whether failed deliveries (or a 410)
// disabled the subscription: each adds to its streak, and one its owner
// disabled has none (enabling or disabling clears it).
func (s *Subscription) DisabledByFailures() bool { return s.Disabled && s.ConsecutiveFailures > 0 }

// Wants reports whether the subscription is active and subscribed to typ.
func (s *Subscription) Wants(typ string) bool {
	if s.Disabled {
		return false
	}
	for _, e := range s.Events {
		if e == typ {
			return true
		}
	}
	return false
}

// DeliveryState is where a delivery stands.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"   // due at NextAttemptAt
	DeliveryDelivered DeliveryState = "delivered" // a 2xx was received
	DeliveryFailed    DeliveryState = "failed"    // retries ran out, or the subscription was disabled
)

// DeliveryKind says what a delivery carries and how it is posted.
type DeliveryKind string

// Delivery kinds.
const (
	// DeliveryWebhook is an event to a subscription: a signed JSON post.
	// It is the zero value, so deliveries stored before kinds existed are
	// webhooks.
	DeliveryWebhook DeliveryKind = ""
	// DeliveryBackchannelLogout is a logout token to a client's
	// backchannel_logout_uri (OIDC Back-Channel Logout 1.0 §2.5). It has no
	// subscription: URL and ClientID say where it goes, and Payload holds
	// the LogoutNotice the token is signed from at each attempt.
	DeliveryBackchannelLogout DeliveryKind = "backchannel_logout"
)

// Delivery is one event on its way to one subscription (or, for a
// back-channel logout, to one client). Its ID is the stable delivery id
// receivers deduplicate on: every attempt and every redelivery carries it.
type Delivery struct {
	ID             string
	SubscriptionID string // empty for a back-channel logout
	Kind           DeliveryKind
	URL            string // a back-channel logout's endpoint
	ClientID       string // a back-channel logout's client
	EventID        string
	EventType      string
	// Payload is the exact body posted, signed as is; for a back-channel
	// logout, the JSON of its LogoutNotice.
	Payload       []byte
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	// LeaseUntil is set while an instance posts it: no other instance
	// claims it before then.
	LeaseUntil  time.Time
	CreatedAt   time.Time
	CompletedAt time.Time
}

// Attempt is one post of a delivery.
type Attempt struct {
	DeliveryID string
	Number     int // 1 for the first attempt
	At         time.Time
	StatusCode int // 0 when no response came
	Latency    time.Duration
	Error      string // why it failed, if it did
	// Response is the first MaxAttemptResponse bytes of the response body.
	Response []byte
}

// MaxAttemptResponse bounds the response kept per attempt.
const MaxAttemptResponse = 1024

// AttemptOutcome is what recording an attempt changes: the delivery's next
// state and time, and the subscription's failure streak.
type AttemptOutcome struct {
	State         DeliveryState
	NextAttemptAt time.Time // when State is pending
	// Succeeded resets the subscription's ConsecutiveFailures; otherwise it
	// grows by one, and DisableAfter (when > 0) disables the subscription
	// once it reaches that many. Disable disables it at once (a 410). A
	// subscription disabled so gets DisabledReason and DisabledAt = the
	// attempt's At; one disabled already keeps its own.
	Succeeded      bool
	DisableAfter   int
	Disable        bool
	DisabledReason string
}

// Claim is a leased delivery with the subscription it goes to (the zero
// Subscription for a back-channel logout, which has none).
type Claim struct {
	Delivery     Delivery
	Subscription Subscription
}

// DeliveryRecord is a delivery with its attempts, oldest attempt first.
type DeliveryRecord struct {
	Delivery Delivery
	Attempts []Attempt
}

// DeliveryCursor pages a subscription's deliveries, newest first: a page
// holds the deliveries strictly older than (CreatedAt, ID).
type DeliveryCursor struct {
	CreatedAt time.Time
	ID        string
}
