package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cpuMark is a CPU-time reading of this process, of the server and of the
// whole machine.
type cpuMark struct {
	at      time.Time
	self    float64 // seconds
	server  float64 // seconds; -1 when unknown
	machine float64 // busy seconds summed over every CPU; -1 when unknown
}

func (e *env) cpuNow() cpuMark {
	m := cpuMark{at: time.Now(), server: -1, machine: machineBusy()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.self = tv(ru.Utime) + tv(ru.Stime)
	}
	if e.o.pid > 0 {
		m.server = procCPU(e.o.pid)
	}
	return m
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procCPU reads utime+stime of pid from /proc/PID/stat, in seconds (the
// kernel's clock ticks are 100 per second on Linux/amd64).
func procCPU(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; fields after ")" are fixed.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (ut + st) / 100
}

// machineBusy reads the machine's busy time (every state but idle and
// iowait) from the first line of /proc/stat, in seconds.
func machineBusy() float64 {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return -1
		}
		busy += n
	}
	return busy / 100
}

// rssSampler polls the server's resident set size.
type rssSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	max    atomic.Int64
	last   atomic.Int64
}

func startRSS(pid int) *rssSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &rssSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := rssKB(pid); kb > 0 {
				s.last.Store(kb)
				if kb > s.max.Load() {
					s.max.Store(kb)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() (maxKB, lastKB int64) {
	s.cancel()
	<-s.done
	return s.max.Load(), s.last.Load()
}

func rssKB(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
