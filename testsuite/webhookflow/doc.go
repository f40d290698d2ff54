// Package webhookflow is the black-box end-to-end suite of webhooks
// (integration guide §5): the subscription API, what a delivery looks like
// and how it is signed, who receives which events, retries, outages, pings,
// redeliveries and the delivery log.
//
// Like directoryflow it sits outside the hexagon: it drives a running
// server over HTTP knowing only a base URL and an admin key, and receives
// deliveries on its own httptest servers on 127.0.0.1, so the server under
// test must allow loopback receivers (webhooks.allow_loopback) and http
// URLs. Retries are checked by what arrives and when, so the server should
// retry quickly (a first retry well under a second) for the suite to run
// in seconds.
//
// Every check registers its own clients, organizations and receivers, so
// the groups run in parallel and the suite runs on a database other tests
// share. The API, Receiver and Tenant types are exported for tests that
// drive servers of their own (restarts, several instances, throughput).
package webhookflow
