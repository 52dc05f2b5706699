// Package tests holds tests that span packages: the offline review of both
// stacks (golden files), its exit codes, and the real programs run through
// the guardrails and the cost ceiling.
package tests

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/verdict"
	"github.com/tenantco/platform/offline/cli"
	"github.com/tenantco/platform/offline/review"
	"github.com/tenantco/platform/policies/rules"
	"github.com/tenantco/platform/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// reviewDate pins the evaluation date (EKS support windows depend on it).
var reviewDate = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func build(t testing.TB, stack string) *review.Report {
	t.Helper()
	sf, err := stacks.LoadStack("..", stack)
	require.NoError(t, err)
	rep, err := review.Build(sf, reviewDate)
	require.NoError(t, err)
	return rep
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./tests -update` to create %s", path)
	assert.Equal(t, string(want), string(got), "%s differs; review the change, then go test ./tests -update", path)
}

func TestReviewGolden(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			rep := build(t, stack)
			var text, js bytes.Buffer
			require.NoError(t, rep.WriteText(&text))
			require.NoError(t, rep.WriteJSON(&js))
			golden(t, "review-"+stack+".txt", text.Bytes())
			golden(t, "review-"+stack+".json", js.Bytes())
		})
	}
}

func TestReviewVerdicts(t *testing.T) {
	for stack, ceiling := range map[string]float64{"dev": 700, "prod": 1700} {
		rep := build(t, stack)
		assert.Equal(t, ceiling, rep.CeilingUSD)
		assert.Less(t, rep.MonthlyUSD, ceiling, "%s fits its ceiling", stack)
		assert.NotEqual(t, "DENY", string(rep.Verdict))
		assert.False(t, rep.Denied(), "%s: %v", stack, rules.Blocking(rep.Policies))
		assert.Greater(t, rep.MonthlyUSD, rep.ExpectedMonthlyUSD, "max-size nodes cost more than desired")
		var sum float64
		for _, l := range rep.Costs {
			sum += l.MonthlyUSD
		}
		assert.InDelta(t, rep.MonthlyUSD, sum, 0.005, "total is the sum of the rows")
		for _, k := range []string{"natDataGbPerGateway", "lbLcu", "logIngestGb", "backupGbBeyondFree"} {
			assert.Contains(t, rep.Assumptions, k, "usage assumption %s is shown", k)
		}
	}
}

// runCLI runs the review command as `go run . review` would.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	cli.Now = func() time.Time { return reviewDate }
	code := cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// variant writes a copy of a stack file with replacements applied.
func variant(t *testing.T, stack string, replace ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	s := string(raw)
	for i := 0; i+1 < len(replace); i += 2 {
		require.Contains(t, s, replace[i])
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: platform\nruntime: go\n"), 0o644))
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return path
}

func TestReviewExitCodes(t *testing.T) {
	code, out, _ := runCLI("review", "--stack", "prod", "--dir", "..")
	assert.Equal(t, verdict.ExitOK, code)
	assert.Contains(t, out, "== Verdict: OK")

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown stack":    {[]string{"review", "--stack", "staging", "--dir", ".."}, `unknown stack "staging"`},
		"malformed config": {[]string{"review", "--config", variant(t, "prod", `platform:nat: per-az`, `platform:nat: triple`)}, `platform:nat: "triple" is not one of single, per-az`},
		"malformed yaml":   {[]string{"review", "--config", variant(t, "dev", "config:", "config: [")}, "malformed YAML"},
		"unknown class":    {[]string{"review", "--config", variant(t, "prod", "db.m6g.large", "db.x9.huge")}, "db.x9.huge"},
		"typo in a key":    {[]string{"review", "--config", variant(t, "dev", "platform:nodeMax:", "platform:nodeMaxx:")}, "platform:nodeMaxx: unknown key"},
		"no stack":         {[]string{"review"}, "give exactly one of --stack NAME or --config FILE"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(tc.args...)
			assert.Equal(t, verdict.ExitError, code)
			assert.Contains(t, stderr, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
		})
	}
}

func TestReviewDeniesOverCeiling(t *testing.T) {
	// Growing the node group's maximum is how a stack usually drifts over
	// its ceiling: the review must exit 1 and the cost policy must say why.
	path := variant(t, "dev", `platform:nodeMax: "3"`, `platform:nodeMax: "12"`, `platform:nodeInstanceTypes:
    - t3.medium`, `platform:nodeInstanceTypes:
    - t3.large`)
	code, out, _ := runCLI("review", "--config", path)
	assert.Equal(t, verdict.ExitDeny, code)
	assert.Contains(t, out, "== Verdict: DENY")
	assert.Contains(t, out, "[mandatory] cost-ceiling")
	assert.Regexp(t, `exceeds the ceiling \$700\.00 by \$[0-9,.]+; biggest: platform-dev-nodes \(eks:index:ManagedNodeGroup\)`, out)
}

func TestProgramsPassEveryMandatoryGuardrail(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		rep := build(t, stack)
		assert.Empty(t, rules.Blocking(rep.Policies), stack)
		if stack == "prod" {
			// Every finding on the committed file is a documentation
			// placeholder (the file is a template until filled in; `pulumi
			// up` refuses it): the program itself passes every rule.
			for _, v := range rep.Policies {
				assert.Equal(t, review.PlaceholderRuleID, v.RuleID, "prod passes every rule, advisory ones too: %s", v)
			}
		}
	}
}

