package costdiff_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/offline/costdiff"
)

// go test ./offline/costdiff -update rewrites testdata/golden/*.
var update = flag.Bool("update", false, "rewrite the golden files")

// Fixtures (testdata/*.json) are small hand-written review documents in the
// offline/review.Report JSON form; review-dev.json and review-dev-next.json
// are real outputs of `go run . review --stack dev --json` at two commits
// (before and after the tenant service, budgets and monitoring were added).
func load(t *testing.T, names ...string) []costdiff.Doc {
	t.Helper()
	var docs []costdiff.Doc
	for _, n := range names {
		d, err := costdiff.Load(filepath.Join("testdata", n))
		require.NoError(t, err)
		docs = append(docs, d)
	}
	return docs
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./offline/costdiff -update` to create it")
	assert.Equal(t, string(want), string(got), "golden file %s (rerun with -update after checking the diff)", path)
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, head []string
		denied     []string
	}{
		{name: "dev-changes.md", base: []string{"base-dev.json"}, head: []string{"head-dev.json"}},
		{name: "prod-over-ceiling.md", base: []string{"base-prod.json"}, head: []string{"head-prod.json"}, denied: []string{"prod"}},
		{
			name: "two-stacks.md", base: []string{"base-prod.json", "base-dev.json"},
			head: []string{"head-dev.json", "head-prod.json"}, denied: []string{"prod"},
		},
		{name: "new-stack.md", base: []string{"base-dev.json"}, head: []string{"head-dev.json", "head-staging.json"}},
		{name: "removed-stack.md", base: []string{"base-dev.json", "base-staging.json"}, head: []string{"head-dev.json"}},
		{name: "real-review-unchanged.md", base: []string{"review-dev.json"}, head: []string{"review-dev.json"}},
		// two real reviews of dev: before and after the service, budgets and monitoring were added
		{name: "real-review-changes.md", base: []string{"review-dev.json"}, head: []string{"review-dev-next.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			res, err := costdiff.RenderMarkdown(load(t, tc.base...), load(t, tc.head...), costdiff.Options{}, &buf)
			require.NoError(t, err)
			assert.Equal(t, tc.denied, res.Denied)
			assert.Equal(t, len(tc.denied) > 0, res.Failed())
			assert.True(t, strings.HasPrefix(buf.String(), costdiff.Marker+"\n"), "the marker is the first line")
			assert.Less(t, buf.Len(), 65536, "GitHub's comment size limit")
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestRenderTextGolden(t *testing.T) {
	var buf bytes.Buffer
	res, err := costdiff.RenderText(load(t, "base-dev.json", "base-prod.json", "base-staging.json"),
		load(t, "head-dev.json", "head-prod.json"), costdiff.Options{}, &buf)
	require.NoError(t, err)
	assert.Equal(t, []string{"prod"}, res.Denied)
	golden(t, "text-summary.txt", buf.Bytes())
}

func TestCompareClassifiesChanges(t *testing.T) {
	base, head := load(t, "base-dev.json")[0], load(t, "head-dev.json")[0]
	d := costdiff.Compare(&base, &head)
	kinds := map[string]string{}
	for _, c := range d.Changes {
		kinds[c.Name+" "+c.Type] = c.Kind
	}
	assert.Equal(t, map[string]string{
		"platform-dev-nodes eks:index:ManagedNodeGroup":         costdiff.Changed,
		"platform-dev aws:rds/instance:Instance":                costdiff.Changed,
		"platform-dev-tenantd aws:lb/loadBalancer:LoadBalancer": costdiff.Added,
		"platform-dev-tenantd aws:ecr/repository:Repository":    costdiff.Added,
		"platform-dev-ecr-api aws:ec2/vpcEndpoint:VpcEndpoint":  costdiff.Removed,
	}, kinds, "unchanged resources (cluster, redis, NAT) are left out")
	require.NotEmpty(t, d.Changes)
	assert.Equal(t, "platform-dev-nodes", d.Changes[0].Name, "largest change first")
	assert.InDelta(t, 31.97, d.Changes[0].DeltaUSD(), 0.001)
	assert.Equal(t, []costdiff.ComponentChange{
		{Component: "instance hours", BaseUSD: 91.10, HeadUSD: 121.47},
		{Component: "root volumes", BaseUSD: 4.80, HeadUSD: 6.40},
	}, d.Changes[0].Components)

	var added, removed []string
	for _, r := range d.FreeAdded {
		added = append(added, r.Name)
	}
	for _, r := range d.FreeRemoved {
		removed = append(removed, r.Name)
	}
	assert.Equal(t, []string{"platform-dev-github", "platform-dev-deploy", "platform-dev-preview"}, added)
	assert.Equal(t, []string{"platform-dev-legacy-ssh"}, removed)
	assert.Len(t, d.KeptPolicies, 2)
	assert.Empty(t, d.NewPolicies)
	assert.Empty(t, d.ResolvedPolicies)
}

func TestComparePoliciesMatchesMovingMessages(t *testing.T) {
	v := func(msg string) costdiff.Violation {
		return costdiff.Violation{RuleID: "cost-ceiling", Message: msg, Level: costdiff.LevelAdvisory}
	}
	base := costdiff.Doc{Stack: "dev", Policies: []costdiff.Violation{v("monthly cost $640.00 is 91 % of the ceiling")}}
	head := costdiff.Doc{Stack: "dev", Policies: []costdiff.Violation{
		v("monthly cost $650.00 is 93 % of the ceiling"),
		{RuleID: "rds-multi-az", URN: "urn:pulumi:dev::platform::aws:rds/instance:Instance::db", Message: "multiAz is false", Level: costdiff.LevelMandatory},
	}}
	d := costdiff.Compare(&base, &head)
	require.Len(t, d.KeptPolicies, 1, "the same rule on the same resource at the same level is the same finding")
	assert.Equal(t, "monthly cost $650.00 is 93 % of the ceiling", d.KeptPolicies[0].Message, "the head's wording is shown")
	require.Len(t, d.NewPolicies, 1)
	assert.Equal(t, "rds-multi-az", d.NewPolicies[0].RuleID)
	assert.Empty(t, d.ResolvedPolicies)

	d = costdiff.Compare(&head, &base)
	require.Len(t, d.ResolvedPolicies, 1)
	assert.Equal(t, "rds-multi-az", d.ResolvedPolicies[0].RuleID)
}

func TestDeniedRederivesVerdicts(t *testing.T) {
	for name, tc := range map[string]struct {
		doc  costdiff.Doc
		deny bool
	}{
		"ok":                    {costdiff.Doc{MonthlyUSD: 100, CeilingUSD: 200, Verdict: "OK", PolicyVerdict: "OK"}, false},
		"warn":                  {costdiff.Doc{MonthlyUSD: 190, CeilingUSD: 200, Verdict: "WARN", PolicyVerdict: "WARN"}, false},
		"at the ceiling":        {costdiff.Doc{MonthlyUSD: 200, CeilingUSD: 200, Verdict: "WARN", PolicyVerdict: "OK"}, false},
		"cost verdict deny":     {costdiff.Doc{MonthlyUSD: 210, CeilingUSD: 200, Verdict: "DENY", PolicyVerdict: "OK"}, true},
		"numbers over, says OK": {costdiff.Doc{MonthlyUSD: 210, CeilingUSD: 200, Verdict: "OK", PolicyVerdict: "OK"}, true},
		"policy deny":           {costdiff.Doc{MonthlyUSD: 1, CeilingUSD: 200, Verdict: "OK", PolicyVerdict: "DENY"}, true},
		"mandatory finding, says OK": {costdiff.Doc{MonthlyUSD: 1, CeilingUSD: 200, Verdict: "OK", PolicyVerdict: "OK",
			Policies: []costdiff.Violation{{RuleID: "x", Level: costdiff.LevelMandatory}}}, true},
		"advisory finding": {costdiff.Doc{MonthlyUSD: 1, CeilingUSD: 200, Verdict: "OK", PolicyVerdict: "WARN",
			Policies: []costdiff.Violation{{RuleID: "x", Level: costdiff.LevelAdvisory}}}, false},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.deny, tc.doc.Denied(), "%v", tc.doc.DenyReasons())
		})
	}
}

func TestDecodeRefusesWhatIsNotAReview(t *testing.T) {
	for name, in := range map[string]string{
		"empty":           "",
		"text review":     "Offline review of stack \"dev\" (project platform)\n== Verdict: OK\n",
		"broken json":     `{"stack": "dev",`,
		"other json":      `{"name": "dev", "total": 3}`,
		"no verdicts":     `{"stack": "dev", "monthly_usd": 1, "ceiling_usd": 2, "costs": []}`,
		"empty stack":     `{"stack": " ", "monthly_usd": 1, "ceiling_usd": 2, "verdict": "OK", "policy_verdict": "OK", "costs": []}`,
		"unknown verdict": `{"stack": "dev", "monthly_usd": 1, "ceiling_usd": 2, "verdict": "MAYBE", "policy_verdict": "OK", "costs": []}`,
		"an array":        `[{"stack": "dev"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := costdiff.Decode(strings.NewReader(in))
			assert.Error(t, err)
		})
	}
	d, err := costdiff.Decode(strings.NewReader(`{"stack": "dev", "monthly_usd": 1, "ceiling_usd": 2, "verdict": "OK",
		"policy_verdict": "WARN", "costs": [], "a_future_field": {"x": 1}}`))
	require.NoError(t, err, "fields the comment does not read are ignored")
	assert.Equal(t, "dev", d.Stack)
}

