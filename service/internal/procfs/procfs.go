// Package procfs reads a process's memory and CPU time from Linux's /proc,
// for the tools and tests that measure tenantd and PostgreSQL from outside
// (the attack tool, the load test, the attack tests' memory bounds).
package procfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Status returns the kB fields of /proc/<pid>/status (VmRSS, VmHWM,
// RssAnon, …) in KiB; fields that are not a size are left out.
func Status(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		if n, ok := strings.CutSuffix(strings.TrimSpace(v), " kB"); ok {
			if kb, err := strconv.ParseInt(n, 10, 64); err == nil {
				out[k] = kb
			}
		}
	}
	return out, sc.Err()
}

// Memory returns the resident set and its peak (VmRSS, VmHWM) in KiB.
func Memory(pid int) (rss, hwm int64, err error) {
	s, err := Status(pid)
	if err != nil {
		return 0, 0, err
	}
	return s["VmRSS"], s["VmHWM"], nil
}

// ClockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat:
// 100 on every Linux this project runs on.
const ClockTicks = 100

// Stat is what /proc/<pid>/stat says of a process's parent, CPU time and
// memory (proc(5): fields 4, 14-17 and 24).
type Stat struct {
	PPID int
	// CPU is utime+stime; Children is cutime+cstime, the CPU of children
	// that exited and were waited for. Both in clock ticks.
	CPU, Children int64
	// RSSPages is the resident set in pages (os.Getpagesize()).
	RSSPages int64
}

// ReadStat reads /proc/<pid>/stat. The command name in field 2 may hold
// spaces and parentheses, so fields are counted after its last ')'.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // fields from 3 on
	if len(f) < 22 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
	return Stat{PPID: int(n(1)), CPU: n(11) + n(12), Children: n(13) + n(14), RSSPages: n(21)}, nil
}

// CPUTicks is utime+stime of pid in clock ticks, plus that of its live
// direct children when children is set (PostgreSQL's backends are the
// postmaster's children). A process that is gone counts zero.
func CPUTicks(pid int, children bool) int64 {
	st, _ := ReadStat(pid)
	t := st.CPU
	if children {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			p, _ := strconv.Atoi(filepath.Base(d))
			if c, err := ReadStat(p); err == nil && c.PPID == pid {
				t += c.CPU
			}
		}
	}
	return t
}
