package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// outcome is how the load tool counts one response.
type outcome int

const (
	answered    outcome = iota // the service did the work: 2xx, or a 4xx the request asked for (404 probes)
	shed                       // 503 overloaded: refused by admission control before any work
	rateLimited                // 429: the tenant's own rate limit
	serverError                // any other 5xx: a failure
	netError                   // no HTTP response (connection error, client timeout)
)

// classify sorts a response. A shed response must carry Retry-After; one
// without it is counted (shedNoRetryAfter) and fails the run.
func classify(status int, body []byte, hdr http.Header, err error) (outcome, bool) {
	switch {
	case err != nil:
		return netError, false
	case status == http.StatusServiceUnavailable && bytes.Contains(body, []byte(`"code":"overloaded"`)):
		ra, perr := strconv.Atoi(hdr.Get("Retry-After"))
		return shed, perr == nil && ra > 0
	case status == http.StatusTooManyRequests:
		return rateLimited, true
	case status >= 500:
		return serverError, true
	}
	return answered, true
}

func errorCode(body []byte) string {
	var b struct {
		Error struct{ Code string }
	}
	_ = json.Unmarshal(body, &b)
	return b.Error.Code
}

// retryAfter is the Retry-After of a shed response (seconds), 1 s when absent.
func retryAfter(hdr http.Header) time.Duration {
	if n, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return time.Second
}

// stats are one user's counts; merged at the end.
type stats struct {
	admittedLat      []time.Duration // every response that was not shed
	shedLat          []time.Duration
	lag              []time.Duration // open loop: how late the tool sent each request (its own CPU starvation)
	codes            map[int]int
	serverErrs       map[string]int // other 5xx by status and error code
	netErrKinds      map[string]int // net errors by kind (timeout, reset, ...)
	shed             int
	shedNoRetryAfter int
	rateLimited      int
	netErrs          int
	answered         int
	clientLimited    int // open loop: due but not sent, -max-outstanding requests were in progress
	crossTen         int // a response carried another tenant's data
	foreignOK        int // a foreign id answered other than 404
}

func newStats() *stats {
	return &stats{codes: map[int]int{}, serverErrs: map[string]int{}, netErrKinds: map[string]int{}}
}

// netErrKind names a transport error briefly.
func netErrKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

func (s *stats) record(status int, body []byte, hdr http.Header, err error, lat time.Duration) outcome {
	o, ok := classify(status, body, hdr, err)
	switch o {
	case netError:
		s.netErrs++
		s.netErrKinds[netErrKind(err)]++
		s.admittedLat = append(s.admittedLat, lat) // counted as admitted: the client gave up, we do not know
		return o
	case shed:
		s.shed++
		if !ok {
			s.shedNoRetryAfter++
		}
		s.shedLat = append(s.shedLat, lat)
	case rateLimited:
		s.rateLimited++
		s.admittedLat = append(s.admittedLat, lat)
	case serverError:
		s.serverErrs[fmt.Sprintf("%d:%s", status, errorCode(body))]++
		s.admittedLat = append(s.admittedLat, lat)
	case answered:
		s.answered++
		s.admittedLat = append(s.admittedLat, lat)
	}
	s.codes[status]++
	return o
}

func (s *stats) merge(o *stats) {
	s.admittedLat = append(s.admittedLat, o.admittedLat...)
	s.shedLat = append(s.shedLat, o.shedLat...)
	s.lag = append(s.lag, o.lag...)
	for k, v := range o.codes {
		s.codes[k] += v
	}
	for k, v := range o.serverErrs {
		s.serverErrs[k] += v
	}
	for k, v := range o.netErrKinds {
		s.netErrKinds[k] += v
	}
	s.shed += o.shed
	s.shedNoRetryAfter += o.shedNoRetryAfter
	s.rateLimited += o.rateLimited
	s.netErrs += o.netErrs
	s.answered += o.answered
	s.clientLimited += o.clientLimited
	s.crossTen += o.crossTen
	s.foreignOK += o.foreignOK
}

func (s *stats) requests() int { return len(s.admittedLat) + len(s.shedLat) }

func (s *stats) otherServerErrors() int {
	n := 0
	for _, v := range s.serverErrs {
		n += v
	}
	return n
}

// line formats the counts: goodput (answered requests per second), shed,
// and the latency of admitted requests apart from that of shed ones.
func (s *stats) line(elapsed time.Duration) string {
	sec := elapsed.Seconds()
	var keys []int
	for k := range s.codes {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var cs []string
	for _, k := range keys {
		cs = append(cs, fmt.Sprintf("%d:%d", k, s.codes[k]))
	}
	var errs []string
	for k, v := range s.serverErrs {
		errs = append(errs, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(errs)
	var nes []string
	for k, v := range s.netErrKinds {
		nes = append(nes, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(nes)
	lag := ""
	if len(s.lag) > 0 {
		lag = " send_lag[" + summary(s.lag) + "]"
	}
	return fmt.Sprintf("requests=%d elapsed=%s offered=%.0f/s goodput=%.0f/s shed=%d shed_rate=%.0f/s shed_without_retry_after=%d other_5xx=%d{%s} rate_limited=%d net_errors=%d{%s} client_limited=%d admitted[%s] shed_latency[%s]%s codes={%s}",
		s.requests(), elapsed.Round(time.Millisecond), float64(s.requests())/sec, float64(s.answered)/sec,
		s.shed, float64(s.shed)/sec, s.shedNoRetryAfter, s.otherServerErrors(), strings.Join(errs, ","), s.rateLimited, s.netErrs, strings.Join(nes, ","), s.clientLimited,
		summary(s.admittedLat), summary(s.shedLat), lag, strings.Join(cs, " "))
}
