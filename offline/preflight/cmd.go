package preflight

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/tenantco/platform/internal/verdict"
	"github.com/tenantco/platform/stacks"
)

// Usage of `preflight`.
const Usage = `usage: go run . preflight --stack NAME [--json]
       go run . preflight --config FILE [--json]
       go run . preflight --policy

Checks, before a first ` + "`pulumi up`" + `, that the AWS account of your credentials can take
the stack: account and region, documentation placeholders, the certificate,
the zones and node types, engine versions and classes, names already taken,
the GitHub OIDC provider, service quotas, cost allocation tags and Cost
Explorer, alert addresses. Each check prints PASS, WARN, FAIL (with the fix)
or SKIP (with why).

It is READ-ONLY: it only describes, lists and gets (the actions --policy
prints); it never creates, changes or tags anything. Two of its calls are
Cost Explorer requests (USD 0.01 each).

Credentials: the AWS SDK's chain, as the AWS CLI resolves it (environment,
AWS_PROFILE with SSO, web identity in CI). The region is the stack's
(platform:region). Endpoints: the SDK's settings (AWS_ENDPOINT_URL, or
AWS_ENDPOINT_URL_<SERVICE> such as AWS_ENDPOINT_URL_EC2), so it can be
pointed at any AWS-compatible endpoint.

Exit status: 0 every check passes or warns, 1 a check would make
` + "`pulumi up`" + ` fail, 2 preflight could not run (credentials, config).
`

// Command runs `preflight` with its arguments. It returns the exit code, and
// an error (verdict.ExitError) when preflight could not run; now dates the
// certificate check.
func Command(args []string, stdout, stderr io.Writer, now time.Time) (int, error) {
	fs := flag.NewFlagSet("preflight", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }
	stack := fs.String("stack", "", "stack name: reads Pulumi.<stack>.yaml in --dir")
	file := fs.String("config", "", "path of a stack config file (instead of --stack)")
	dir := fs.String("dir", ".", "project directory (holds Pulumi.yaml)")
	asJSON := fs.Bool("json", false, "print one JSON document")
	policy := fs.Bool("policy", false, "print the IAM policy preflight needs and exit")
	if err := fs.Parse(args); err != nil {
		return verdict.ExitError, err
	}
	if fs.NArg() > 0 {
		return verdict.ExitError, fmt.Errorf("preflight: unexpected argument %q", fs.Arg(0))
	}
	if *policy {
		doc, err := Policy()
		if err != nil {
			return verdict.ExitError, err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", doc)
		return verdict.ExitOK, err
	}
	sf, err := stacks.LoadChosen("preflight", *dir, *stack, *file)
	if err != nil {
		return verdict.ExitError, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// More attempts than the SDK's 3: ten checks at once can meet EC2's
	// request rate limit, and a throttled read is worth waiting for.
	// No SDK log lines (its IMDS fallback warning): a run that cannot go on
	// says why in one line of its own.
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(6), config.WithLogger(logging.Nop{}))
	if err != nil {
		return verdict.ExitError, fmt.Errorf("preflight: AWS configuration: %w", err)
	}
	rep, err := Run(ctx, sf, awsCfg, now)
	if err != nil {
		return verdict.ExitError, err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return verdict.ExitError, err
	}
	return rep.ExitCode(), nil
}
