package http_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/procfs"
	"github.com/tenantco/platform/service/internal/testenv"
)

// proc is tenantd built from this checkout and run as its own process on a
// test database and Redis prefix, for tests about the process itself (its
// resident memory), which an in-process server would mix with the test's.
type proc struct {
	*env
	cmd *exec.Cmd
}

var (
	buildOnce sync.Once
	binDir    string
	bin       string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// tenantdBinary builds cmd/tenantd from this checkout once per test run.
func tenantdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "tenantd-test-bin-"); buildErr != nil {
			return
		}
		bin = filepath.Join(binDir, "tenantd")
		_, here, _, _ := runtime.Caller(0)
		build := exec.Command("go", "build", "-buildvcs=false", "-o", bin, "./cmd/tenantd")
		build.Dir = filepath.Join(filepath.Dir(here), "..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./service/cmd/tenantd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// startTenantd serves cmd/tenantd on a free loopback port with a database
// and Redis prefix of its own. extra are more environment variables
// (NAME=value; a later one wins, so REDIS_KEY_PREFIX may be given).
func startTenantd(t *testing.T, extra ...string) *proc {
	t.Helper()
	bin := tenantdBinary(t)
	tdb := testenv.NewDatabase(t)
	_, prefix := testenv.Redis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + tdb.AppURL, "REDIS_ADDR=" + testenv.RedisAddr(t),
		"REDIS_KEY_PREFIX=" + prefix, "ADMIN_TOKEN=" + adminToken, "LISTEN_ADDR=" + addr, "LOG_LEVEL=warn",
	}, extra...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	p := &proc{env: &env{t: t, URL: "http://" + addr, tdb: tdb,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, cmd: cmd}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if res, err := p.client.Get(p.URL + "/healthz"); err == nil {
			res.Body.Close()
			return p
		}
		if cmd.ProcessState != nil {
			t.Fatal("tenantd exited at start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("tenantd did not answer /healthz within 60 s")
	return nil
}

// memKiB reads VmRSS and VmHWM (the peak resident set) of the process.
func (p *proc) memKiB() (rss, hwm int64) {
	p.t.Helper()
	rss, hwm, err := procfs.Memory(p.cmd.Process.Pid)
	if err != nil {
		p.t.Fatal(err)
	}
	return rss, hwm
}
