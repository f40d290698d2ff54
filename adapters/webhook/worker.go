package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
)

// Service is what the worker drives; *webhooks.Service is one.
type Service interface {
	Dispatch(ctx context.Context) (int, error)
	Parallel() int
	Claim(ctx context.Context, n int) ([]domain.Claim, error)
	Attempt(ctx context.Context, c domain.Claim) (webhooks.Report, error)
}

// Worker runs two loops: one turns stored events into deliveries
// (Dispatch), the other claims due deliveries and posts each in a slot of
// its own (Claim, Attempt). A post frees its slot when it ends, and a free
// slot is filled at once: a slow receiver holds one slot, never the
// others' posts. Each loop repeats while there is work, then sleeps until
// woken or PollEvery passes; the dispatch loop wakes the deliver loop
// whenever it made deliveries.
// Errors are logged and backed off, never fatal: the stores keep the work,
// so the next step picks it up.
type Worker struct {
	svc   Service
	wake  <-chan struct{}
	nudge chan struct{}
	freed chan struct{} // a post ended and freed its slot
	every time.Duration
	log   *slog.Logger

	stop   chan struct{}      // closed by Stop: no new steps
	cancel context.CancelFunc // cancels the steps in flight
	wg     sync.WaitGroup
}

// NewWorker returns a worker over svc. wake (a Notifier's, or nil) starts a
// dispatch step early.
func NewWorker(svc Service, wake <-chan struct{}, opts Options, log *slog.Logger) *Worker {
	opts = opts.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &Worker{svc: svc, wake: wake, nudge: make(chan struct{}, 1), freed: make(chan struct{}, 1), every: opts.PollEvery, log: log}
}

// Start runs the loops in the background and returns at once.
func (w *Worker) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.cancel = make(chan struct{}), cancel
	w.wg.Add(2)
	go func() { defer w.wg.Done(); w.dispatchLoop(ctx) }()
	go func() { defer w.wg.Done(); w.deliverLoop(ctx) }()
}

// Stop lets the steps in flight finish, so that posts already made are
// recorded, for a grace period (stopGrace, at most half of what is left of
// ctx: the hooks that stop after the worker need their share); then it
// cancels them. It returns once both loops have returned. A delivery cut
// off is still leased and goes out again when its lease ends; a dispatch
// cut off leaves its events to the next one.
func (w *Worker) Stop(ctx context.Context) error {
	if w.stop == nil {
		return nil // never started
	}
	close(w.stop)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	grace := stopGrace
	if deadline, ok := ctx.Deadline(); ok {
		grace = min(grace, time.Until(deadline)/2)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
	w.cancel()
	<-done
	return nil
}

// stopGrace bounds how long Stop waits for steps in flight. A slow store
// (seen on FerretDB under load: one dispatch step past 30 s) must not
// take the whole shutdown.
const stopGrace = 5 * time.Second

func (w *Worker) dispatchLoop(ctx context.Context) {
	for {
		n, err := w.svc.Dispatch(ctx)
		switch {
		case err != nil:
			w.warn("webhook dispatch failed", err)
			if !w.sleep(nil) {
				return
			}
			continue
		case n > 0:
			signal(w.nudge)
			if w.stopped() {
				return
			}
			continue
		}
		if !w.sleep(w.wake) {
			return
		}
	}
}

func (w *Worker) deliverLoop(ctx context.Context) {
	slots := make(chan struct{}, max(w.svc.Parallel(), 1))
	var posts sync.WaitGroup
	defer posts.Wait() // a stop lets the posts in flight be recorded
	for {
		free := cap(slots) - len(slots)
		if free == 0 {
			select { // every slot is busy: wait for one
			case <-w.stop:
				return
			case <-w.freed:
			}
			continue
		}
		claims, err := w.svc.Claim(ctx, free)
		if err != nil {
			w.warn("webhook delivery failed", err)
			if !w.sleep(nil) {
				return
			}
			continue
		}
		for _, c := range claims {
			slots <- struct{}{}
			posts.Go(func() {
				defer func() { <-slots; signal(w.freed) }()
				w.attempt(ctx, c)
			})
		}
		if len(claims) > 0 {
			if w.stopped() {
				return
			}
			continue
		}
		if !w.sleep(w.nudge) {
			return
		}
	}
}

// attempt posts one claimed delivery and logs what the store or the
// subscription's state needs an operator to see.
func (w *Worker) attempt(ctx context.Context, c domain.Claim) {
	rep, err := w.svc.Attempt(ctx, c)
	for _, sub := range rep.Disabled {
		w.log.Warn("webhook subscription disabled", slog.String("id", sub.ID),
			slog.String("client_id", sub.ClientID), slog.String("reason", sub.DisabledReason))
	}
	if err != nil {
		w.warn("webhook delivery failed", err)
	}
}

// sleep waits for PollEvery, a receive on wake (nil: none) or Stop. It
// reports false on Stop.
func (w *Worker) sleep(wake <-chan struct{}) bool {
	t := time.NewTimer(w.every)
	defer t.Stop()
	select {
	case <-w.stop:
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

func (w *Worker) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// warn logs a step's error. Step errors come from the stores; what a
// receiver answered is kept with its attempt, not logged.
func (w *Worker) warn(msg string, err error) {
	w.log.Warn(msg, slog.String("err", err.Error()))
}

// signal wakes a loop without blocking; a pending signal already will.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
