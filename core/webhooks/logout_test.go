package webhooks_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
	"github.com/calimatic/calimatic-auth/ports"
)

// recordingSender answers each post with the next status and keeps what it
// was sent.
type recordingSender struct {
	mu       sync.Mutex
	statuses []int
	posts    []post
}

type post struct {
	url     string
	headers map[string]string
	body    string
}

func (s *recordingSender) Send(_ context.Context, u string, h map[string]string, body []byte) ports.SendResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, post{u, h, string(body)})
	status := 200
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	return ports.SendResult{StatusCode: status}
}

type fixedSigner struct{ err error }

func (f fixedSigner) LogoutToken(_ context.Context, n domain.LogoutNotice) (string, error) {
	return "token-for." + n.ClientID + "." + n.SID, f.err
}

type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

type logoutWorld struct {
	svc     *webhooks.Service
	events  *memory.EventLog
	store   *memory.Webhooks
	clients *memory.ClientStore
	sender  *recordingSender
	clock   *manualClock
}

func newLogoutWorld(t *testing.T, signer webhooks.LogoutTokenSigner, statuses ...int) *logoutWorld {
	w := &logoutWorld{events: memory.NewEventLog(), clients: memory.NewClientStore(),
		sender: &recordingSender{statuses: statuses}, clock: &manualClock{time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)}}
	w.store = memory.NewWebhooks(w.events)
	w.svc = webhooks.New(webhooks.Config{}, webhooks.Deps{
		Clients: w.clients, Subscriptions: w.store, Deliveries: w.store,
		Grants: memory.NewClientGrantStore(memory.NewOrganizationStore()), Sender: w.sender,
		LogoutTokens: signer, Clock: w.clock, Random: system.NewRandom(),
	})
	for _, c := range []domain.Client{
		{ID: "cca_rp", BackchannelLogoutURI: "https://rp.example/logout"},
		{ID: "cca_nouri"},
		{ID: "cca_disabled", BackchannelLogoutURI: "https://off.example/logout", Disabled: true},
	} {
		require.NoError(t, w.clients.CreateClient(context.Background(), c))
	}
	return w
}

func (w *logoutWorld) endSession(t *testing.T, clients ...string) {
	e, ok := domain.LogoutEvent("evt-1", w.clock.t, domain.Session{SID: "sid-1", UserID: "user-1", ClientIDs: clients})
	require.True(t, ok)
	require.NoError(t, w.events.Publish(context.Background(), e))
	_, err := w.svc.Dispatch(context.Background())
	require.NoError(t, err)
}

func TestLogoutIsAFormPostOfTheTokenWithoutWebhookHeaders(t *testing.T) {
	w := newLogoutWorld(t, fixedSigner{})
	w.endSession(t, "cca_rp", "cca_nouri", "cca_disabled", "cca_deleted")
	rep, err := w.svc.Deliver(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Attempted, "only the active client that still registers a URI")
	assert.Equal(t, 1, rep.Delivered)
	require.Len(t, w.sender.posts, 1)
	p := w.sender.posts[0]
	assert.Equal(t, "https://rp.example/logout", p.url)
	assert.Equal(t, "application/x-www-form-urlencoded", p.headers["Content-Type"], "§2.5")
	form, err := url.ParseQuery(p.body)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"logout_token": {"token-for.cca_rp.sid-1"}}, form)
	for _, h := range []string{webhooks.HeaderSignature, webhooks.HeaderWebhookSignature, webhooks.HeaderEvent, webhooks.HeaderDelivery} {
		assert.NotContains(t, p.headers, h, "no webhook header: the token is signed")
	}
}

func TestLogoutIsRetriedUntilTheReceiverAnswers200Or204(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
	}{
		{"a 500 then a 200 delivers on the retry", []int{500, 200}},
		{"a 400 (the RP could not log out) then a 204 delivers on the retry", []int{400, 204}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLogoutWorld(t, fixedSigner{}, tt.statuses...)
			w.endSession(t, "cca_rp")
			rep, err := w.svc.Deliver(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 0, rep.Delivered)
			rep, err = w.svc.Deliver(context.Background())
			require.NoError(t, err)
			assert.Zero(t, rep.Attempted, "not before the retry is due")
			w.clock.t = w.clock.t.Add(time.Minute)
			rep, err = w.svc.Deliver(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 1, rep.Delivered)
			require.Len(t, w.sender.posts, 2)
		})
	}
}

func TestLogoutWhoseTokenCannotBeSignedIsRetried(t *testing.T) {
	w := newLogoutWorld(t, fixedSigner{err: errors.New("vault is sealed")})
	w.endSession(t, "cca_rp")
	rep, err := w.svc.Deliver(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Attempted)
	assert.Zero(t, rep.Delivered)
	assert.Empty(t, w.sender.posts, "nothing is posted without a token")
	claims, err := w.store.ClaimDeliveries(context.Background(), w.clock.t.Add(time.Hour), w.clock.t.Add(2*time.Hour), 10)
	require.NoError(t, err)
	assert.Len(t, claims, 1, "still pending, for the retry")
}
