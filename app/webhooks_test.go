package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/webhookflow"
)

// fastWebhooks delivers to receivers on 127.0.0.1 and retries within
// seconds, so the webhook suites run quickly. The issuer is http on
// loopback, so http receiver URLs are allowed.
func fastWebhooks(c *config.Config) {
	c.Webhooks.Deliver = true
	c.Webhooks.AllowLoopback = true
	c.Webhooks.Timeout = 5 * time.Second
	c.Webhooks.FirstRetry = 200 * time.Millisecond
	c.Webhooks.MaxRetryDelay = time.Second
	c.Webhooks.RetryFor = 30 * time.Second
	c.Webhooks.PollEvery = 50 * time.Millisecond
	c.RateLimit.Enabled = false
}

// withFastWebhooks is fastWebhooks after other edits.
func withFastWebhooks(edits ...func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		for _, e := range edits {
			e(c)
		}
		fastWebhooks(c)
	}
}

func webhookEnv(baseURL string) webhookflow.Env {
	return webhookflow.Env{BaseURL: baseURL, AdminKey: seedAdminKey}
}

// TestWebhookFlow runs the webhook suite on the memory driver.
func TestWebhookFlow(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fastWebhooks)
	webhookflow.Run(t, webhookEnv(srv.BaseURL))
}

// TestWebhookFlowPostgres runs it on the postgres driver.
func TestWebhookFlowPostgres(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withFastWebhooks(usePostgres(postgresDSN(t), newKEK())))
	webhookflow.Run(t, webhookEnv(srv.BaseURL))
}

// TestWebhookRestartPostgres stops the server while a delivery waits for a
// receiver that is down; a new server on the same database delivers it.
func TestWebhookRestartPostgres(t *testing.T) {
	t.Parallel()
	dsn, kek := postgresDSN(t), newKEK()
	first := startServer(t, withFastWebhooks(usePostgres(dsn, kek)))
	api := webhookflow.NewAPI(t, webhookEnv(first.BaseURL))
	tn := api.NewTenant(t, "restart")
	rcv := webhookflow.NewDownReceiver(t, nil)
	sub := api.Subscribe(t, tn.Client, rcv.URL, "user.created")
	userID := api.Provision(t, tn, webhookflow.NewUser("restart"))
	// The delivery was made and failed once: it is the store's, pending.
	webhookflow.Eventually(t, func() bool {
		ds := api.Deliveries(t, tn.Client, sub.ID)
		return len(ds) == 1 && ds[0].State == "pending" && len(ds[0].Attempts) > 0
	}, "the delivery is pending after a refused attempt")
	first.stop()

	rcv.Start(t)
	second := startServer(t, withFastWebhooks(usePostgres(dsn, kek)))
	h := rcv.Wait(t, 1, webhookflow.About("user.created", userID))[0]
	api = webhookflow.NewAPI(t, webhookEnv(second.BaseURL))
	var ds []webhookflow.Delivery
	webhookflow.Eventually(t, func() bool {
		ds = api.Deliveries(t, tn.Client, sub.ID)
		return len(ds) == 1 && ds[0].State == "delivered"
	}, "the delivery ends delivered: %+v", &ds)
	assert.Equal(t, ds[0].ID, h.Delivery(), "the delivery made before the restart")
	require.GreaterOrEqual(t, len(ds[0].Attempts), 2, "the refused attempt and the successful one")
	assert.Zero(t, ds[0].Attempts[0].StatusCode, "the first attempt, before the restart, was refused")
	assert.Equal(t, 200, ds[0].Attempts[len(ds[0].Attempts)-1].StatusCode)
}

// TestWebhookTwoInstancesPostgres runs two servers on one schema, both
// delivering, and checks that every event arrives and that a duplicate,
// if any, carries the delivery id of the original.
func TestWebhookTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	dsn, kek := postgresDSN(t), newKEK()
	a := startServer(t, withFastWebhooks(usePostgres(dsn, kek)))
	b := startServer(t, withFastWebhooks(usePostgres(dsn, kek), func(c *config.Config) { c.Issuer = a.BaseURL }))
	apis := []*webhookflow.API{
		webhookflow.NewAPI(t, webhookEnv(a.URL)),
		webhookflow.NewAPI(t, webhookEnv(b.URL)),
	}
	tn := apis[0].NewTenant(t, "twoinstances")
	rcv := webhookflow.NewReceiver(t, nil)
	apis[0].Subscribe(t, tn.Client, rcv.URL, "user.created")

	const events = 50
	var users []string
	for i := range events {
		users = append(users, apis[i%2].Provision(t, tn, webhookflow.NewUser("twoinstances")))
	}
	deliveryOf := map[string]string{} // user id -> delivery id
	for _, u := range users {
		hits := rcv.Wait(t, 1, webhookflow.About("user.created", u))
		deliveryOf[u] = hits[0].Delivery()
	}
	byDelivery := map[string]int{}
	for _, h := range rcv.Hits(webhookflow.OfEvent("user.created")) {
		byDelivery[h.Delivery()]++
		assert.Equal(t, deliveryOf[h.UserID()], h.Delivery(), "a duplicate of user %s carries its delivery id", h.UserID())
	}
	assert.Len(t, byDelivery, events, "one delivery id per event")
	duplicates := 0
	for _, n := range byDelivery {
		duplicates += n - 1
	}
	t.Logf("%d events through two instances: %d distinct deliveries, %d duplicate post(s)", events, len(byDelivery), duplicates)
}

