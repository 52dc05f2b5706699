package preflight_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/verdict"
	"github.com/tenantco/platform/offline/cli"
	"github.com/tenantco/platform/offline/preflight"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// now pins the certificate check's date (the review's date in tests/).
var now = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

const (
	account = "210987654321"
	certArn = "arn:aws:acm:us-east-1:" + account + ":certificate/4f5e6d7c-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
)

// filled replaces the committed stack files' documentation placeholders with
// the recorded account's values: the stack as an operator fills it in.
func filled(stack string) map[string]any {
	host := "api.tenantco.io"
	if stack == "dev" {
		host = "dev-api.tenantco.io"
	}
	return map[string]any{
		"platform:accountId":                 account,
		"platform:certificateArn":            certArn,
		"platform:serviceHostname":           host,
		"platform:alertEmails":               []any{"platform-team@tenantco.io", "ceo@tenantco.io"},
		"platform:clusterPublicAccessCidrs":  []any{"198.18.10.0/24"},
		"platform:runnerGithubCredentialArn": "arn:aws:codeconnections:us-east-1:" + account + ":connection/3b1f9c2e-7d4a-4e8b-a6c5-0f2d9e1b7a34",
	}
}

// scenario is one preflight against one recorded account.
type scenario struct {
	name    string
	stack   string         // prod unless set
	account string         // testdata/accounts/<account>; the name unless set
	raw     bool           // the repository's stack file as committed
	set     map[string]any // config changes on top of the filled stack (nil deletes)
	golden  string         // golden file name; the scenario name unless set

	deny     []string
	throttle map[string]int
	expired  func(action string) bool
	noCreds  bool

	code   int
	stderr string // for exit 2: what the one line names
}

var scenarios = []scenario{
	{name: "passing", code: verdict.ExitOK},
	{name: "passing-dev", stack: "dev", account: "passing", code: verdict.ExitOK},
	{name: "deployed", code: verdict.ExitOK},
	{name: "committed-prod", account: "passing", raw: true, code: verdict.ExitDeny},
	{name: "wrong-account", account: "passing", set: map[string]any{"platform:accountId": "987654321098"}, code: verdict.ExitDeny},
	{name: "pending-cert", code: verdict.ExitDeny},
	{name: "cert-other-host", code: verdict.ExitDeny},
	{name: "cert-expiring", code: verdict.ExitDeny},
	{name: "unsupported-zone", account: "passing", code: verdict.ExitDeny, set: map[string]any{
		"platform:availabilityZoneIds": []any{"use1-az1", "use1-az2", "use1-az3"}, "platform:excludedZoneIds": []any{},
	}},
	{name: "zone-not-here", account: "passing", code: verdict.ExitDeny, set: map[string]any{
		"platform:availabilityZoneIds": []any{"use1-az1", "use1-az2", "use1-az7"},
	}},
	{name: "type-not-offered", code: verdict.ExitDeny},
	{name: "class-not-multiaz", code: verdict.ExitDeny},
	{name: "cache-version-gone", code: verdict.ExitDeny},
	{name: "name-taken", code: verdict.ExitDeny},
	{name: "oidc-present", code: verdict.ExitDeny},
	{name: "oidc-configured-missing", account: "passing", code: verdict.ExitDeny, set: map[string]any{
		"platform:githubOidcProviderArn": "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com",
	}},
	{name: "eip-quota", code: verdict.ExitDeny},
	{name: "runner-pending", code: verdict.ExitDeny},
	{name: "runner-codestar", code: verdict.ExitOK, set: map[string]any{
		"platform:runnerGithubCredentialArn": "arn:aws:codestar-connections:us-east-1:" + account + ":connection/9d4c2b1a-6e8f-4a3b-b7c5-1d0e9f8a7b62"}},
	{name: "runner-secret-deleted", code: verdict.ExitDeny, set: map[string]any{
		"platform:runnerGithubCredentialArn": "arn:aws:secretsmanager:us-east-1:" + account + ":secret:platform/github-token-Xy7Qz2"}},
	{name: "runner-unset", account: "passing", code: verdict.ExitOK, set: map[string]any{"platform:runnerGithubCredentialArn": nil}},
	{name: "cost-off", code: verdict.ExitOK},
	{name: "access-denied", account: "passing", deny: []string{"servicequotas:GetServiceQuota"}, code: verdict.ExitOK},
	{name: "throttled", account: "passing", golden: "passing", code: verdict.ExitOK, throttle: map[string]int{
		"sts:GetCallerIdentity": 1, "ec2:DescribeAvailabilityZones": 2, "servicequotas:GetServiceQuota": 2,
		"eks:DescribeCluster": 1, "acm:DescribeCertificate": 1, "ce:ListCostAllocationTags": 1,
	}},
	{name: "expired-token", account: "passing", code: verdict.ExitError, stderr: "ExpiredToken",
		expired: func(string) bool { return true }},
	{name: "expired-midrun", account: "passing", code: verdict.ExitError, stderr: "ExpiredToken",
		expired: func(a string) bool { return a == "ec2:DescribeAvailabilityZones" }},
	{name: "no-credentials", account: "passing", noCreds: true, code: verdict.ExitError, stderr: "no AWS credentials"},
	{name: "bad-config", account: "passing", set: map[string]any{"platform:nat": "triple"}, code: verdict.ExitError,
		stderr: `platform:nat: "triple" is not one of single, per-az`},
}

