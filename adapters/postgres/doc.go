// Package postgres is the PostgreSQL driven adapter: it implements the store
// ports (clients, users, organizations, the directory with its licenses,
// client grants, roles, administration keys, action tokens and verified mail
// domains, the organizations' groups, grants, sessions, authorization
// requests, signing keys, webhook subscriptions and deliveries, users'
// second factors, SCIM tokens and SCIM's user searches), the event outbox
// behind the EventPublisher port, which the DeliveryStore dispatches, and
// the shared rate limiter and replay cache on a pgx/v5 pool, so that any
// number of instances can share one database.
//
// It sits at the edge of the hexagon: it speaks core/domain types, keeps
// every atomicity promise of the ports in the database (single statements or
// short transactions, never Go locks), and translates driver errors into the
// domain's sentinels (see errors.go).
//
// The schema lives in embedded, numbered, forward-only SQL migrations
// applied with pressly/goose under a PostgreSQL advisory lock (see
// migrate.go). Time always comes from the callers' now arguments, never from
// the database clock, so that the conformance suites in testsuite/ are
// exact; the janitor (janitor.go), which deletes expired rows in bounded
// batches, takes its time from the ports.Clock in the same way. Secrets that
// must be read back (signing keys, webhook signing secrets, TOTP secrets)
// are sealed with AES-256-GCM under the key-encryption key.
package postgres
