package webhookflow

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tenancyChecks = []check{
	{"a client without grants hears nothing while a granted client hears its organization's users", tenancyNoGrants},
	{"a client hears of the users holding its license, from the license on", tenancyLicense},
	{"a client does not hear of another organization's users", tenancyOtherOrg},
}

// barrier pings a subscription and waits for the ping: every delivery
// made before it had time to arrive too, so an absence after it means
// something.
func (a *API) barrier(t *testing.T, c *Client, sub Subscription, rcv *Receiver) {
	t.Helper()
	before := len(rcv.Hits(OfEvent("webhook.ping")))
	r := a.call(t, c.header(), http.MethodPost, pingPath(sub.ID), nil)
	require.Equal(t, http.StatusAccepted, r.Status, "ping; body %q", r)
	rcv.Wait(t, before+1, OfEvent("webhook.ping"))
}

func tenancyNoGrants(t *testing.T, a *API) {
	stranger := a.Register(t)
	deaf := NewReceiver(t, nil)
	deafSub := a.Subscribe(t, stranger, deaf.URL, allEvents...)

	tn := a.NewTenant(t, "granted")
	heard := NewReceiver(t, nil)
	a.Subscribe(t, tn.Client, heard.URL, allEvents...)
	userID := a.Provision(t, tn, NewUser("granted"))
	a.UpdateUser(t, tn.Client, userID, "Janet")
	for _, action := range []string{"suspend", "reactivate"} {
		r := a.call(t, tn.Client.header(), http.MethodPost, pathUsers+userID+"/"+action, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s; body %q", action, r)
	}
	for _, typ := range []string{"user.created", "license.assigned", "user.updated", "user.suspended", "user.reactivated"} {
		heard.Wait(t, 1, About(typ, userID))
	}
	a.barrier(t, stranger, deafSub, deaf)
	assert.Empty(t, deaf.Hits(func(h Hit) bool { return h.Event != "webhook.ping" }),
		"a client with no grants and no licenses receives nothing: %s", describe(deaf.Hits(nil)))
}

func tenancyLicense(t *testing.T, a *API) {
	tn := a.NewTenant(t, "licensor")
	userID := a.Provision(t, tn, NewUser("licensed"))
	licensee := a.Register(t)
	rcv := NewReceiver(t, nil)
	sub := a.Subscribe(t, licensee, rcv.URL, allEvents...)

	a.License(t, licensee, userID)
	a.UpdateUser(t, tn.Client, userID, "Janet")
	assigned := rcv.Wait(t, 1, About("license.assigned", userID))[0]
	assert.Equal(t, licensee.ID, assigned.Data["clientId"], "the license is the subscriber's")
	updated := rcv.Wait(t, 1, About("user.updated", userID))[0]
	assert.Equal(t, "Janet", updated.Data["firstName"])

	a.barrier(t, licensee, sub, rcv)
	assert.Empty(t, rcv.Hits(About("user.created", userID)),
		"the user was created before the license: that event's audience did not hold the licensee")
	assert.Empty(t, rcv.Hits(func(h Hit) bool { return h.Event != "webhook.ping" && h.UserID() != userID }),
		"nothing about anyone else: %s", describe(rcv.Hits(nil)))
}

func tenancyOtherOrg(t *testing.T, a *API) {
	mine, theirs := a.NewTenant(t, "mine"), a.NewTenant(t, "theirs")
	myRcv, theirRcv := NewReceiver(t, nil), NewReceiver(t, nil)
	mySub := a.Subscribe(t, mine.Client, myRcv.URL, allEvents...)
	a.Subscribe(t, theirs.Client, theirRcv.URL, allEvents...)

	theirUser := a.Provision(t, theirs, NewUser("theirs"))
	a.UpdateUser(t, theirs.Client, theirUser, "Janet")
	myUser := a.Provision(t, mine, NewUser("mine"))
	theirRcv.Wait(t, 1, About("user.updated", theirUser))
	myRcv.Wait(t, 1, About("user.created", myUser))

	a.barrier(t, mine.Client, mySub, myRcv)
	assert.Empty(t, myRcv.Hits(OfUser(theirUser)), "another organization's user: %s", describe(myRcv.Hits(nil)))
	assert.Empty(t, myRcv.Hits(func(h Hit) bool { return h.Data["organizationId"] == theirs.OrgID }))
	assert.Empty(t, theirRcv.Hits(OfUser(myUser)), "and the other way round")
}
