package http_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	thttp "github.com/tenantco/platform/service/internal/http"
)

// TestConnLimitListener_RefusesExcessConnectionsWith503: with two connections
// open (idle keep-alive), a third is answered 503 overloaded with Retry-After
// and closed cleanly (a Go client reads the 503, no connection reset), and
// nothing of it reaches the handler; once a connection closes, a new one is
// served again.
func TestConnLimitListener_RefusesExcessConnectionsWith503(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	handled := make(chan struct{}, 16)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled <- struct{}{}
		_, _ = io.WriteString(w, "ok")
	})}
	go hs.Serve(thttp.ConnLimitListener(ln, 2, reg))
	t.Cleanup(func() { hs.Close() })
	url := "http://" + ln.Addr().String() + "/"

	newClient := func() (*http.Client, *http.Transport) {
		tr := &http.Transport{MaxConnsPerHost: 1}
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}, tr
	}
	get := func(c *http.Client) (int, http.Header, string) {
		t.Helper()
		res, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	c1, tr1 := newClient()
	c2, _ := newClient()
	for _, c := range []*http.Client{c1, c2} {
		if st, _, _ := get(c); st != 200 {
			t.Fatalf("within the limit: %d", st)
		}
		<-handled
	}

	// A raw connection: the response is complete and then the server closes.
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := io.WriteString(raw, "POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(raw)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the refusal: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), `"code":"overloaded"`) || !res.Close {
		t.Fatalf("refusal: %d %v %s", res.StatusCode, res.Header, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed after the refusal: %v", err)
	}
	// A spare connection that never sends a request is closed unanswered
	// (an answer before the request would be unsolicited to the client).
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if b, err := io.ReadAll(idle); err != nil || len(b) != 0 {
		t.Fatalf("idle connection over the limit got %q, %v; want a close without an answer", b, err)
	}
	// A Go client gets the 503 too (no reset before it read it).
	c3, _ := newClient()
	if st, h, b := get(c3); st != 503 || h.Get("Retry-After") == "" || !strings.Contains(b, "overloaded") {
		t.Fatalf("Go client over the limit: %d %v %s", st, h, b)
	}
	select {
	case <-handled:
		t.Fatal("a refused connection reached the handler")
	default:
	}
	if v := gathered(t, reg, "tenantd_connections_refused_total"); v != 3 {
		t.Fatalf("refused counter %v, want 3", v)
	}

	// One connection closes: a new one is served.
	tr1.CloseIdleConnections()
	deadline := time.Now().Add(time.Minute) // guard only
	for gathered(t, reg, "tenantd_connections_open") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the closed connection was never released")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c4, _ := newClient()
	if st, _, _ := get(c4); st != 200 {
		t.Fatalf("after a connection closed: %d", st)
	}
}

// gathered is the value of the single-series metric name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
