// Package fault is the core's error vocabulary: the kinds of failure a use
// case reports to its caller (Invalid, NotFound, Conflict, ...), and the
// coded error that carries one with a stable code and a plain message.
//
// It sits in the core, beside core/domain, and is shared by the use cases
// (core/directory, core/webhooks, core/scim). Core names a kind; it never
// names a protocol's status. adapters/http alone turns kinds into statuses,
// from one table per dialect (REST, SCIM), so the same failure reads the
// same in every API.
package fault
