package webhookflow

import "testing"

// check is one named subtest.
type check struct {
	name string
	run  func(t *testing.T, a *API)
}

// Run checks the webhooks of the server at env.BaseURL end to end. The
// groups share nothing, so they run in parallel; within a group the checks
// run in order.
func Run(t *testing.T, env Env) {
	a := NewAPI(t, env)
	groups := []struct {
		name   string
		checks []check
	}{
		{"subscription API", subscriptionChecks},
		{"delivery and signatures", signatureChecks},
		{"tenancy", tenancyChecks},
		{"retries", retryChecks},
		{"outage", outageChecks},
		{"ping and redelivery", pingChecks},
		{"delivery log", logChecks},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.checks {
				t.Run(c.name, func(t *testing.T) { c.run(t, a) })
			}
		})
	}
}