// TestPreflight runs every scenario through the CLI (`go run . preflight
// --config FILE [--json]`) against its recorded account, compares text and
// JSON with the golden files, and checks what was asked of AWS: every call
// preflight makes is in its IAM policy and every action of the policy is
// called by some scenario (components.PreflightActions, no more, no less).
func TestPreflight(t *testing.T) {
	called := map[string]bool{}
	ran := 0
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			ran++
			for _, asJSON := range []bool{false, true} {
				f, code, stdout, stderr := run(t, sc, asJSON)
				for _, c := range f.Calls() {
					called[c.Action] = true
					assert.Equal(t, "us-east-1", c.Region, "%s: signed for the stack's region (platform:region), not the profile's (AWS_REGION=eu-west-1)", c.Action)
				}
				assert.Empty(t, f.Missing(), "requests without a recorded response")
				require.Equal(t, sc.code, code, "exit code; stdout:\n%s\nstderr:\n%s", stdout, stderr)
				if sc.code == verdict.ExitError {
					t.Logf("stderr: %s", stderr)
					assert.Contains(t, stderr, sc.stderr)
					assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line naming the cause: %q", stderr)
					assert.Empty(t, stdout)
					return
				}
				assert.Empty(t, stderr)
				name := sc.golden
				if name == "" {
					name = sc.name
				}
				ext := ".txt"
				if asJSON {
					ext = ".json"
				}
				golden(t, name+ext, stdout)
			}
		})
	}
	if t.Failed() || ran < len(scenarios) {
		return // the union of the calls needs every account (go test -run TestPreflight/NAME runs one)
	}
	var calls []string
	for a := range called {
		calls = append(calls, a)
	}
	sort.Strings(calls)
	policy := slices.Sorted(slices.Values(components.PreflightActions))
	assert.Equal(t, policy, calls, "the calls preflight makes across all recorded accounts must equal components.PreflightActions")
	for _, a := range calls {
		_, verb, _ := strings.Cut(a, ":")
		assert.Regexp(t, `^(Describe|Get|List)`, verb, "%s: preflight only reads", a)
	}
}

// TestThrottlingIsRetried: throttled calls are retried by the SDK's
// standard retryer and the run ends as if nothing happened (the golden
// comparison above); here, that the retries really happened.
func TestThrottlingIsRetried(t *testing.T) {
	sc := scenarios[slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == "throttled" })]
	f, code, stdout, _ := run(t, sc, false)
	require.Equal(t, verdict.ExitOK, code, stdout)
	throttled, answered := map[string]int{}, map[string]int{}
	for _, c := range f.Calls() {
		if c.Throttled {
			throttled[c.Action]++
		} else {
			answered[c.Action]++
		}
	}
	for action, n := range sc.throttle {
		assert.Equal(t, n, throttled[action], "%s answered throttling %d times", action, n)
		assert.Positive(t, answered[action], "%s answered after its retries", action)
	}
}

// TestAccessDeniedSkipsOneCheck: a denied action makes its check SKIP,
// naming the action, while every other check runs and passes.
func TestAccessDeniedSkipsOneCheck(t *testing.T) {
	sc := scenarios[slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == "access-denied" })]
	_, code, stdout, _ := run(t, sc, true)
	require.Equal(t, verdict.ExitOK, code)
	var rep preflight.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	for _, c := range rep.Checks {
		if c.Check == "quotas" {
			assert.Equal(t, preflight.Skip, c.Status)
			require.Len(t, c.Findings, 1)
			assert.Contains(t, c.Findings[0].Text, "access denied to servicequotas:GetServiceQuota")
			assert.Contains(t, c.Findings[0].Fix, "servicequotas:GetServiceQuota")
			continue
		}
		assert.Equal(t, preflight.Pass, c.Status, "%s still runs", c.Check)
	}
	assert.Equal(t, preflight.Warn, rep.Verdict, "a skipped check is not a pass")
}

