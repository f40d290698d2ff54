package webhook

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
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
	attempts   []webhooks.Report // what the next attempts answer; then a delivery
	dispatched chan struct{}
	delivered  chan struct{}
}

type dispatchStep struct {
	n   int
	err error
}

// deliverStep is one Claim: claims deliveries claimed, or err; the first
// claim's Attempt answers attempt, the others a delivery.
type deliverStep struct {
	claims  int
	attempt webhooks.Report
	err     error
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

func (f *fakeService) Parallel() int { return 4 }

func (f *fakeService) Claim(context.Context, int) ([]domain.Claim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered <- struct{}{}
	if len(f.delivers) == 0 {
		return nil, nil
	}
	s := f.delivers[0]
	f.delivers = f.delivers[1:]
	claims := make([]domain.Claim, s.claims)
	for i := range claims {
		claims[i].Delivery.ID = "whd_" + strconv.Itoa(i)
	}
	if s.claims > 0 {
		f.attempts = append(f.attempts, s.attempt)
	}
	return claims, s.err
}

func (f *fakeService) Attempt(context.Context, domain.Claim) (webhooks.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.attempts) == 0 {
		return webhooks.Report{Attempted: 1, Delivered: 1}, nil
	}
	r := f.attempts[0]
	f.attempts = f.attempts[1:]
	return r, nil
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
	svc.script([]dispatchStep{{n: 2}}, []deliverStep{{claims: 2}})
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
	svc.script(nil, []deliverStep{{claims: 1, attempt: webhooks.Report{Attempted: 1, Disabled: []domain.Subscription{{
		ID: "whs_1", ClientID: "cca_1", URL: "https://a.example/hook?token=secret",
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

// blockingService claims one delivery, whose post lasts until its context
// ends; every later claim finds nothing.
type blockingService struct {
	claimed sync.Once
	started chan struct{}
	ended   chan error
}

func (b *blockingService) Dispatch(context.Context) (int, error) { return 0, nil }

func (b *blockingService) Parallel() int { return 2 }

func (b *blockingService) Claim(context.Context, int) ([]domain.Claim, error) {
	var out []domain.Claim
	b.claimed.Do(func() { out = []domain.Claim{{}} })
	return out, nil
}

func (b *blockingService) Attempt(ctx context.Context, _ domain.Claim) (webhooks.Report, error) {
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

// slowFirstService's first post hangs until released; the others end at
// once.
type slowFirstService struct {
	mu      sync.Mutex
	claims  int
	release chan struct{}
	done    chan string
}

func (s *slowFirstService) Dispatch(context.Context) (int, error) { return 0, nil }

func (s *slowFirstService) Parallel() int { return 2 }

func (s *slowFirstService) Claim(_ context.Context, n int) ([]domain.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims >= 4 || n == 0 {
		return nil, nil
	}
	s.claims++
	c := domain.Claim{}
	c.Delivery.ID = "whd_" + strconv.Itoa(s.claims)
	return []domain.Claim{c}, nil
}

func (s *slowFirstService) Attempt(ctx context.Context, c domain.Claim) (webhooks.Report, error) {
	if c.Delivery.ID == "whd_1" {
		select {
		case <-s.release:
		case <-ctx.Done():
		}
	}
	s.done <- c.Delivery.ID
	return webhooks.Report{Attempted: 1, Delivered: 1}, nil
}

// TestWorkerASlowReceiverHoldsOneSlot: while one post hangs (a receiver
// that never answers), the other slot keeps posting the rest.
func TestWorkerASlowReceiverHoldsOneSlot(t *testing.T) {
	svc := &slowFirstService{release: make(chan struct{}), done: make(chan string, 10)}
	w := NewWorker(svc, nil, Options{PollEvery: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
	w.Start()
	for _, want := range []string{"whd_2", "whd_3", "whd_4"} {
		select {
		case got := <-svc.done:
			assert.Equal(t, want, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not posted while whd_1 hung", want)
		}
	}
	close(svc.release)
	assert.Equal(t, "whd_1", <-svc.done)
	require.NoError(t, w.Stop(context.Background()))
}
