// Package preflight answers, before a first `pulumi up`, whether the AWS
// account in the operator's credentials can take a stack: the certificate,
// the zones, the engine versions and classes, the names the program fixes,
// the GitHub OIDC provider, the service quotas, the cost plumbing. It reads
// the stack's validated config (stacks), evaluates the program under the
// recording mock engine for what it would create (as the offline review
// does), and asks AWS with read-only calls (components.PreflightActions,
// kept equal to the calls by a test). It never creates, changes or tags
// anything.
//
// Each check runs concurrently and yields findings (PASS, WARN, FAIL, SKIP);
// a FAIL names its fix. Exit codes (package verdict): 0 every check passes
// or warns, 1 a check would make `pulumi up` fail, 2 preflight could not run
// (credentials, config).
package preflight

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tenantco/platform/internal/verdict"
	"github.com/tenantco/platform/stacks"
)

// Status is the outcome of a finding or a check. The strings are part of the
// JSON output.
type Status string

const (
	Pass Status = "PASS"
	Warn Status = "WARN" // deploys, but someone should act
	Fail Status = "FAIL" // `pulumi up` would fail; the finding names the fix
	Skip Status = "SKIP" // could not be checked; the finding says why
)

// rank orders statuses from best to worst: a check is as bad as its worst
// finding; an unverified one is worse than a pass but does not fail.
func (s Status) rank() int {
	switch s {
	case Pass:
		return 0
	case Skip:
		return 1
	case Warn:
		return 2
	}
	return 3
}

// Finding is one thing a check found.
type Finding struct {
	Status Status `json:"status"`
	Text   string `json:"text"`
	// Fix is the exact step that clears a FAIL (or a WARN): a command, a
	// config key, a console step.
	Fix string `json:"fix,omitempty"`
}

// Result is one check's outcome: its worst finding's status and every finding.
type Result struct {
	Check    string    `json:"check"`
	Title    string    `json:"title"`
	Status   Status    `json:"status"`
	Findings []Finding `json:"findings"`
}

// Report is a preflight of one stack against one account. Its JSON form is
// what `--json` prints.
type Report struct {
	Project string `json:"project"`
	Stack   string `json:"stack"`
	Region  string `json:"region"`
	Account string `json:"account"`
	Caller  string `json:"caller"`
	// Verdict is FAIL when any check fails, WARN when any warns or was
	// skipped, else PASS.
	Verdict Status   `json:"verdict"`
	Checks  []Result `json:"checks"`
}

// ExitCode is the process exit code of the report.
func (r *Report) ExitCode() int {
	if r.Verdict == Fail {
		return verdict.ExitDeny
	}
	return verdict.ExitOK
}

// check is one named check. Its run function reports findings; AWS errors go
// through env.failed, which turns them into SKIP findings (or stops the run
// when the credentials are bad).
type check struct {
	name, title string
	run         func(e *env) []Finding
}

// checks in the order they are printed.
var checks = []check{
	{"identity", "Account and region", checkIdentity},
	{"config", "Documentation placeholders", checkPlaceholders},
	{"certificate", "Load balancer certificate", checkCertificate},
	{"zones", "Availability zones and node types", checkZones},
	{"engines", "Database and cache engines", checkEngines},
	{"names", "Names the program fixes", checkNames},
	{"github-oidc", "GitHub OIDC provider", checkGitHubOIDC},
	{"runner", "CI runner's GitHub credential", checkRunner},
	{"quotas", "Service quotas", checkQuotas},
	{"cost", "Cost allocation tags and Cost Explorer", checkCost},
	{"alerts", "Alert addresses", checkAlerts},
}

// ErrCannotRun wraps the reason preflight could not run at all: no or
// expired credentials, a config that does not load.
var ErrCannotRun = errors.New("preflight cannot run")

// Run preflights a stack file with the AWS config given (its credentials and
// endpoint settings; the region is the stack's). now dates the certificate
// check. An error means no verdict (verdict.ExitError).
func Run(ctx context.Context, sf *stacks.StackFile, awsCfg aws.Config, now time.Time) (*Report, error) {
	if bad := stacks.UnknownKeys(sf.Keys()); len(bad) > 0 {
		return nil, fmt.Errorf("%w: stack %s: %v", ErrCannotRun, sf.Stack, bad)
	}
	cfg, err := stacks.Load(sf, sf.Project, sf.Stack)
	if err != nil {
		return nil, fmt.Errorf("%w: stack %s: %v", ErrCannotRun, sf.Stack, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := newEnv(ctx, cancel, sf, cfg, awsCfg, now)

	// Who we are first: every other answer is about this account, and bad
	// credentials should stop the run with one line, not ten SKIPs.
	id, err := e.aws.sts.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCannotRun, credentialsProblem(err))
	}
	e.account, e.caller = aws.ToString(id.Account), aws.ToString(id.Arn)

	rep := &Report{Project: cfg.Project, Stack: cfg.Stack, Region: cfg.Region, Account: e.account, Caller: e.caller}
	rep.Checks = make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep.Checks[i] = result(c, c.run(e))
		}()
	}
	wg.Wait()
	if err := e.fatalErr(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCannotRun, err)
	}
	rep.Verdict = Pass
	for _, r := range rep.Checks {
		switch {
		case r.Status == Fail:
			rep.Verdict = Fail
		case r.Status != Pass && rep.Verdict == Pass:
			rep.Verdict = Warn
		}
	}
	return rep, nil
}

func result(c check, fs []Finding) Result {
	r := Result{Check: c.name, Title: c.title, Status: Pass, Findings: fs}
	for _, f := range fs {
		if f.Status.rank() > r.Status.rank() {
			r.Status = f.Status
		}
	}
	if len(fs) == 0 {
		r.Findings = []Finding{}
	}
	return r
}

func pass(format string, a ...any) Finding {
	return Finding{Status: Pass, Text: fmt.Sprintf(format, a...)}
}

func warn(fix, format string, a ...any) Finding {
	return Finding{Status: Warn, Text: fmt.Sprintf(format, a...), Fix: fix}
}

func fail(fix, format string, a ...any) Finding {
	return Finding{Status: Fail, Text: fmt.Sprintf(format, a...), Fix: fix}
}
