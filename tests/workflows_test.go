package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/stacks"
)

// workflow is the part of a GitHub Actions workflow these checks read.
type workflow struct {
	Jobs map[string]struct {
		RunsOn string `yaml:"runs-on"`
		Uses   string `yaml:"uses"`
		With   map[string]string
		Steps  []struct {
			Name string
			Uses string
			If   string
			With map[string]any
		}
	}
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(raw, &w))
	return w
}

// formatRe is GitHub's format('…{0}…', a, b, …) in an expression.
var formatRe = regexp.MustCompile(`format\('([^']*)'((?:,\s*[a-z_.]+)*)\)`)

// runnerLabel evaluates a runs-on value for one stack the way GitHub does
// for the parts that matter here: the stack variable (inputs.stack or
// matrix.stack) becomes the stack, run id and attempt stay expressions.
func runnerLabel(runsOn, stack string) string {
	exprs := map[string]string{
		"inputs.stack": stack, "matrix.stack": stack,
		"github.run_id": "${{ github.run_id }}", "github.run_attempt": "${{ github.run_attempt }}",
	}
	if m := formatRe.FindStringSubmatch(runsOn); m != nil {
		out := m[1]
		for i, arg := range strings.Split(strings.TrimPrefix(m[2], ","), ",") {
			out = strings.ReplaceAll(out, "{"+string(rune('0'+i))+"}", exprs[strings.TrimSpace(arg)])
		}
		return out
	}
	for k, v := range exprs {
		if k == "inputs.stack" || k == "matrix.stack" {
			runsOn = strings.ReplaceAll(runsOn, "${{ "+k+" }}", v)
		}
	}
	return runsOn
}

// The deploy pipeline's jobs that talk to the cluster (pulumi preview, up)
// run on the stack's CodeBuild-hosted runner inside the VPC: the runs-on
// label names the stack's runner project as the program creates it
// (CodeBuild User Guide, "Label overrides supported with the
// CodeBuild-hosted GitHub Actions runner": codebuild-<project-name>-
// ${{ github.run_id }}-${{ github.run_attempt }}, required). Every other job
// stays on GitHub-hosted runners, so the runner's minutes are the deploys'
// and previews' only, as the cost review assumes.
func TestClusterJobsRunOnTheStacksRunner(t *testing.T) {
	stackNames := []string{"dev", "prod"}
	labels := map[string]string{}
	for _, s := range stackNames {
		sf, err := stacks.LoadStack("..", s)
		require.NoError(t, err)
		cfg, err := stacks.Load(sf, sf.Project, sf.Stack)
		require.NoError(t, err)
		require.NotEmpty(t, cfg.RunnerGithubCredentialArn, "%s has a runner", s)
		labels[s] = components.RunnerLabel(cfg.RunnerProjectName())
	}
	clusterJobs := 0
	for _, file := range []string{"deploy.yml", "deploy-stack.yml", "pr.yml"} {
		w := readWorkflow(t, file)
		for name, job := range w.Jobs {
			touches := false
			for _, st := range job.Steps {
				if strings.HasPrefix(st.Uses, "pulumi/actions@") {
					if cmd, _ := st.With["command"].(string); cmd == "preview" || cmd == "up" || cmd == "refresh" || cmd == "destroy" {
						touches = true
					}
				}
			}
			switch {
			case job.Uses != "": // a reusable workflow: judged in its own file
			case touches:
				clusterJobs++
				for _, s := range stackNames {
					assert.Equal(t, labels[s], runnerLabel(job.RunsOn, s), "%s job %s, stack %s: on the stack's runner", file, name, s)
				}
			default:
				assert.Equal(t, "ubuntu-latest", job.RunsOn, "%s job %s does not need the cluster: GitHub-hosted", file, name)
			}
		}
	}
	assert.Equal(t, 2, clusterJobs, "the deploy job and the preview job")

	// The preview's only way off the runner is the documented switch, and
	// it leaves a note on the pull request.
	pr := readWorkflow(t, "pr.yml").Jobs["preview"]
	assert.True(t, strings.HasPrefix(pr.RunsOn, "${{ vars.PREVIEW_RUNNER == 'github-hosted' && 'ubuntu-latest' || format("), pr.RunsOn)
	noted := false
	for _, st := range pr.Steps {
		if s, _ := st.With["script"].(string); strings.Contains(s, "platform-preview-note-") && strings.Contains(s, "not diffed against the cluster") {
			noted = true
		}
	}
	assert.True(t, noted, "a GitHub-hosted preview says so on the pull request")
	deploy := readWorkflow(t, "deploy-stack.yml").Jobs["deploy"]
	assert.NotContains(t, deploy.RunsOn, "ubuntu-latest", "a deploy never falls back to a runner outside the VPC")

	// actionlint knows the runner labels (scripts/actionlint.sh).
	script, err := os.ReadFile("../scripts/actionlint.sh")
	require.NoError(t, err)
	for _, s := range stackNames {
		prefix := strings.TrimSuffix(labels[s], "${{ github.run_id }}-${{ github.run_attempt }}")
		assert.Contains(t, string(script), "    - "+prefix+"*", "actionlint's self-hosted-runner labels list %s's runner", s)
	}
}

func TestRunnerLabelEvaluation(t *testing.T) {
	assert.Equal(t, "codebuild-platform-prod-runner-${{ github.run_id }}-${{ github.run_attempt }}",
		runnerLabel("codebuild-platform-${{ inputs.stack }}-runner-${{ github.run_id }}-${{ github.run_attempt }}", "prod"))
	assert.Equal(t, "codebuild-platform-dev-runner-${{ github.run_id }}-${{ github.run_attempt }}",
		runnerLabel("${{ x && 'y' || format('codebuild-platform-{0}-runner-{1}-{2}', matrix.stack, github.run_id, github.run_attempt) }}", "dev"))
	assert.Equal(t, "ubuntu-latest", runnerLabel("ubuntu-latest", "dev"))
}
