// Package cli implements the program's offline subcommands:
//
//	review --stack NAME | --config FILE [--json] [--dir DIR]
//	review diff [--base FILE]... --head FILE... [--markdown] [--allow-replace]
//	prices refresh [--region REGION] [--out FILE]
//	preflight --stack NAME | --config FILE [--json] | --policy
//
// Exit codes (package verdict): 0 OK or WARN, 1 DENY (over the ceiling or a
// mandatory guardrail; for preflight, a check that would fail `pulumi up`),
// 2 error (bad arguments or config, unknown stack, unpriced resource; for
// preflight, no usable credentials).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/cost/pricelist"
	"github.com/tenantco/platform/internal/verdict"
	"github.com/tenantco/platform/offline/costdiff"
	"github.com/tenantco/platform/offline/preflight"
	"github.com/tenantco/platform/offline/review"
	"github.com/tenantco/platform/stacks"
)

// Now is the evaluation date of reviews; tests pin it.
var Now = func() time.Time { return time.Now().UTC() }

// Main runs a subcommand and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var err error
	code := verdict.ExitOK
	switch args[0] {
	case "review":
		code, err = reviewCmd(args[1:], stdout, stderr)
	case "prices":
		err = pricesCmd(args[1:], stdout)
	case "preflight":
		code, err = preflight.Command(args[1:], stdout, stderr, Now())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return verdict.ExitOK
	default:
		err = fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
	if err != nil {
		// One line naming the culprit; flag errors already printed usage.
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "error:", oneLine(err))
		}
		return verdict.ExitError
	}
	return code
}

const usage = `usage:
  go run . review --stack NAME [--json]     review Pulumi.NAME.yaml offline (no AWS account)
  go run . review --config FILE [--json]    review any stack config file
  go run . review diff --base B.json --head H.json [--markdown] [--allow-replace]
                                            compare reviews (base branch vs head): the PR cost comment,
                                            with what the change replaces
  go run . preflight --stack NAME [--json]  read-only: will the first pulumi up work in this AWS account?
  go run . preflight --policy               the IAM policy preflight needs
  go run . prices refresh [--out FILE]      rebuild the price snapshot from the AWS Price List API
  go run .                                  (no arguments) the Pulumi program, run by the Pulumi CLI
`

func reviewCmd(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) > 0 && args[0] == "diff" {
		return costdiff.Command(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack name: reads Pulumi.<stack>.yaml in --dir")
	file := fs.String("config", "", "path of a stack config file (instead of --stack)")
	dir := fs.String("dir", ".", "project directory (holds Pulumi.yaml)")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if err := fs.Parse(args); err != nil {
		return verdict.ExitError, err
	}
	if fs.NArg() > 0 {
		return verdict.ExitError, fmt.Errorf("review: unexpected argument %q", fs.Arg(0))
	}
	sf, err := stacks.LoadChosen("review", *dir, *stack, *file)
	if err != nil {
		return verdict.ExitError, err
	}
	rep, err := review.Build(sf, Now())
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
	if rep.Denied() {
		return verdict.ExitDeny, nil
	}
	return verdict.ExitOK, nil
}

func pricesCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "refresh" {
		return fmt.Errorf("prices: the only subcommand is `refresh`")
	}
	fs := flag.NewFlagSet("prices refresh", flag.ContinueOnError)
	region := fs.String("region", "us-east-1", "region to price")
	out := fs.String("out", "", "write the snapshot here (default: standard output)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return pricelist.Refresh(ctx, w, *region)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
