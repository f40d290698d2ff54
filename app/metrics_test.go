package app_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// TestMetricsAreServedOffThePublicListener: the public listener answers
// /metrics with 404, the metrics listener serves the figures, and the
// health checks stay public.
func TestMetricsAreServedOffThePublicListener(t *testing.T) {
	t.Parallel()
	srv := startServer(t, nil)

	for path, want := range map[string]int{"/metrics": http.StatusNotFound, "/healthz": http.StatusOK, "/readyz": http.StatusOK} {
		status, _ := get(t, srv.URL+path)
		assert.Equal(t, want, status, "public %s", path)
	}

	addr := srv.HTTP.MetricsAddr()
	require.NotNil(t, addr, "metrics_addr is set, so a metrics listener is bound")
	status, body := get(t, "http://"+addr.String()+"/metrics")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `calimatic_http_requests_total{method="GET",route="/healthz",status="200"}`,
		"the public listener's requests are counted")
	status, _ = get(t, "http://"+addr.String()+"/healthz")
	assert.Equal(t, http.StatusNotFound, status, "the metrics listener serves metrics only")
}

// TestMetricsCanBeTurnedOff: an empty metrics_addr binds nothing.
func TestMetricsCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *config.Config) { c.HTTP.MetricsAddr = "" })
	assert.Nil(t, srv.HTTP.MetricsAddr())
	status, _ := get(t, srv.URL+"/metrics")
	assert.Equal(t, http.StatusNotFound, status)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
