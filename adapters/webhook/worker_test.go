package webhook

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
)

// fakeService hands out scripted step results; once a script runs out the
// step finds no work.
type fakeService struct {
	mu         sync.Mutex
	dispatches []dispatchStep
	delivers   []deliverStep
	dispatched chan struct{}
	delivered  chan struct{}
}

type dispatchStep struct {
	n   int
	err error
}

type deliverStep struct {
	rep webhooks.Report
	err error
}

func newFakeService() *fakeService {
	return &fakeService{dispatched: make(chan struct{}, 100), delivered: make(chan struct{}, 100)}
}

func (f *fakeService) Dispatch(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dispatched <- struct{}{}
	if len(f.dispatches) == 0 {
		return 0, nil
	}
	s := f.dispatches[0]
	f.dispatches = f.dispatches[1:]
	return s.n, s.err
}

func (f *fakeService) Deliver(context.Context) (webhooks.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered <- struct{}{}
	if len(f.delivers) == 0 {
		return webhooks.Report{}, nil
	}
	s := f.delivers[0]
	f.delivers = f.delivers[1:]
	return s.rep, s.err
}

func (f *fakeService) script(d []dispatchStep, l []deliverStep) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dispatches, f.delivers = append(f.dispatches, d...), append(f.delivers, l...)
}

// syncBuffer is a log sink safe for the worker's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func waitFor(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// startWorker runs a worker that would poll only hourly, so every step after
// the first two comes from a wake or a nudge.
func startWorker(t *testing.T, svc *fakeService, wake <-chan struct{}) (*Worker, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	w := NewWorker(svc, wake, Options{PollEvery: time.Hour}, slog.New(slog.NewTextHandler(logs, nil)))
	w.Start()
	t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	waitFor(t, svc.dispatched, "the first dispatch")
	waitFor(t, svc.delivered, "the first delivery step")
	return w, logs
}

func TestWorkerDispatchesOnWakeAndDeliversAtOnce(t *testing.T) {
	svc := newFakeService()
	n := NewNotifier(&fakePublisher{})
	startWorker(t, svc, n.Wake())
	svc.script([]dispatchStep{{n: 2}}, []deliverStep{{rep: webhooks.Report{Attempted: 2, Delivered: 2}}})
	drain(svc.dispatched)
	drain(svc.delivered)

	require.NoError(t, n.Publish(context.Background(), domain.Event{ID: "e1"}))

	waitFor(t, svc.dispatched, "the dispatch a publication wakes")
	waitFor(t, svc.dispatched, "the dispatch repeated while there was work")
	waitFor(t, svc.delivered, "the delivery step a dispatch nudges")
	waitFor(t, svc.delivered, "the delivery step repeated while there was work")
}

func TestWorkerSurvivesErrorsAndLogsDisabledSubscriptions(t *testing.T) {
	svc := newFakeService()
	svc.script(nil, []deliverStep{{rep: webhooks.Report{Attempted: 1, Disabled: []domain.Subscription{{
		ID: "whs_1", ClientID: "cca_1", URL: "https://a.example/hook?token=secret", Secret: "whsec_hidden",
		DisabledReason: "the endpoint answered 410 Gone",
	}}}}, {err: errors.New("claim deliveries: database down")}})
	logs := &syncBuffer{}
	w := NewWorker(svc, nil, Options{PollEvery: 10 * time.Millisecond}, slog.New(slog.NewTextHandler(logs, nil)))
	w.Start()

	for range 4 { // past the error and its back-off
		waitFor(t, svc.delivered, "a delivery step")
	}
	require.NoError(t, w.Stop(context.Background()))

	out := logs.String()
	assert.Contains(t, out, `msg="webhook subscription disabled" id=whs_1 client_id=cca_1 reason="the endpoint answered 410 Gone"`)
	assert.Contains(t, out, `msg="webhook delivery failed" err="claim deliveries: database down"`)
	assert.NotContains(t, out, "token=secret")
	assert.NotContains(t, out, "whsec_hidden")
}

// blockingService's delivery step lasts until its context ends.
type blockingService struct {
	started chan struct{}
	ended   chan error
}

func (b *blockingService) Dispatch(context.Context) (int, error) { return 0, nil }

func (b *blockingService) Deliver(ctx context.Context) (webhooks.Report, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	b.ended <- ctx.Err()
	return webhooks.Report{}, ctx.Err()
}

// Stop gives a step in flight half of what is left of its context (at most
// stopGrace), then cancels it: the hooks that stop after the worker keep
// their share of the shutdown.
func TestWorkerStopCancelsStepsAfterHalfItsContext(t *testing.T) {
	svc := &blockingService{started: make(chan struct{}, 1), ended: make(chan error, 1)}
	w := NewWorker(svc, nil, Options{PollEvery: time.Hour}, slog.New(slog.DiscardHandler))
	w.Start()
	waitFor(t, svc.started, "the delivery step")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.NoError(t, w.Stop(ctx))

	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 90*time.Millisecond, "the step in flight was given half the time left")
	assert.Less(t, took, 200*time.Millisecond, "and no more: the stop deadline is not reached")
	assert.NoError(t, ctx.Err(), "the stop context still has time for the hooks after the worker")
	assert.ErrorIs(t, <-svc.ended, context.Canceled)
}

func TestWorkerStopWithoutStart(t *testing.T) {
	w := NewWorker(newFakeService(), nil, Options{}, nil)
	assert.NoError(t, w.Stop(context.Background()))
}
