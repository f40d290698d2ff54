package webhookflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// WaitTimeout bounds every wait for a delivery. Deliveries go out at once
// and retries come within a second or two, so this is slack for slow
// machines and -race.
const WaitTimeout = 15 * time.Second

// pollEvery is how often waits look again.
const pollEvery = 20 * time.Millisecond

// Hit is one post a Receiver got.
type Hit struct {
	At     time.Time // when it arrived
	Header http.Header
	Body   []byte
	// Event and Data are the body's "event" and "data"; Data is nil when
	// the body is not the payload JSON.
	Event string
	Data  map[string]any
	// Seen is how many posts with this X-Webhook-Delivery came before.
	Seen int
	// Status is what the receiver answered.
	Status int
}

// Delivery is the hit's X-Webhook-Delivery.
func (h Hit) Delivery() string { return h.Header.Get("X-Webhook-Delivery") }

// UserID is the data's userId, if any.
func (h Hit) UserID() string { s, _ := h.Data["userId"].(string); return s }

// Answer is what a receiver responds.
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Responder decides the answer to a hit.
type Responder func(h Hit) Answer

// OK answers every post 200 "ok".
func OK(Hit) Answer { return Answer{Status: http.StatusOK, Body: "ok"} }

// Receiver is a webhook endpoint on 127.0.0.1 that records every post. It
// can go down and come back on the same address.
type Receiver struct {
	// URL is where it receives.
	URL  string
	addr string

	mu      sync.Mutex
	respond Responder
	hits    []Hit
	seen    map[string]int
	srv     *httptest.Server
}

// NewReceiver starts a receiver answering with respond (nil: OK). It
// stops when the test ends.
func NewReceiver(t *testing.T, respond Responder) *Receiver {
	t.Helper()
	r := NewDownReceiver(t, respond)
	r.Start(t)
	return r
}

// NewDownReceiver reserves a loopback address for a receiver without
// listening on it, so posts to its URL are refused until Start.
func NewDownReceiver(t *testing.T, respond Responder) *Receiver {
	t.Helper()
	if respond == nil {
		respond = OK
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	r := &Receiver{URL: "http://" + addr + "/webhooks/calimatic", addr: addr, respond: respond, seen: map[string]int{}}
	t.Cleanup(r.Stop)
	return r
}

// Start listens on the receiver's address again. Another process may
// hold it for a moment (a socket closing), so it retries for a while.
func (r *Receiver) Start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	deadline := time.Now().Add(WaitTimeout)
	for {
		var err error
		ln, err = net.Listen("tcp", r.addr)
		if err == nil {
			break
		}
		require.True(t, errors.Is(err, syscall.EADDRINUSE) && time.Now().Before(deadline), "listen on %s: %v", r.addr, err)
		time.Sleep(50 * time.Millisecond)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	srv.Listener = ln
	srv.Start()
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

// Stop closes the listener and every connection, so posts are refused
// until Start.
func (r *Receiver) Stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// SetResponder changes how the receiver answers from now on.
func (r *Receiver) SetResponder(respond Responder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = respond
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	h := Hit{At: time.Now(), Header: req.Header.Clone(), Body: body}
	var p struct {
		Event string         `json:"event"`
		Data  map[string]any `json:"data"`
	}
	if json.Unmarshal(body, &p) == nil {
		h.Event, h.Data = p.Event, p.Data
	}
	r.mu.Lock()
	h.Seen = r.seen[h.Delivery()]
	r.seen[h.Delivery()]++
	a := r.respond(h)
	h.Status = a.Status
	r.hits = append(r.hits, h)
	r.mu.Unlock()
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// Hits returns the posts that match (nil: all), in arrival order.
func (r *Receiver) Hits(match func(Hit) bool) []Hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Hit
	for _, h := range r.hits {
		if match == nil || match(h) {
			out = append(out, h)
		}
	}
	return out
}

// Wait waits up to WaitTimeout until at least n posts match and returns
// them all.
func (r *Receiver) Wait(t *testing.T, n int, match func(Hit) bool) []Hit {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for {
		hits := r.Hits(match)
		if len(hits) >= n {
			return hits
		}
		if time.Now().After(deadline) {
			require.Failf(t, "deliveries not received", "%d matching post(s) after %s, want %d; all posts: %s",
				len(hits), WaitTimeout, n, describe(r.Hits(nil)))
		}
		time.Sleep(pollEvery)
	}
}

// describe lists hits for failure messages.
func describe(hits []Hit) string {
	s := fmt.Sprintf("%d:", len(hits))
	for i, h := range hits {
		if i == 20 {
			return s + " …"
		}
		s += fmt.Sprintf(" [%s %s user=%s → %d]", h.Event, h.Delivery(), h.UserID(), h.Status)
	}
	return s
}

// OfEvent matches posts of an event type.
func OfEvent(typ string) func(Hit) bool { return func(h Hit) bool { return h.Event == typ } }

// About matches posts of an event type concerning a user.
func About(typ, userID string) func(Hit) bool {
	return func(h Hit) bool { return h.Event == typ && h.UserID() == userID }
}

// OfUser matches every post concerning a user.
func OfUser(userID string) func(Hit) bool { return func(h Hit) bool { return h.UserID() == userID } }

// WithDelivery matches the posts of one delivery.
func WithDelivery(id string) func(Hit) bool { return func(h Hit) bool { return h.Delivery() == id } }

// Eventually polls cond up to WaitTimeout, failing with msg when it never
// holds.
func Eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.Failf(t, "condition not met within "+WaitTimeout.String(), msg, args...)
		}
		time.Sleep(pollEvery)
	}
}
