package preflight_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeAWS answers the SDK with recorded AWS responses: raw HTTP responses
// (status line, headers, body: the services' real wire formats, query XML
// for STS, IAM, RDS, ElastiCache and ELBv2, EC2's own XML, JSON 1.1 for ACM,
// Service Quotas and Cost Explorer, REST JSON for EKS) kept under
// testdata/accounts/<account>/<iam prefix>/<Operation>[.<key>].http. An
// account directory holds only what differs from "passing". The SDK reaches
// it through its standard endpoint setting (AWS_ENDPOINT_URL); the service
// is read from the SigV4 credential scope, the operation from the request.
type fakeAWS struct {
	t    testing.TB
	dirs []string // account overlay first, then "passing"

	deny     map[string]bool // actions answered AccessDenied
	throttle map[string]int  // actions answered throttling this many times first
	expired  func(action string) bool

	mu      sync.Mutex
	calls   []call
	missing []string
}

// call is one HTTP request the fake answered.
type call struct {
	Action string // IAM action: prefix:Operation
	Region string // the SigV4 signing region
	Status int
	// Throttled: the fake answered with a throttling error (a test's
	// behaviour), not the account's recorded answer.
	Throttled bool
}

func newFakeAWS(t testing.TB, account string) (*fakeAWS, *httptest.Server) {
	f := &fakeAWS{t: t, deny: map[string]bool{}, throttle: map[string]int{}}
	for _, a := range []string{account, "passing"} {
		dir := filepath.Join("testdata", "accounts", a)
		if len(f.dirs) > 0 && dir == f.dirs[0] {
			continue
		}
		f.dirs = append(f.dirs, dir)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

var scopeRe = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// protocols of the services by IAM prefix (each service's serializers in
// the SDK), and the XML namespace of the query ones.
var protocols = map[string]string{
	"sts": "query", "iam": "query", "rds": "query", "elasticache": "query", "elasticloadbalancing": "query",
	"ec2": "ec2", "acm": "json", "servicequotas": "json", "ce": "json", "logs": "json", "eks": "restjson",
	"codeconnections": "json", "codestar-connections": "json", "secretsmanager": "json",
}

var namespaces = map[string]string{
	"sts": "https://sts.amazonaws.com/doc/2011-06-15/", "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
	"rds": "http://rds.amazonaws.com/doc/2014-10-31/", "elasticache": "http://elasticache.amazonaws.com/doc/2015-02-02/",
	"elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
}

// keyParams names the request parameter that selects among an operation's
// recorded answers (one per quota code, role name, ...).
var keyParams = map[string]string{
	"GetServiceQuota": "QuotaCode", "GetAWSDefaultServiceQuota": "QuotaCode", "GetRole": "RoleName",
	"DescribeDBInstances": "DBInstanceIdentifier", "DescribeReplicationGroups": "ReplicationGroupId",
	"DescribeOrderableDBInstanceOptions": "DBInstanceClass", "DescribeReservedCacheNodesOfferings": "CacheNodeType",
	"DescribeCluster": "name", "DescribeLogGroups": "logGroupNamePrefix",
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := scopeRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		f.t.Errorf("unsigned request %s %s", r.Method, r.URL)
		http.Error(w, "unsigned", http.StatusForbidden)
		return
	}
	region, prefix := m[1], m[2]
	body, _ := io.ReadAll(r.Body)
	op, params := operation(prefix, r, body)
	action := prefix + ":" + op

	status, raw, throttled := f.answer(prefix, action, op, params[keyParams[op]])
	f.mu.Lock()
	f.calls = append(f.calls, call{Action: action, Region: region, Status: status, Throttled: throttled})
	f.mu.Unlock()

	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), r)
	if err != nil {
		f.t.Errorf("%s: bad recorded response: %v", action, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// operation reads the operation and its parameters the way each protocol
// carries them.
func operation(prefix string, r *http.Request, body []byte) (string, map[string]string) {
	params := map[string]string{}
	switch protocols[prefix] {
	case "query", "ec2":
		form, _ := url.ParseQuery(string(body))
		for k := range form {
			params[k] = form.Get(k)
		}
		return form.Get("Action"), params
	case "json":
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		for k, v := range in {
			if s, ok := v.(string); ok {
				params[k] = s
			}
		}
		// Service.Operation; CodeStar connections' service name has dots.
		target := r.Header.Get("X-Amz-Target")
		return target[strings.LastIndex(target, ".")+1:], params
	case "restjson": // EKS: GET /clusters, GET /clusters/{name}
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "clusters":
			return "ListClusters", params
		case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "clusters":
			params["name"] = parts[1]
			return "DescribeCluster", params
		}
		return r.Method + " " + r.URL.Path, params
	}
	return "unknown", params
}

// answer picks the recorded response: a test's error behaviour first, then
// the account's file for the key, its file for any key, its file for the
// operation.
func (f *fakeAWS) answer(prefix, action, op, key string) (status int, raw string, throttled bool) {
	f.mu.Lock()
	throttled = f.throttle[action] > 0
	if throttled {
		f.throttle[action]--
	}
	f.mu.Unlock()
	switch {
	case f.expired != nil && f.expired(action):
		status, raw = f.synth(prefix, "ExpiredToken", "The security token included in the request is expired")
		return status, raw, false
	case f.deny[action]:
		code := map[string]string{"query": "AccessDenied", "ec2": "UnauthorizedOperation"}[protocols[prefix]]
		if code == "" {
			code = "AccessDeniedException"
		}
		status, raw = f.synth(prefix, code, fmt.Sprintf("User: arn:aws:sts::210987654321:assumed-role/platform-prod-preview/ci is not authorized to perform: %s because no identity-based policy allows the %s action", action, action))
		return status, raw, false
	case throttled:
		code := map[string]string{"query": "Throttling", "ec2": "RequestLimitExceeded"}[protocols[prefix]]
		if code == "" {
			code = "ThrottlingException"
		}
		status, raw = f.synth(prefix, code, "Rate exceeded")
		return status, raw, true
	}
	names := []string{op + ".http"}
	if key != "" {
		file := strings.ReplaceAll(key, "/", "_") // log group names
		names = []string{op + "." + file + ".http", op + ".any.http"}
	}
	for _, dir := range f.dirs {
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, prefix, n))
			if err == nil {
				raw = strings.ReplaceAll(string(b), "{{key}}", key)
				return statusOf(raw), raw, false
			}
		}
	}
	f.mu.Lock()
	f.missing = append(f.missing, fmt.Sprintf("%s/%s", prefix, strings.Join(names, " or ")))
	f.mu.Unlock()
	status, raw = f.synth(prefix, "InternalFailure", "no recorded response for "+action)
	return status, raw, false
}

