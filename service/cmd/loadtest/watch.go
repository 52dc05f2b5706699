package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantco/platform/service/internal/procfs"
)

// watched is a process (or a process and its children, e.g. the PostgreSQL
// postmaster and its backends) whose CPU time and memory the run reports, so
// the cost per request is known even when the machine is shared and
// throughput alone is noisy.
type watched struct {
	name     string
	pid      int
	children bool

	mu      sync.Mutex
	cpu0    float64 // CPU seconds at the start of the measured window
	peakRSS int64   // bytes, summed over the group, highest sample
}

// parseWatch reads -watch: name=pid[+],... ("+": with its child processes).
func parseWatch(s string) ([]*watched, error) {
	var out []*watched
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		w := &watched{name: name}
		w.children = strings.HasSuffix(v, "+")
		pid, err := strconv.Atoi(strings.TrimSuffix(v, "+"))
		if !ok || name == "" || err != nil || pid <= 0 {
			return nil, fmt.Errorf("-watch entry %q: want name=pid or name=pid+ (with children), e.g. tenantd=1234,postgres=987+", part)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return nil, fmt.Errorf("-watch %s: no process %d", name, pid)
		}
		w.pid = pid
		out = append(out, w)
	}
	return out, nil
}

// pids lists the group: the process, and with children its direct children
// (PostgreSQL backends are children of the postmaster).
func (w *watched) pids() []int {
	pids := []int{w.pid}
	if !w.children {
		return pids
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := procfs.ReadStat(pid); err == nil && st.PPID == w.pid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sample returns the group's CPU seconds and RSS now. With children, the
// CPU of children that already exited counts too (the parent's cutime and
// cstime: the postmaster reaps its backends and autovacuum workers), so the
// sum only grows.
//
// Memory: one process's RSS; for a group with children, the sum of private
// anonymous memory (RssAnon), since PostgreSQL's shared buffers appear in
// every backend's RSS.
func (w *watched) sample() (cpu float64, mem int64) {
	for i, pid := range w.pids() {
		st, err := procfs.ReadStat(pid)
		if err != nil {
			continue
		}
		cpu += float64(st.CPU) / procfs.ClockTicks
		if i == 0 && w.children {
			cpu += float64(st.Children) / procfs.ClockTicks
		}
		if w.children {
			if s, err := procfs.Status(pid); err == nil {
				mem += s["RssAnon"] << 10
			}
		} else {
			mem += st.RSSPages * int64(os.Getpagesize())
		}
	}
	return cpu, mem
}

// watcher samples every group's RSS until stop, from the start of the
// measured window.
type watcher struct {
	groups []*watched
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
}

func startWatch(groups []*watched) *watcher {
	// The tool itself shares the machine's cores with what it measures.
	groups = append(groups, &watched{name: "loadtest", pid: os.Getpid()})
	w := &watcher{groups: groups, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	for _, g := range groups {
		g.cpu0, g.peakRSS = g.sample()
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			for _, g := range w.groups {
				_, rss := g.sample()
				g.mu.Lock()
				g.peakRSS = max(g.peakRSS, rss)
				g.mu.Unlock()
			}
		}
	}()
	return w
}

// finish stops sampling and formats, per group, the cores used, CPU per
// served request (µs; the work on shed requests is in the numerator) and peak
// RSS. watched_cpu_us_per_req sums the server side (every group but the tool).
func (w *watcher) finish(requests int) string {
	close(w.stop)
	<-w.done
	el := time.Since(w.start).Seconds()
	var parts []string
	var total float64
	for _, g := range w.groups {
		cpu, rss := g.sample()
		g.mu.Lock()
		peak := max(g.peakRSS, rss)
		g.mu.Unlock()
		used := cpu - g.cpu0
		if g.name != "loadtest" {
			total += used
		}
		perReq := 0.0
		if requests > 0 {
			perReq = used / float64(requests) * 1e6
		}
		memKey := "peak_rss_mb"
		if g.children {
			memKey = "peak_private_mb"
		}
		parts = append(parts, fmt.Sprintf("%s_cpu=%.2f %s_cpu_us_per_req=%.0f %s_%s=%.0f",
			g.name, used/el, g.name, perReq, g.name, memKey, float64(peak)/(1<<20)))
	}
	if requests > 0 && len(w.groups) > 2 {
		parts = append(parts, fmt.Sprintf("watched_cpu_us_per_req=%.0f", total/float64(requests)*1e6))
	}
	return strings.Join(parts, " ")
}

// loadAvg is the 1-minute load average (the machine is shared: a run's
// numbers mean little without it).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