func TestPairRefusesDuplicateStacks(t *testing.T) {
	dev := load(t, "head-dev.json")
	_, err := costdiff.Pair(nil, append(dev, dev...))
	assert.ErrorContains(t, err, `two head documents for stack "dev"`)
	_, err = costdiff.Pair(append(dev, dev...), dev)
	assert.ErrorContains(t, err, `two base documents for stack "dev"`)
	_, err = costdiff.RenderMarkdown(nil, nil, costdiff.Options{}, &bytes.Buffer{})
	assert.Error(t, err, "no head at all is an error, not an empty comment")
}

func TestCommand(t *testing.T) {
	td := func(n string) string { return filepath.Join("testdata", n) }
	for name, tc := range map[string]struct {
		args   []string
		code   int
		err    string
		stdout string
	}{
		"markdown ok":  {args: []string{"--base", td("base-dev.json"), "--head", td("head-dev.json"), "--markdown"}, code: 0, stdout: costdiff.Marker},
		"deny":         {args: []string{"--head", td("head-prod.json"), "--base", td("base-prod.json"), "--markdown"}, code: 1, stdout: "❌ Cost review: 1 stack blocked"},
		"text":         {args: []string{"--base", td("base-dev.json"), "--head", td("head-dev.json")}, code: 0, stdout: "dev: $364.82 -> $409.56 (+$44.74)"},
		"new stack":    {args: []string{"--head", td("head-staging.json"), "--markdown"}, code: 0, stdout: "### `staging`: new stack"},
		"no head":      {args: []string{"--base", td("base-dev.json")}, code: 2, err: "at least one --head"},
		"missing file": {args: []string{"--head", td("nope.json")}, code: 2, err: "nope.json"},
		"text review":  {args: []string{"--head", td("text-review.txt")}, code: 2, err: "not a JSON object"},
		"stray arg":    {args: []string{"--head", td("head-dev.json"), "extra"}, code: 2, err: `unexpected argument "extra"`},
		"bad flag":     {args: []string{"--nope"}, code: 2, err: "not defined"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errw bytes.Buffer
			code, err := costdiff.Command(tc.args, &out, &errw)
			assert.Equal(t, tc.code, code)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
			} else {
				require.NoError(t, err)
			}
			assert.Contains(t, out.String(), tc.stdout)
		})
	}
}

