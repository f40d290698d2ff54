// Package webhook is the driven adapter that takes webhook deliveries out of
// the process: Sender implements ports.WebhookSender over net/http, and
// Worker runs the two loops that call core/webhooks' Dispatch (stored
// events to pending deliveries) and Deliver (pending deliveries to posts).
//
// It sits on the outer ring of the hexagon: it drives *webhooks.Service and
// is wired by app through Module; core never imports it.
//
// Sender is the SSRF boundary. Subscription URLs come from clients, so it
// checks the IP it actually connects to, after DNS resolution, in the
// dialer's Control hook: a name that resolves (or re-resolves, as in DNS
// rebinding) to loopback, a private network, link-local (which holds the
// cloud metadata service at 169.254.169.254) or another special range is
// refused, whatever the URL said. Proxies from the environment are ignored,
// so the peer checked is the real one, and redirects are never followed, so
// a public endpoint cannot bounce a delivery inward.
//
// Notifier wraps the EventPublisher so that a published event wakes the
// worker at once; without it the worker still polls.
package webhook