// synth renders an error in the service's wire format from testdata/errors.
func (f *fakeAWS) synth(prefix, code, message string) (int, string) {
	status := map[string]int{
		"ExpiredToken": 403, "AccessDenied": 403, "UnauthorizedOperation": 403, "AccessDeniedException": 400,
		"Throttling": 400, "RequestLimitExceeded": 503, "ThrottlingException": 400, "InternalFailure": 500,
	}[code]
	proto := protocols[prefix]
	if proto == "json" && code == "ExpiredToken" {
		code = "ExpiredTokenException"
		status = 400
	}
	if proto == "restjson" && code == "ThrottlingException" {
		status = 429
	}
	b, err := os.ReadFile(filepath.Join("testdata", "errors", proto+".http"))
	if err != nil {
		f.t.Fatalf("error template: %v", err)
	}
	raw := strings.NewReplacer("{{status}}", fmt.Sprintf("%d %s", status, http.StatusText(status)), "{{code}}", code,
		"{{message}}", message, "{{namespace}}", namespaces[prefix]).Replace(string(b))
	return status, raw
}

func statusOf(raw string) int {
	line, _, _ := strings.Cut(raw, "\n")
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(fields[1])
	return n
}

// Calls returns every request answered, in order.
func (f *fakeAWS) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// Missing lists requests no recorded response answered.
func (f *fakeAWS) Missing() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.missing...)
}
