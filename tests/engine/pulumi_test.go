//go:build engine

package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// stack creates (or selects) a stack of project "platform" whose program
// runs inline, in this test process, driven by the real CLI. stackFile, when
// set, is written as Pulumi.<name>.yaml (the stack's config) if absent.
func stack(t *testing.T, name string, program pulumi.RunFunc, stackFile []byte) auto.Stack {
	t.Helper()
	dir := filepath.Join(env.tmp, "work", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Written once: the CLI adds the stack's encryption salt to the file.
	if path := filepath.Join(dir, "Pulumi."+name+".yaml"); stackFile != nil {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			if err := os.WriteFile(path, stackFile, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := auto.UpsertStackInlineSource(context.Background(), name, "platform", program,
		auto.WorkDir(dir),
		auto.Project(workspace.Project{Name: tokens.PackageName("platform"), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}))
	if err != nil {
		t.Fatalf("stack %s: %v", name, err)
	}
	return s
}

// report is what the engine said during one operation.
type report struct {
	mu sync.Mutex
	// Policy violations by level ("mandatory", "advisory", ...).
	violations map[string][]apitype.PolicyEvent
	// Resources the pack's Analyze saw; stack policies that passed/failed.
	analyzed                 int
	stackPassed, stackFailed []string
	// Steps other than "same", as "op urn [changed keys]".
	changes []string
	done    chan struct{}
}

// watch returns an event channel for an operation and its report (complete
// once the channel is closed: call wait).
func watch() (chan events.EngineEvent, *report) {
	ch := make(chan events.EngineEvent)
	r := &report{violations: map[string][]apitype.PolicyEvent{}, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range ch {
			r.mu.Lock()
			switch {
			case e.PolicyEvent != nil:
				r.violations[e.PolicyEvent.EnforcementLevel] = append(r.violations[e.PolicyEvent.EnforcementLevel], *e.PolicyEvent)
			case e.PolicyAnalyzeSummaryEvent != nil:
				r.analyzed++
			case e.PolicyAnalyzeStackSummaryEvent != nil:
				r.stackPassed = append(r.stackPassed, e.PolicyAnalyzeStackSummaryEvent.Passed...)
				r.stackFailed = append(r.stackFailed, e.PolicyAnalyzeStackSummaryEvent.Failed...)
			case e.ResourcePreEvent != nil:
				md := e.ResourcePreEvent.Metadata
				if md.Op != apitype.OpSame && md.Op != apitype.OpRead {
					r.changes = append(r.changes, fmt.Sprintf("%s %s %v", md.Op, md.URN, md.Diffs))
				}
			}
			r.mu.Unlock()
		}
	}()
	return ch, r
}

func (r *report) wait() *report { <-r.done; return r }

func (r *report) mandatory() []apitype.PolicyEvent { return r.violations["mandatory"] }

func (r *report) describe(level string) string {
	var lines []string
	for _, v := range r.violations[level] {
		lines = append(lines, fmt.Sprintf("  %s %s: %s", v.PolicyName, v.ResourceURN, strings.ReplaceAll(v.Message, "\n", " | ")))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// logFile is where an operation's CLI output goes; failures quote its tail.
func logFile(t *testing.T, op string) *os.File {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + op + ".log"
	f, err := os.Create(filepath.Join(env.tmp, "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
