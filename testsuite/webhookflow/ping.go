package webhookflow

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var pingChecks = []check{
	{"a ping reaches the receiver as a signed webhook.ping", pingArrives},
	{"redelivering a delivered delivery posts it again with the same delivery id", redeliverSameID},
	{"redelivering an unknown delivery is not found", redeliverUnknown},
}

var logChecks = []check{
	{"the delivery log pages newest first with limit and cursor", logPaginates},
	{"the delivery log refuses a bad limit or cursor", logBadQuery},
}

// ping pings a subscription, requiring 202, and returns the delivery id
// the answer names, if it names one.
func (a *API) ping(t *testing.T, c *Client, subID string) string {
	t.Helper()
	r := a.call(t, c.header(), http.MethodPost, pingPath(subID), nil)
	require.Equal(t, http.StatusAccepted, r.Status, "ping; body %q", r)
	var d struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.Body, &d)
	return d.ID
}

func pingArrives(t *testing.T, a *API) {
	c := a.Register(t)
	rcv := NewReceiver(t, nil)
	sub := a.Subscribe(t, c, rcv.URL, "user.deleted")
	answered := a.ping(t, c, sub.ID)
	h := rcv.Wait(t, 1, OfEvent("webhook.ping"))[0]
	assert.Equal(t, "webhook.ping", h.Header.Get("X-Webhook-Event"))
	assert.Equal(t, sub.ID, h.Data["subscriptionId"], "the ping names its subscription")
	assert.Equal(t, guideSignature(sub.Secret, h.Body), h.Header.Get("X-Webhook-Signature"))
	if answered != "" {
		assert.Equal(t, answered, h.Delivery(), "the ping's answer names its delivery")
	}
	assert.Equal(t, []string{"event", "timestamp", "data"}, objectKeys(t, h.Body))
}

func redeliverSameID(t *testing.T, a *API) {
	c := a.Register(t)
	rcv := NewReceiver(t, nil)
	sub := a.Subscribe(t, c, rcv.URL, "user.created")
	a.ping(t, c, sub.ID)
	first := rcv.Wait(t, 1, OfEvent("webhook.ping"))[0]
	id := first.Delivery()
	a.findDelivery(t, c, sub.ID, id, delivered)

	r := a.call(t, c.header(), http.MethodPost, redeliverPath(sub.ID, id), nil)
	require.Equal(t, http.StatusAccepted, r.Status, "redeliver; body %q", r)
	again := rcv.Wait(t, 2, WithDelivery(id))[1]
	assert.Equal(t, 1, again.Seen, "the same delivery id a second time")
	assert.Equal(t, string(first.Body), string(again.Body), "the same body")
	assert.Equal(t, first.Header.Get("X-Webhook-Signature"), again.Header.Get("X-Webhook-Signature"))
	d := a.findDelivery(t, c, sub.ID, id, func(d Delivery) bool { return delivered(d) && len(d.Attempts) == 2 })
	assert.Equal(t, 2, d.AttemptCount, "the redelivery is a second attempt of the same delivery")
}

func redeliverUnknown(t *testing.T, a *API) {
	c := a.Register(t)
	sub := a.Subscribe(t, c, exampleURL, "user.created")
	r := a.call(t, c.header(), http.MethodPost, redeliverPath(sub.ID, "dlv_doesnotexist0000"), nil)
	requireError(t, r, http.StatusNotFound, "")

	// Another subscription's delivery is not this one's to redeliver.
	other := NewReceiver(t, nil)
	otherSub := a.Subscribe(t, c, other.URL, "user.created")
	a.ping(t, c, otherSub.ID)
	id := other.Wait(t, 1, OfEvent("webhook.ping"))[0].Delivery()
	requireError(t, a.call(t, c.header(), http.MethodPost, redeliverPath(sub.ID, id), nil), http.StatusNotFound, "")
}

func logPaginates(t *testing.T, a *API) {
	c := a.Register(t)
	rcv := NewReceiver(t, nil)
	sub := a.Subscribe(t, c, rcv.URL, "user.created")
	for range 5 {
		a.ping(t, c, sub.ID)
	}
	rcv.Wait(t, 5, OfEvent("webhook.ping"))

	var pages [][]Delivery
	cursor := ""
	for range 10 {
		q := url.Values{"limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		p := a.DeliveriesPage(t, c, sub.ID, q.Encode())
		pages = append(pages, p.Deliveries)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	sizes := make([]int, 0, len(pages))
	var all []Delivery
	for _, p := range pages {
		sizes = append(sizes, len(p))
		all = append(all, p...)
	}
	assert.Equal(t, []int{2, 2, 1}, sizes, "five deliveries in pages of two, the last without a cursor")
	seen := map[string]bool{}
	for i, d := range all {
		assert.False(t, seen[d.ID], "delivery %s listed twice", d.ID)
		seen[d.ID] = true
		assert.Equal(t, "webhook.ping", d.Event)
		if i > 0 {
			prev, err1 := time.Parse(time.RFC3339Nano, all[i-1].CreatedAt)
			cur, err2 := time.Parse(time.RFC3339Nano, d.CreatedAt)
			require.NoError(t, errors.Join(err1, err2), "createdAt is RFC 3339")
			assert.False(t, cur.After(prev), "newest first: %s before %s", all[i-1].CreatedAt, d.CreatedAt)
		}
	}
	for _, h := range rcv.Hits(nil) {
		assert.True(t, seen[h.Delivery()], "delivery %s is listed", h.Delivery())
	}
}

func logBadQuery(t *testing.T, a *API) {
	c := a.Register(t)
	sub := a.Subscribe(t, c, exampleURL, "user.created")
	for _, q := range []string{"limit=0", "limit=-1", "limit=many", "cursor=not-a-cursor"} {
		r := a.call(t, c.header(), http.MethodGet, deliveriesPath(sub.ID)+"?"+q, nil)
		requireError(t, r, http.StatusBadRequest, "")
	}
}
