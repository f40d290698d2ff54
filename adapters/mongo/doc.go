// Package mongo is the MongoDB driven adapter: every store port, the shared
// rate limiter and replay cache, the event outbox and the webhook stores on
// the official Go driver (go.mongodb.org/mongo-driver, the v1 line), so that
// any number of instances can share one deployment.
//
// It sits at the edge of the hexagon, like adapters/postgres: it speaks
// core/domain types through explicit BSON document structs of its own
// (domain types carry no BSON tags), and translates driver errors into the
// domain's sentinels (errors.go).
//
// Atomicity never relies on multi-document transactions, so the adapter
// works on servers without them (FerretDB 1.24, standalone mongod): every
// promise of the ports is kept by single-document atomic operations
// (findOneAndUpdate with conditions, upserts) and unique indexes. Where a
// change spans documents, the writes are ordered so that a crash leaves
// nothing visible half-done; each such place says why in a comment.
//
// Collections and indexes are created at start, idempotently (indexes.go).
// TTL indexes are made where the server supports them, but correctness never
// depends on them: expiry is checked in every query, and a janitor
// (janitor.go) deletes expired documents in bounded batches. Times come
// from the callers, never from the server.
package mongo
