// Package background runs a function in a goroutine of its own from an
// application's start to its stop: a janitor, a backfill, a reload loop.
//
// It sits outside the hexagon's rings, as plumbing that every adapter may
// share. It imports nothing of the module and no fx, which keeps it legal
// for every adapter to import (only app and an adapter's module.go import
// fx, and adapters never import each other; app/architecture_test.go).
// An adapter's module.go hands a Task's methods to fx:
//
//	t := background.New(run)
//	lc.Append(fx.StartStopHook(t.Start, t.Stop))
package background

import "context"

// Task is one function run in the background between Start and Stop. A
// Task runs once: Start it at most once, and Stop it only after Start.
type Task struct {
	run    func(ctx context.Context)
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Task that will run run. run must return soon after its
// context is done.
func New(run func(ctx context.Context)) *Task {
	ctx, cancel := context.WithCancel(context.Background())
	return &Task{run: run, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// Start runs the task in a goroutine and returns at once, so that a long
// task never delays the start. The task's context is its own, not the
// start's, which ends as soon as the start does.
func (t *Task) Start(context.Context) error {
	go func() {
		defer close(t.done)
		t.run(t.ctx)
	}()
	return nil
}

// Stop cancels the task's context and waits for the task to return. If
// ctx ends first, Stop returns ctx's error and leaves the task to finish
// on its own.
func (t *Task) Stop(ctx context.Context) error {
	t.cancel()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
