package webhookflow

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var retryChecks = []check{
	{"a receiver answering 500 twice then 200 gets one delivery id three times, and the log lists the three attempts", retryUntilOK},
	{"a 429 or 503 with Retry-After: 1 is retried no sooner than a second later", retryAfterHonoured},
	{"a 410 disables the subscription, nothing more is sent, and enabling it again resumes deliveries", retryGoneDisables},
}

var outageChecks = []check{
	{"five events that happen while the receiver is down all arrive once it is back on the same URL", outageRecovers},
}

// findDelivery waits until the subscription's log holds the delivery with
// id and cond holds for it, and returns it.
func (a *API) findDelivery(t *testing.T, c *Client, subID, id string, cond func(Delivery) bool) Delivery {
	t.Helper()
	var last Delivery
	Eventually(t, func() bool {
		for _, d := range a.Deliveries(t, c, subID) {
			if d.ID == id {
				last = d
				return cond(d)
			}
		}
		return false
	}, "delivery %s of subscription %s; last seen %+v", id, subID, &last)
	return last
}

func delivered(d Delivery) bool { return d.State == "delivered" }

func retryUntilOK(t *testing.T, a *API) {
	tn := a.NewTenant(t, "retry")
	rcv := NewReceiver(t, func(h Hit) Answer {
		if h.Seen < 2 {
			return Answer{Status: http.StatusInternalServerError, Body: fmt.Sprintf("boom %d", h.Seen+1)}
		}
		return Answer{Status: http.StatusOK, Body: "fine"}
	})
	sub := a.Subscribe(t, tn.Client, rcv.URL, "user.created")
	userID := a.Provision(t, tn, NewUser("retry"))
	hits := rcv.Wait(t, 3, About("user.created", userID))
	id := hits[0].Delivery()
	require.NotEmpty(t, id)
	for i, h := range hits[:3] {
		assert.Equal(t, id, h.Delivery(), "attempt %d carries the same X-Webhook-Delivery", i+1)
		assert.Equal(t, id, h.Header.Get("webhook-id"))
		assert.Equal(t, string(hits[0].Body), string(h.Body), "every attempt posts the same body")
		assert.Equal(t, guideSignature(sub.Secret, h.Body), h.Header.Get("X-Webhook-Signature"))
	}
	assert.Equal(t, []int{500, 500, 200}, []int{hits[0].Status, hits[1].Status, hits[2].Status})

	d := a.findDelivery(t, tn.Client, sub.ID, id, delivered)
	assert.Equal(t, "user.created", d.Event)
	assert.NotEmpty(t, d.EventID)
	assert.Equal(t, 3, d.AttemptCount)
	assert.NotEmpty(t, d.CreatedAt)
	assert.NotEmpty(t, d.CompletedAt, "a delivered delivery says when")
	assert.Empty(t, d.NextAttemptAt, "a delivered delivery has no next attempt")
	require.Len(t, d.Attempts, 3, "every attempt is listed: %+v", d.Attempts)
	for i, at := range d.Attempts {
		assert.Equal(t, i+1, at.Number)
		assert.NotEmpty(t, at.At)
		if assert.NotNil(t, at.LatencyMs, "attempt %d has a latency", i+1) {
			assert.GreaterOrEqual(t, *at.LatencyMs, 0.0)
		}
	}
	assert.Equal(t, []int{500, 500, 200}, []int{d.Attempts[0].StatusCode, d.Attempts[1].StatusCode, d.Attempts[2].StatusCode})
	assert.Equal(t, []string{"boom 1", "boom 2", "fine"}, []string{d.Attempts[0].Response, d.Attempts[1].Response, d.Attempts[2].Response},
		"each attempt keeps an excerpt of the response")
	assert.NotEmpty(t, d.Attempts[0].Error, "a failed attempt says why")
	assert.NotEmpty(t, d.Attempts[1].Error)
	assert.Empty(t, d.Attempts[2].Error, "the successful attempt has no error")
}

func retryAfterHonoured(t *testing.T, a *API) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			tn := a.NewTenant(t, "retryafter")
			rcv := NewReceiver(t, func(h Hit) Answer {
				if h.Seen == 0 {
					return Answer{Status: status, Header: http.Header{"Retry-After": {"1"}}, Body: "slow down"}
				}
				return Answer{Status: http.StatusOK}
			})
			sub := a.Subscribe(t, tn.Client, rcv.URL, "user.created")
			userID := a.Provision(t, tn, NewUser("retryafter"))
			hits := rcv.Wait(t, 2, About("user.created", userID))
			gap := hits[1].At.Sub(hits[0].At)
			t.Logf("retry %s after a %d with Retry-After: 1", gap.Round(time.Millisecond), status)
			// The server counts the second from just before its post; the
			// receiver from just after. 100 ms covers the difference.
			assert.GreaterOrEqual(t, gap, 900*time.Millisecond, "the retry waited for Retry-After")
			assert.Equal(t, hits[0].Delivery(), hits[1].Delivery())
			d := a.findDelivery(t, tn.Client, sub.ID, hits[0].Delivery(), delivered)
			require.Len(t, d.Attempts, 2)
			assert.Equal(t, status, d.Attempts[0].StatusCode)
		})
	}
}

