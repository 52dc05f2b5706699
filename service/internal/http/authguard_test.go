package http

import (
	"net/http"
	"testing"
)

func TestClientAddr(t *testing.T) {
	for _, c := range []struct {
		remote string
		xff    []string
		hops   int
		want   string
	}{
		{"10.0.0.7:5555", nil, 0, "10.0.0.7"},
		{"10.0.0.7:5555", []string{"1.2.3.4"}, 0, "10.0.0.7"},                     // not trusted: ignored
		{"10.0.0.7:5555", []string{"6.6.6.6, 1.2.3.4"}, 1, "1.2.3.4"},             // the ALB appended 1.2.3.4; 6.6.6.6 is the client's claim
		{"10.0.0.7:5555", []string{"6.6.6.6", "1.2.3.4, 10.1.1.1"}, 2, "1.2.3.4"}, // two proxies, two headers
		{"10.0.0.7:5555", nil, 1, "10.0.0.7"},                                     // no header: the peer
		{"[2001:db8:1:2:3:4:5:6]:443", nil, 0, "2001:db8:1:2::/64"},
		{"[::ffff:1.2.3.4]:443", nil, 0, "1.2.3.4"},
		{"10.0.0.7:5555", []string{"garbage"}, 1, "unparsed"},
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := clientAddr(r, c.hops); got != c.want {
			t.Errorf("%s %v hops %d: %s, want %s", c.remote, c.xff, c.hops, got, c.want)
		}
	}
}
