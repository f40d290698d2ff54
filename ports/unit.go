package ports

import "context"

// UnitOfWork makes several store calls one change: a directory change and
// the events that report it (EventPublisher) are stored together or not at
// all, so that every committed change has its events in the outbox and no
// change that failed has any.
//
// Each backend keeps the promise its own way (see its adapter's
// documentation): PostgreSQL runs the unit in one transaction; memory runs
// one unit at a time, in one process that loses everything when it dies;
// MongoDB, which has no multi-document transactions here, runs one unit at
// a time across instances, with an undo journal, and decides each unit,
// with its events, in one insert; the next unit undoes, or completes, what
// a crash left.
type UnitOfWork interface {
	// Atomically runs fn as one unit. Every store call fn makes with the
	// context it is given belongs to the unit: they take effect together
	// when fn returns nil, and none does when it returns an error, which
	// Atomically returns as it is. A call made with another context (the
	// outer one, say) runs outside the unit.
	//
	// fn may run more than once: a backend retries a unit that lost a
	// conflict with another (a deadlock, a serialization failure). So fn
	// must have no effect outside the stores; send mail and the like after
	// Atomically returns.
	//
	// Inside a unit, ClientGrantStore.ListClientGrants holds what it read
	// until the unit ends: a grant withdrawn meanwhile is withdrawn after
	// the unit, never between its check and its writes.
	//
	// Atomically called inside a unit (with its context) joins that unit.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error
}
