// Package webhooks holds the webhook use cases: subscriptions (the API at
// /api/v1/admin/webhooks, owned by the calling client), fan-out of stored
// events to the subscriptions entitled to them, the payload and its
// signatures, and the retry schedule.
//
// It is core: it drives the SubscriptionStore, DeliveryStore, grant and
// WebhookSender ports and imports no adapter. The loop that calls Dispatch
// and Deliver lives in adapters/webhook, which also sends over HTTP.
//
// Delivery is at least once. Each delivery has a stable id, sent in
// X-Webhook-Delivery and webhook-id on every attempt and redelivery, so
// receivers can drop duplicates. Deliveries are not ordered: each carries its
// event's timestamp.
//
// Tenancy: a subscription hears only of users who hold its client's license
// or belong to an organization its client was granted, and of organizations
// its client was granted (Audience, fixed when the event happens).
package webhooks
