// Command costreport queries Cost Explorer for one stack's spend (yesterday
// and month to date, by service and by tenant), compares it with the budget
// and the review's estimate, and publishes a short text report to the alerts
// SNS topic. Run daily by a Kubernetes CronJob with IRSA credentials.
//
//	costreport            build the report and publish it
//	costreport -dry-run   build the report and print it instead
//
// Configuration comes from environment variables; see
// service/internal/costreport/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/tenantco/platform/service/internal/costreport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("costreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "print the report instead of publishing it to ALERTS_TOPIC_ARN")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up on AWS after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "costreport: unexpected arguments %q (flags: -dry-run, -timeout)\n", fs.Args())
		return 2
	}

	env, err := costreport.LoadEnv(getenv, *dryRun)
	if err != nil {
		fmt.Fprintf(stderr, "costreport: bad configuration (see service/internal/costreport/README.md):\n")
		for _, e := range unwrapAll(err) {
			fmt.Fprintf(stderr, "  %v\n", e)
		}
		return 2
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// The default chain: on the cluster, IRSA's web identity token.
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(env.Region))
	if err != nil {
		fmt.Fprintf(stderr, "costreport: AWS configuration: %v\n", err)
		return 1
	}
	r, err := costreport.New(env.Config, costreport.NewClients(awsCfg, env.TopicArn))
	if err != nil {
		fmt.Fprintf(stderr, "costreport: %v\n", err)
		return 2
	}
	rep, err := r.Build(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "costreport: %v\n", err)
		return 1
	}
	if *dryRun {
		fmt.Fprintf(stdout, "Subject: %s\n\n%s", rep.Subject(), rep.Text())
		return 0
	}
	id, err := r.Publish(ctx, rep)
	if err != nil {
		fmt.Fprintf(stderr, "costreport: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "costreport: published %s report for stack %s to %s (message %s)\n", rep.Status, rep.Stack, env.TopicArn, id)
	return 0
}

// unwrapAll lists the errors joined by errors.Join, one per bad variable.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
