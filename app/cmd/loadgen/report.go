package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is one scenario's figures.
type result struct {
	name     string
	conc     int
	elapsed  time.Duration // the measured window, or less when work ran out
	lat      []time.Duration
	statuses map[int]int
	netErrs  map[string]int
	badBody  int
	errors   int
	rssMaxKB int64
	rssEndKB int64
	srvCPU   float64 // server CPU seconds per second of wall time (cores)
	genCPU   float64 // this process's CPU seconds per second of wall time
	allCPU   float64 // the whole machine's busy CPU seconds per second (cores); -1 if unknown
	rows     int     // users provisioned by each successful request; 0 outside the provisioning scenarios
	notes    []string
}

func (r *result) rps() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *result) okRPS() float64 { return float64(len(r.lat)-r.errors) / r.elapsed.Seconds() }

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p*float64(len(r.lat)-1))]
}

const tableHeader = "| scenario | c | requests | errors | req/s | ok req/s | p50 | p90 | p99 | max | server CPU | loadgen CPU | other CPU | server RSS max |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

func (r *result) row() string {
	rss := "n/a"
	if r.rssMaxKB > 0 {
		rss = fmt.Sprintf("%.1f MB", float64(r.rssMaxKB)/1024)
	}
	srv := "n/a"
	if r.srvCPU > 0 {
		srv = fmt.Sprintf("%.2f", r.srvCPU)
	}
	return fmt.Sprintf("| %s | %d | %d | %d | %.0f | %.0f | %s | %s | %s | %s | %s | %.2f | %s | %s |",
		r.name, r.conc, len(r.lat), r.errors, r.rps(), r.okRPS(), ms(r.pct(.50)), ms(r.pct(.90)), ms(r.pct(.99)),
		ms(r.pct(1)), srv, r.genCPU, r.otherCPU(), rss)
}

// otherCPU is what the rest of the machine used during the run: a busy
// neighbour makes every figure smaller.
func (r *result) otherCPU() string {
	if r.allCPU < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", max(r.allCPU-r.srvCPU-r.genCPU, 0))
}

func (r *result) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s c=%-4d %8d req in %6.2fs  %9.1f req/s  errors=%d  p50=%s p90=%s p99=%s max=%s",
		r.name, r.conc, len(r.lat), r.elapsed.Seconds(), r.rps(), r.errors,
		ms(r.pct(.50)), ms(r.pct(.90)), ms(r.pct(.99)), ms(r.pct(1)))
	if r.rows > 0 {
		fmt.Fprintf(&b, "  users/s=%.1f (%d per request, successful requests only)", r.okRPS()*float64(r.rows), r.rows)
	}
	if r.srvCPU > 0 {
		fmt.Fprintf(&b, "  server-cpu=%.2f cores", r.srvCPU)
	}
	fmt.Fprintf(&b, "  loadgen-cpu=%.2f cores  other-cpu=%s cores", r.genCPU, r.otherCPU())
	if r.rssMaxKB > 0 {
		fmt.Fprintf(&b, "  rss max=%.1fMB end=%.1fMB", float64(r.rssMaxKB)/1024, float64(r.rssEndKB)/1024)
	}
	if r.errors > 0 {
		var parts []string
		codes := make([]int, 0, len(r.statuses))
		for c := range r.statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("HTTP %d: %d", c, r.statuses[c]))
		}
		for k, v := range r.netErrs {
			parts = append(parts, fmt.Sprintf("%s: %d", k, v))
		}
		if r.badBody > 0 {
			parts = append(parts, fmt.Sprintf("2xx with a wrong body: %d", r.badBody))
		}
		fmt.Fprintf(&b, "\n    errors: %s", strings.Join(parts, ", "))
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\n    note: %s", n)
	}
	return b.String()
}

// printTable prints the results as a Markdown table, after a blank line.
func printTable(out io.Writer, results []*result, header bool) {
	fmt.Fprintln(out)
	if header {
		fmt.Fprintln(out, tableHeader)
	}
	for _, r := range results {
		fmt.Fprintln(out, r.row())
	}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }
