package app_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/testsuite/webhookflow"
)

// TestBrowserConsoleWebhooks: in Chromium, a platform administrator signs
// in to the console, opens an app's webhooks and a subscription's
// deliveries, sees a failed delivery with its 500, fixes the receiver,
// presses Redeliver and sees the successful second attempt.
func TestBrowserConsoleWebhooks(t *testing.T) {
	chromium := chromiumPath(t)
	t.Parallel()
	w := newConsoleWebhookWorld(t)
	rcv := webhookflow.NewReceiver(t, failing)
	sub := w.api.Subscribe(t, w.app.Client, rcv.URL, "user.created")
	require.Equal(t, http.StatusAccepted, asApp(t, w.srv, w.app.Client, http.MethodPost, "/api/v1/admin/webhooks/"+sub.ID+"/ping", nil))
	id := rcv.Wait(t, 1, webhookflow.OfEvent("webhook.ping"))[0].Delivery()
	chrome := newBrowser(t, chromium)

	admin := freshProfile(t, chrome)
	require.NoError(t, chromedp.Do(admin,
		chromedp.Navigate(w.srv.BaseURL+"/console/apps/"+w.app.Client.ID+"/webhooks"),
		chromedp.WaitVisible(labelledInput("Email")),
		chromedp.SendKeys(labelledInput("Email"), seedEmail),
		chromedp.SendKeys(labelledInput("Password"), seedPassword),
		chromedp.Click(submitButton),
		chromedp.WaitVisible(chromedp.ID("webhook-list")),
	), "the console signs in and comes back to the app's webhooks")
	list, err := chromedp.Run(admin, chromedp.Text(chromedp.ID("webhook-list")))
	require.NoError(t, err)
	assert.Contains(t, list, rcv.URL)
	keepScreenshot(t, admin, "1-webhooks")

	// The attempt is stored just after the receiver answers: open the log
	// once it is there.
	failed := chromedp.Search(fmt.Sprintf(`//li[@id="delivery-%s"]//tr[td[1]="1" and td[3]="500"]`, id))
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.Search(fmt.Sprintf(`//a[@aria-label="Deliveries to %s"]`, rcv.URL))),
		chromedp.WaitVisible(chromedp.ID("delivery-log")),
	), "opening the subscription's deliveries")
	webhookflow.Eventually(t, func() bool {
		err := chromedp.Do(admin, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("delivery-log")))
		require.NoError(t, err)
		nodes, err := chromedp.Run(admin, chromedp.Nodes(failed, chromedp.AtLeast(0)))
		return err == nil && len(nodes) == 1
	}, "the failed attempt shows")
	entry, err := chromedp.Run(admin, chromedp.Text(chromedp.ID("delivery-"+id)))
	require.NoError(t, err)
	assert.Contains(t, entry, "webhook.ping")
	assert.Contains(t, entry, "the endpoint answered 500")
	keepScreenshot(t, admin, "2-failed-delivery")

	rcv.SetResponder(webhookflow.OK)
	succeeded := chromedp.Search(fmt.Sprintf(`//li[@id="delivery-%s"]//tr[td[1]="2" and td[3]="200"]`, id))
	require.NoError(t, chromedp.Do(admin,
		chromedp.Click(chromedp.Search(fmt.Sprintf(`//button[@aria-label="Redeliver %s"]`, id))),
		chromedp.WaitVisible(chromedp.ID("webhook-notice")),
	), "redelivering")
	keepScreenshot(t, admin, "3-redelivered")
	webhookflow.Eventually(t, func() bool {
		err := chromedp.Do(admin, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("delivery-log")))
		require.NoError(t, err)
		nodes, err := chromedp.Run(admin, chromedp.Nodes(succeeded, chromedp.AtLeast(0)))
		return err == nil && len(nodes) == 1
	}, "the successful second attempt shows")
	entry, err = chromedp.Run(admin, chromedp.Text(chromedp.ID("delivery-"+id)))
	require.NoError(t, err)
	assert.Contains(t, entry, "delivered")
	keepScreenshot(t, admin, "4-delivered")
	assert.Len(t, rcv.Hits(webhookflow.WithDelivery(id)), 2, "posted twice, under one delivery id")
}