// The mirror of the review document (Doc) must read what the review writes
// today: the live golden reviews of both stacks (tests/testdata, rewritten
// whenever the review changes) go through the decoder, and every field the
// mirror holds must come back with the value the review wrote under that
// name. A renamed or retyped field in offline/review fails here.
func TestDecodesTheLiveGoldenReviews(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "tests", "testdata", "review-*.json"))
	require.NoError(t, err)
	require.Len(t, paths, 2, "the golden reviews of dev and prod")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			doc, err := costdiff.Load(path)
			require.NoError(t, err)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			var written any
			require.NoError(t, json.Unmarshal(raw, &written))
			mirrored, err := json.Marshal(doc)
			require.NoError(t, err)
			var read any
			require.NoError(t, json.Unmarshal(mirrored, &read))
			assertSubset(t, "document", read, written)
			assert.NotEmpty(t, doc.Costs)
			assert.NotEmpty(t, doc.Resources)
			assert.Positive(t, doc.MonthlyUSD)
		})
	}
}

// assertSubset checks that every key of got is in want with an equal value
// (recursively; lists element by element).
func assertSubset(t *testing.T, at string, got, want any) {
	t.Helper()
	switch g := got.(type) {
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok {
			t.Errorf("%s: the mirror reads an object, the review wrote %T", at, want)
			return
		}
		for k, v := range g {
			wv, present := w[k]
			if !present {
				t.Errorf("%s.%s: the mirror reads a field the review does not write", at, k)
				continue
			}
			assertSubset(t, at+"."+k, v, wv)
		}
	case []any:
		w, ok := want.([]any)
		if !ok || len(w) != len(g) {
			t.Errorf("%s: the mirror reads %d elements, the review wrote %v", at, len(g), want)
			return
		}
		for i := range g {
			assertSubset(t, fmt.Sprintf("%s[%d]", at, i), g[i], w[i])
		}
	default:
		if got != want {
			t.Errorf("%s: the mirror reads %v, the review wrote %v", at, got, want)
		}
	}
}
