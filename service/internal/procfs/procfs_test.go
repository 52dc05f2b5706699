package procfs

import (
	"os"
	"os/exec"
	"testing"
)

func TestMemoryOfThisProcess(t *testing.T) {
	rss, hwm, err := Memory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 || hwm < rss {
		t.Fatalf("VmRSS %d KiB, VmHWM %d KiB: want 0 < rss <= hwm", rss, hwm)
	}
	s, err := Status(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s["RssAnon"] <= 0 || s["RssAnon"] > rss {
		t.Fatalf("RssAnon %d KiB of VmRSS %d KiB", s["RssAnon"], rss)
	}
}

func TestGoneProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Memory(cmd.Process.Pid); err == nil {
		t.Fatal("a reaped process has no status: want an error")
	}
	if n := CPUTicks(cmd.Process.Pid, true); n != 0 {
		t.Fatalf("a reaped process used %d ticks", n)
	}
}

// A child that burns CPU is counted with children and not without.
func TestCPUTicksCountsChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Wait until the shell has used some CPU. Liveness guard only: every
	// count below is read after the one before it, and ticks only grow.
	var shell int64
	for range 600 {
		if shell = CPUTicks(cmd.Process.Pid, false); shell > 0 {
			break
		}
		_ = exec.Command("sleep", "0.05").Run()
	}
	if shell <= 0 {
		t.Fatalf("the busy shell used %d ticks", shell)
	}
	me := CPUTicks(os.Getpid(), false)
	withChildren := CPUTicks(os.Getpid(), true)
	if withChildren < me+shell {
		t.Fatalf("with children %d ticks, want at least own %d + child %d", withChildren, me, shell)
	}
}
