package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// The result table is pasted into docs/PERFORMANCE.md, so its layout is part
// of loadgen's output contract.
func TestResultTable(t *testing.T) {
	r := &result{name: "refresh", conc: 16, elapsed: 2 * time.Second, errors: 1,
		statuses: map[int]int{500: 1}, netErrs: map[string]int{},
		rssMaxKB: 51200, rssEndKB: 40960, srvCPU: 1.25, genCPU: 0.5, allCPU: 2}
	for i := 1; i <= 4; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	want := "| refresh | 16 | 4 | 1 | 2 | 2 | 2.00ms | 3.00ms | 3.00ms | 4.00ms | 1.25 | 0.50 | 0.25 | 50.0 MB |"
	if got := r.row(); got != want {
		t.Errorf("row:\n got %s\nwant %s", got, want)
	}
	header, _, _ := strings.Cut(tableHeader, "\n")
	if h, c := strings.Count(header, "|"), strings.Count(r.row(), "|"); h != c {
		t.Errorf("header has %d column bars, row %d", h, c)
	}

	unknown := &result{name: "jwks", conc: 1, elapsed: time.Second, allCPU: -1, lat: []time.Duration{time.Millisecond}}
	want = "| jwks | 1 | 1 | 0 | 1 | 1 | 1.00ms | 1.00ms | 1.00ms | 1.00ms | n/a | 0.00 | n/a | n/a |"
	if got := unknown.row(); got != want {
		t.Errorf("row without -pid:\n got %s\nwant %s", got, want)
	}
}

func TestResultDetail(t *testing.T) {
	r := &result{name: "provision_bulk", conc: 4, elapsed: time.Second, errors: 3, rows: 50,
		statuses: map[int]int{503: 1, 409: 1}, netErrs: map[string]int{}, badBody: 1,
		genCPU: 0.5, allCPU: -1, notes: []string{"a note"},
		lat: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}}
	want := "provision_bulk     c=4           4 req in   1.00s        4.0 req/s  errors=3" +
		"  p50=1.00ms p90=1.00ms p99=1.00ms max=1.00ms" +
		"  users/s=50.0 (50 per request, successful requests only)" +
		"  loadgen-cpu=0.50 cores  other-cpu=n/a cores" +
		"\n    errors: HTTP 409: 1, HTTP 503: 1, 2xx with a wrong body: 1" +
		"\n    note: a note"
	if got := r.detail(); got != want {
		t.Errorf("detail:\n got %q\nwant %q", got, want)
	}
}

// Bad flags are refused before loadgen sends anything.
func TestRunRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "0"}, "-c must be between 1 and 1024"},
		{[]string{"-d", "6m"}, "-d must be positive and at most 5m0s"},
		{[]string{"-warmup", "-1s"}, "-warmup must be between 0 and 1m"},
		{[]string{"-codes", "0"}, "-codes must be between 1 and 200000"},
		{[]string{"-codegen", "21s"}, "-codegen must be positive and at most 20s"},
		{[]string{"-scim-users", "0"}, "-scim-users must be between 1 and 1000000"},
		{[]string{"-base", "https://127.0.0.1:8080"}, "must be http://host:port with no path"},
		{[]string{"-base", "http://10.1.2.3:8080"}, "10.1.2.3 is not a loopback address"},
		{[]string{"-scenario", "nope"}, `unknown -scenario "nope" (valid: discovery, jwks, client_credentials, client_credentials_pkjwt, client_credentials_dpop, userinfo, introspect, refresh, code_exchange, scim_filter, scim_external, scim_search, scim_patch, provision, provision_bulk, signin_password, signin_totp, all)`},
		{[]string{"-scenario", "scim_patch", "-admin-key", ""}, "-admin-key (or CALIMATIC_DEV_SEED_ADMIN_KEY) is needed for the SCIM scenarios"},
		{[]string{"-scenario", "provision", "-admin-key", ""}, "-admin-key (or CALIMATIC_DEV_SEED_ADMIN_KEY) is needed for the provisioning scenarios"},
		{[]string{"-scenario", "userinfo", "-email", "", "-password", ""}, "-email and -password (or CALIMATIC_DEV_SEED_EMAIL and CALIMATIC_DEV_SEED_PASSWORD) are needed for userinfo"},
		{[]string{"-hydra-admin", "http://127.0.0.1:4445"}, "the Hydra target needs both -hydra-admin and -hydra-public"},
		{[]string{"-hydra-admin", "http://10.0.0.1:4445", "-hydra-public", "http://127.0.0.1:4444"}, "10.0.0.1 is not a loopback address"},
		{[]string{"-hydra-admin", "http://127.0.0.1:4445", "-hydra-public", "http://127.0.0.1:4444", "-scenario", "userinfo"}, "the Hydra target runs [discovery jwks client_credentials introspect] only, not userinfo"},
	} {
		err := run(append([]string{"-base", "http://127.0.0.1:9"}, c.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}

func TestJSONString(t *testing.T) {
	body := []byte(`{"access_token":"a.b.c","token_type":"Bearer","refresh_token":"r-1"}`)
	if got := jsonString(body, "refresh_token"); got != "r-1" {
		t.Errorf("refresh_token = %q", got)
	}
	if got := jsonString(body, "id_token"); got != "" {
		t.Errorf("id_token = %q, want none", got)
	}
}

// Workers that run out of work (codes used up) shorten the elapsed time to
// the last response, so req/s is not diluted by idle time.
func TestMergeTallies(t *testing.T) {
	from := time.Unix(1000, 0)
	stop := from.Add(10 * time.Second)
	busy := &tally{lat: []time.Duration{time.Millisecond}, statuses: map[int]int{429: 2},
		netErrs: map[string]int{"timeout": 1}, badBody: 1, lastDone: from.Add(4 * time.Second), ranOut: true}
	idle := &tally{statuses: map[int]int{429: 1}, netErrs: map[string]int{}}
	r := &result{conc: 2, statuses: map[int]int{}, netErrs: map[string]int{}}
	r.merge([]*tally{busy, idle}, from, stop)
	if r.elapsed != 4*time.Second || r.errors != 5 || r.statuses[429] != 3 || r.netErrs["timeout"] != 1 || r.badBody != 1 {
		t.Errorf("merged: elapsed %s errors %d statuses %v netErrs %v badBody %d", r.elapsed, r.errors, r.statuses, r.netErrs, r.badBody)
	}
	if want := []string{"1 of 2 workers ran out of work (codes used up, or a refresh chain broke)"}; !slices.Equal(r.notes, want) {
		t.Errorf("notes %q, want %q", r.notes, want)
	}

	full := &result{conc: 1, statuses: map[int]int{}, netErrs: map[string]int{}}
	full.merge([]*tally{{lastDone: from.Add(time.Second), statuses: map[int]int{}, netErrs: map[string]int{}}}, from, stop)
	if full.elapsed != 10*time.Second || full.notes != nil {
		t.Errorf("no worker ran out: elapsed %s notes %q, want the whole window and no note", full.elapsed, full.notes)
	}
}
