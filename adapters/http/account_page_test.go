package http

import (
	nethttp "net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Each visit to the account page without a session stores a pending
// sign-in, as an authorization request does; so it counts against the
// authorization endpoint's limit per address, and no one can fill the
// store from one address.
func TestTheAccountPagesSignInsCountAgainstTheAuthorizeLimit(t *testing.T) {
	s := newTestServerLimited(t, Options{
		BodyLimit: 1 << 20, RateLimitsEnabled: true,
		Rules: Rules{Authorize: domain.RateRule{Name: "authorize", Limit: 3, Window: time.Minute}},
	}, memory.NewRateLimiter(), nil)
	statuses := make([]int, 0, 4)
	for range 4 {
		resp, _ := do(t, s, httptest.NewRequest(nethttp.MethodGet, pathAccount, nil))
		statuses = append(statuses, resp.StatusCode)
	}
	require.Equal(t, []int{nethttp.StatusSeeOther, nethttp.StatusSeeOther, nethttp.StatusSeeOther, nethttp.StatusTooManyRequests}, statuses)
	resp, body := do(t, s, httptest.NewRequest(nethttp.MethodGet, pathAccount, nil))
	assert.Equal(t, nethttp.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, body, "Too many sign-ins were started")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
}