// TestFailuresNameTheirFix: every FAIL of every failing account carries a
// fix, and each failing account fails the check it was recorded for.
func TestFailuresNameTheirFix(t *testing.T) {
	want := map[string]string{
		"committed-prod": "config", "wrong-account": "identity", "pending-cert": "certificate", "cert-other-host": "certificate",
		"cert-expiring": "certificate", "unsupported-zone": "zones", "zone-not-here": "zones", "type-not-offered": "zones",
		"class-not-multiaz": "engines", "cache-version-gone": "engines", "name-taken": "names", "oidc-present": "github-oidc",
		"oidc-configured-missing": "github-oidc", "eip-quota": "quotas", "runner-pending": "runner", "runner-secret-deleted": "runner",
	}
	for _, sc := range scenarios {
		check, ok := want[sc.name]
		if !ok {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			_, code, stdout, _ := run(t, sc, true)
			require.Equal(t, verdict.ExitDeny, code)
			var rep preflight.Report
			require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
			for _, c := range rep.Checks {
				if c.Check == check {
					assert.Equal(t, preflight.Fail, c.Status, "%s fails %s", sc.name, check)
				}
				for _, f := range c.Findings {
					if f.Status == preflight.Fail {
						assert.NotEmpty(t, f.Fix, "%s: %s", c.Check, f.Text)
					}
				}
			}
		})
	}
}

func TestPolicyCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, verdict.ExitOK, cli.Main([]string{"preflight", "--policy"}, &stdout, &stderr), stderr.String())
	var doc struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &doc))
	require.Len(t, doc.Statement, 1)
	assert.Equal(t, "Allow", doc.Statement[0].Effect)
	assert.Equal(t, components.PreflightActions, doc.Statement[0].Action)
}

func TestHelpSaysReadOnly(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, verdict.ExitError, cli.Main([]string{"preflight", "--help"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "READ-ONLY")
	assert.Contains(t, stderr.String(), "never creates, changes or tags anything")
}

// run preflights one scenario through the CLI as a user would, with the
// SDK pointed at the fake by AWS_ENDPOINT_URL.
func run(t testing.TB, sc scenario, asJSON bool) (f *fakeAWS, code int, stdout, stderr string) {
	t.Helper()
	acct := sc.account
	if acct == "" {
		acct = sc.name
	}
	f, srv := newFakeAWS(t, acct)
	for _, a := range sc.deny {
		f.deny[a] = true
	}
	for a, n := range sc.throttle {
		f.throttle[a] = n
	}
	f.expired = sc.expired

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-west-1") // the profile's region; the stack's wins
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	if sc.noCreds {
		// An instance metadata endpoint that refuses, as on a laptop behind
		// a proxy: the SDK falls back and logs a warning of its own, which
		// must not become a second line of the error.
		imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
		t.Cleanup(imds.Close)
		t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
		t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		t.Setenv("AWS_SESSION_TOKEN", "")
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	} else {
		t.Setenv("AWS_ACCESS_KEY_ID", "ASIATENANTCOPREFLIGHT")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "preflight-test-secret-key-not-a-real-one")
		t.Setenv("AWS_SESSION_TOKEN", "preflight-test-session-token")
	}

	stack := sc.stack
	if stack == "" {
		stack = "prod"
	}
	args := []string{"preflight", "--config", stackFile(t, stack, sc)}
	if asJSON {
		args = append(args, "--json")
	}
	cli.Now = func() time.Time { return now }
	var out, errOut bytes.Buffer
	// What the process writes to its own stderr (the SDK's logger does)
	// counts as output too.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	osErr, captured := os.Stderr, make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		captured <- string(b)
	}()
	os.Stderr = w
	code = cli.Main(args, &out, &errOut)
	os.Stderr = osErr
	require.NoError(t, w.Close())
	return f, code, out.String(), <-captured + errOut.String()
}

// stackFile writes the scenario's stack file (the repository's, filled in
// and changed) beside a copy of Pulumi.yaml, and returns its path.
func stackFile(t testing.TB, stack string, sc scenario) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	var doc map[string]map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	if !sc.raw {
		for k, v := range filled(stack) {
			doc["config"][k] = v
		}
	}
	for k, v := range sc.set {
		if v == nil {
			delete(doc["config"], k)
		} else {
			doc["config"][k] = v
		}
	}
	dir := t.TempDir()
	proj, err := os.ReadFile(filepath.Join("..", "..", "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), proj, 0o644))
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./offline/preflight -update` to create %s", path)
	assert.Equal(t, string(want), got, "%s differs; review the change, then go test ./offline/preflight -update", path)
}

// BenchmarkPreflightProd: a whole preflight of prod against the recorded
// passing account on loopback (the program under mocks, every check's calls
// through the SDK), as `go run . preflight --stack prod` runs it warm.
func BenchmarkPreflightProd(b *testing.B) {
	sc := scenarios[0]
	for b.Loop() {
		if _, code, out, errOut := run(b, sc, false); code != verdict.ExitOK {
			b.Fatalf("exit %d: %s%s", code, out, errOut)
		}
	}
}