// The review prices the CI runner (issue 13): CodeBuild build minutes, a
// usage-based row at platform:usage.ciRunnerMinutes (default 900) times
// the general1.medium minute; its webhook is free. The autoscaling add-ons
// add no AWS resource but the autoscaler's IAM role (free): their pods'
// share of a node is already priced with the node group, so they are
// listed as free.
func TestReviewPricesTheRunnerAndTheAddOns(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		rep := build(t, stack)
		var runner []string
		for _, l := range rep.Costs {
			if l.Type == "aws:codebuild/project:Project" {
				runner = append(runner, l.Component)
				assert.Equal(t, "build minutes (BUILD_GENERAL1_MEDIUM)", l.Component)
				assert.True(t, l.UsageBased, "usage-based (marked * in the review)")
				assert.Equal(t, cost.DefaultCIRunnerMinutes, l.Quantity)
				assert.Equal(t, 0.01, l.UnitUSD)
				assert.Equal(t, 9.0, l.MonthlyUSD)
			}
		}
		assert.Len(t, runner, 1, "%s: the runner is priced once", stack)
		assert.Contains(t, rep.Assumptions["ciRunnerMinutes"], "900 build minutes per month per CodeBuild CI runner project")
		free := map[string]bool{}
		for _, urn := range rep.Free {
			free[urn] = true
		}
		for _, r := range rep.Resources {
			switch {
			case r.Type == "aws:codebuild/webhook:Webhook",
				strings.Contains(r.URN, "platform:components:MetricsServer$"),
				strings.Contains(r.URN, "platform:components:ClusterAutoscaler$"):
				assert.True(t, free[r.URN], "%s: %s is free", stack, r.URN)
			}
		}
	}
}

func TestDatabaseClassOutsideAllowList(t *testing.T) {
	path := variant(t, "prod", "db.m6g.large", "db.r6g.8xlarge")
	code, out, _ := runCLI("review", "--config", path)
	assert.Equal(t, verdict.ExitDeny, code)
	assert.Contains(t, out, "[mandatory] instance-class-allowed")
	assert.Contains(t, out, "[mandatory] cost-ceiling", "an 8xlarge database also breaks the ceiling")
}

// BenchmarkReviewProd measures the whole offline review of prod: config,
// program under mocks, pricing, guardrails.
func BenchmarkReviewProd(b *testing.B) {
	sf, err := stacks.LoadStack("..", "prod")
	require.NoError(b, err)
	for b.Loop() {
		if _, err := review.Build(sf, reviewDate); err != nil {
			b.Fatal(err)
		}
	}
}