func retryGoneDisables(t *testing.T, a *API) {
	tn := a.NewTenant(t, "gone")
	gone := NewReceiver(t, func(Hit) Answer { return Answer{Status: http.StatusGone, Body: "gone"} })
	witness := NewReceiver(t, nil)
	sub := a.Subscribe(t, tn.Client, gone.URL, "user.created", "user.updated")
	witnessSub := a.Subscribe(t, tn.Client, witness.URL, "user.created", "user.updated")
	userID := a.Provision(t, tn, NewUser("gone"))
	first := gone.Wait(t, 1, About("user.created", userID))[0]

	var got Subscription
	Eventually(t, func() bool {
		got = a.GetSubscription(t, tn.Client, sub.ID)
		return !got.Enabled
	}, "the subscription is disabled after a 410")
	assert.NotEmpty(t, got.DisabledReason, "it says why")
	d := a.findDelivery(t, tn.Client, sub.ID, first.Delivery(), func(d Delivery) bool { return d.State == "failed" })
	require.Len(t, d.Attempts, 1, "a 410 is not retried")
	assert.Equal(t, http.StatusGone, d.Attempts[0].StatusCode)

	a.UpdateUser(t, tn.Client, userID, "Janet")
	witness.Wait(t, 1, About("user.updated", userID))
	a.barrier(t, tn.Client, witnessSub, witness)
	assert.Len(t, gone.Hits(nil), 1, "nothing more reaches a disabled subscription: %s", describe(gone.Hits(nil)))

	gone.SetResponder(OK)
	r := a.call(t, tn.Client.header(), http.MethodPatch, webhookPath(sub.ID), map[string]any{"enabled": true})
	require.Equal(t, http.StatusOK, r.Status, "re-enable; body %q", r)
	var enabled Subscription
	r.decode(t, &enabled)
	assert.True(t, enabled.Enabled)
	assert.Empty(t, enabled.DisabledReason)
	a.UpdateUser(t, tn.Client, userID, "Janine")
	h := gone.Wait(t, 1, func(h Hit) bool { return h.Event == "user.updated" && h.Data["firstName"] == "Janine" })[0]
	assert.Equal(t, http.StatusOK, h.Status)
}

func outageRecovers(t *testing.T, a *API) {
	tn := a.NewTenant(t, "outage")
	rcv := NewDownReceiver(t, nil)
	sub := a.Subscribe(t, tn.Client, rcv.URL, "user.created")
	var users []string
	for range 5 {
		users = append(users, a.Provision(t, tn, NewUser("outage")))
	}
	// Every delivery failed at least once: the events really happened
	// while the receiver was down.
	Eventually(t, func() bool {
		ds := a.Deliveries(t, tn.Client, sub.ID)
		if len(ds) < 5 {
			return false
		}
		for _, d := range ds {
			if len(d.Attempts) == 0 {
				return false
			}
		}
		return true
	}, "five deliveries, each tried once")
	for _, d := range a.Deliveries(t, tn.Client, sub.ID) {
		assert.Equal(t, "pending", d.State, "a refused delivery waits for its retry")
		assert.NotEmpty(t, d.NextAttemptAt, "and says when")
		assert.Zero(t, d.Attempts[0].StatusCode, "no response came")
		assert.NotEmpty(t, d.Attempts[0].Error, "the attempt says why it failed")
	}
	assert.Empty(t, rcv.Hits(nil))

	rcv.Start(t)
	for _, u := range users {
		hits := rcv.Wait(t, 1, About("user.created", u))
		for _, h := range hits {
			assert.Equal(t, hits[0].Delivery(), h.Delivery(), "one delivery id per event")
		}
	}
	Eventually(t, func() bool {
		ds := a.Deliveries(t, tn.Client, sub.ID)
		n := 0
		for _, d := range ds {
			if delivered(d) {
				n++
			}
		}
		return n == 5
	}, "all five deliveries end delivered")
	assert.True(t, a.GetSubscription(t, tn.Client, sub.ID).Enabled, "an outage this short does not disable the subscription")
}