// TestWebhookThroughput measures, on the memory driver, how fast events
// turn into deliveries: deliveries per second, and the delay from the
// provisioning call's return to the receiver's arrival.
func TestWebhookThroughput(t *testing.T) {
	t.Parallel()
	measureWebhookThroughput(t, fastWebhooks)
}

// TestWebhookThroughputPostgres measures the same on the postgres driver,
// where every event goes through the outbox table.
func TestWebhookThroughputPostgres(t *testing.T) {
	t.Parallel()
	usePG := usePostgres(postgresDSN(t), newKEK())
	measureWebhookThroughput(t, func(c *config.Config) {
		fastWebhooks(c)
		usePG(c)
	})
}

func measureWebhookThroughput(t *testing.T, edit func(*config.Config)) {
	srv := startServer(t, edit)
	api := webhookflow.NewAPI(t, webhookEnv(srv.BaseURL))
	tn := api.NewTenant(t, "throughput")
	rcv := webhookflow.NewReceiver(t, nil)
	api.Subscribe(t, tn.Client, rcv.URL, "user.created")

	const events, workers = 300, 8
	var (
		mu       sync.Mutex
		returned = map[string]time.Time{} // user id -> when provisioning returned
		errs     []error
		wg       sync.WaitGroup
		jobs     = make(chan struct{})
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for range jobs {
				id, err := api.TryProvision(tn, webhookflow.NewUser("throughput"))
				done := time.Now()
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					returned[id] = done
				}
				mu.Unlock()
			}
		})
	}
	for range events {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	provisioned := time.Since(start)
	require.Empty(t, errs, "every provisioning succeeds")
	hits := rcv.Wait(t, events, webhookflow.OfEvent("user.created"))

	arrived := map[string]time.Time{}
	last := start
	for _, h := range hits {
		if _, ok := arrived[h.UserID()]; !ok {
			arrived[h.UserID()] = h.At
			if h.At.After(last) {
				last = h.At
			}
		}
	}
	delays := make([]time.Duration, 0, events)
	for id, ret := range returned {
		at, ok := arrived[id]
		require.True(t, ok, "user %s was delivered", id)
		// A delivery can beat the provisioning answer to the test, which
		// is a delay of zero.
		delays = append(delays, max(at.Sub(ret), 0))
	}
	slices.Sort(delays)
	pct := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }
	elapsed := last.Sub(start)
	t.Logf("%d events: provisioned in %s (%.0f/s); delivered in %s (%.0f deliveries/s); event-to-delivery delay p50 %s, p99 %s, max %s",
		events, provisioned.Round(time.Millisecond), float64(events)/provisioned.Seconds(),
		elapsed.Round(time.Millisecond), float64(events)/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), delays[len(delays)-1].Round(time.Microsecond))
}

// TestWebhookBacklogPostgres measures how fast a worker drains a backlog:
// 500 events are stored by a server that delivers nothing, then a server
// with the worker on the same database dispatches and delivers them all.
func TestWebhookBacklogPostgres(t *testing.T) {
	t.Parallel()
	dsn, kek := postgresDSN(t), newKEK()
	quiet := startServer(t, func(c *config.Config) {
		withFastWebhooks(usePostgres(dsn, kek))(c)
		c.Webhooks.Deliver = false
	})
	api := webhookflow.NewAPI(t, webhookEnv(quiet.BaseURL))
	tn := api.NewTenant(t, "backlog")
	rcv := webhookflow.NewReceiver(t, nil)
	api.Subscribe(t, tn.Client, rcv.URL, "user.created")

	const events = 500
	users := make([]map[string]any, events)
	for i := range users {
		u := webhookflow.NewUser("backlog")
		users[i] = map[string]any{"email": u.Email, "firstName": u.FirstName, "lastName": u.LastName, "organizationId": tn.OrgID}
	}
	body, err := json.Marshal(map[string]any{"users": users})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, quiet.BaseURL+"/api/v1/users/provision/bulk", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-client-id", tn.Client.ID)
	req.Header.Set("x-client-secret", tn.Client.Secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	quiet.stop()
	assert.Zero(t, len(rcv.Hits(webhookflow.OfEvent("user.created"))), "the quiet server delivered nothing")

	start := time.Now()
	startServer(t, withFastWebhooks(usePostgres(dsn, kek)))
	hits := rcv.Wait(t, events, webhookflow.OfEvent("user.created"))
	last := start
	for _, h := range hits {
		if h.At.After(last) {
			last = h.At
		}
	}
	elapsed := last.Sub(start)
	t.Logf("a backlog of %d events drained in %s from the worker's start (%.0f deliveries/s, server start included)",
		events, elapsed.Round(time.Millisecond), float64(events)/elapsed.Seconds())
}
