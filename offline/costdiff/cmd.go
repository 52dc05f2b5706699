package costdiff

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tenantco/platform/internal/verdict"
)

// Usage of `review diff`.
const Usage = `usage: go run . review diff [--base FILE]... --head FILE... [--markdown] [--allow-replace]

Compares offline reviews (go run . review --stack NAME --json) of the base
branch and of the head, pairing documents by their stack name. A head stack
without a base document is a new stack. --markdown writes the pull request
comment; without it, one line per stack. Each stack also shows which
databases, caches, clusters, node groups, NAT gateways, subnets, load
balancers and KMS keys the change replaces, from the inputs the provider
treats as replace-only. Exit status: 0 OK or WARN, 1 a head stack is over
its ceiling, has a mandatory violation, or replaces (or deletes) the
database, the cache or the cluster in prod without --allow-replace (the
pull request's allow-replace label), 2 bad input.
`

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

// Command runs `review diff` with the arguments after "diff". It returns the
// exit code (verdict.ExitDeny when a head stack is DENY), and an error for
// bad arguments or input (verdict.ExitError).
func Command(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("review diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }
	var baseFiles, headFiles files
	fs.Var(&baseFiles, "base", "review JSON of a stack on the base branch (repeatable)")
	fs.Var(&headFiles, "head", "review JSON of a stack on the head (repeatable, at least one)")
	markdown := fs.Bool("markdown", false, "write the pull request comment (markdown)")
	allowReplace := fs.Bool("allow-replace", false, "the pull request carries the "+OverrideLabel+
		" label: replacing the database, the cache or the cluster in "+ProtectedStack+" does not fail the check")
	if err := fs.Parse(args); err != nil {
		return verdict.ExitError, err
	}
	if fs.NArg() > 0 {
		return verdict.ExitError, fmt.Errorf("review diff: unexpected argument %q", fs.Arg(0))
	}
	if len(headFiles) == 0 {
		return verdict.ExitError, errors.New("review diff: give at least one --head FILE (output of `go run . review --stack NAME --json`)")
	}
	load := func(paths []string) ([]Doc, error) {
		var docs []Doc
		for _, p := range paths {
			d, err := Load(p)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d)
		}
		return docs, nil
	}
	base, err := load(baseFiles)
	if err != nil {
		return verdict.ExitError, err
	}
	head, err := load(headFiles)
	if err != nil {
		return verdict.ExitError, err
	}
	render := RenderText
	if *markdown {
		render = RenderMarkdown
	}
	res, err := render(base, head, Options{AllowReplace: *allowReplace}, stdout)
	if err != nil {
		return verdict.ExitError, err
	}
	if res.Failed() {
		return verdict.ExitDeny, nil
	}
	return verdict.ExitOK, nil
}
