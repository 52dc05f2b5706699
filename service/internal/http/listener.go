package http

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Connection-level shedding.
//
// Admission control (admission.go) bounds the requests worked on, but every
// open client connection still costs a goroutine and ~16-30 KB of buffers. A
// client that opens a connection per outstanding request (an open-loop load
// generator, a load balancer in front of a slow target) can open thousands,
// and memory then grows with the offered load. The listener below serves at
// most a fixed number of connections; a connection beyond that is answered at
// once with the same 503 overloaded and Retry-After as a shed request, and
// closed, without a goroutine of net/http's or any request parsing. Blocking
// Accept instead (netutil.LimitListener) is worse: the kernel completes the
// handshake, the client sends its request on a connection nobody serves, and
// it waits until its own timeout.

// overloadedResponse is the whole HTTP response to a connection over the
// limit. Connection: close, since it is.
var overloadedResponse = []byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\n"+
	"Content-Type: application/json\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"+
	"Retry-After: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", retryAfterOverloaded, len(overloadedJSON), overloadedJSON))

// refuseWait bounds how long a connection over the limit is kept: first for
// its request head (clients such as Go's and load balancers dial spare
// connections and send nothing yet; an answer written before the request is
// discarded by them as unsolicited), then to drain what else it sent, so
// closing it does not reset the connection before the client read the 503.
const refuseWait = 250 * time.Millisecond

// maxRefusing bounds the refusals in progress (~10 KB each, up to
// 2 × refuseWait): a connection flood beyond that is closed unanswered, so
// memory stays bounded whatever the rate of new connections.
const maxRefusing = 2048

// ConnLimitListener wraps a listener so that at most max connections are
// served at once; see above. Metrics go to reg (may be nil).
func ConnLimitListener(l net.Listener, max int, reg prometheus.Registerer) net.Listener {
	cl := &connLimitListener{Listener: l, max: int64(max),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantd_connections_open", Help: "Client connections being served.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenantd_connections_refused_total", Help: "Client connections refused because MAX_CONNECTIONS were open (answered 503 overloaded and closed; closed at once beyond 2,048 refusals in progress).",
		}),
	}
	if reg != nil {
		reg.MustRegister(cl.open, cl.refused)
	}
	return cl
}

type connLimitListener struct {
	net.Listener
	max      int64
	active   atomic.Int64
	refusing atomic.Int64
	open     prometheus.Gauge
	refused  prometheus.Counter
}

func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Add(1) <= l.max {
			l.open.Inc()
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.active.Add(-1)
		l.refused.Inc()
		if l.refusing.Add(1) > maxRefusing {
			l.refusing.Add(-1)
			c.Close()
			continue
		}
		go func() {
			defer l.refusing.Add(-1)
			refuse(c)
		}()
	}
}

// refuse answers the connection's first request 503 overloaded and closes
// the connection gracefully; a connection that sends no request head within
// refuseWait is closed without an answer. At most ~1 KB and one goroutine per
// refused connection, for at most 2 × refuseWait.
func refuse(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseWait))
	var buf [1024]byte
	head := make([]byte, 0, len(buf))
	for !bytes.Contains(head, []byte("\r\n\r\n")) && len(head) < cap(head) {
		n, err := c.Read(buf[:cap(head)-len(head)])
		head = append(head, buf[:n]...)
		if err != nil {
			return
		}
	}
	_ = c.SetDeadline(time.Now().Add(refuseWait))
	if _, err := c.Write(overloadedResponse); err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

type limitedConn struct {
	net.Conn
	l    *connLimitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.active.Add(-1)
		c.l.open.Dec()
	})
	return c.Conn.Close()
}

// CloseWrite keeps net/http's graceful close (FIN, then a short drain) working
// through the wrapper.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
